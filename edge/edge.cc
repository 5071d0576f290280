// Edge assembly: the Engine.IO server owns the shard io_contexts; the bus adapter and the
// Socket.IO server are built on them, and the Edge forwards new sessions to the latter.
#include "edge/edge.h"

#include <boost/asio/post.hpp>
#include <future>
#include <mutex>
#include <vector>

#include "common/ids.h"
#include "common/log/log.h"

namespace herald::edge {

// The BrokerLink's receiver is set once and may be called after the Edge is gone (link threads
// outlive it): it reaches the Socket.IO server only through this, which stop() closes.
struct Edge::LinkGate {
  std::shared_mutex mu;
  sio::SocketServer* target = nullptr;
};

Result<std::unique_ptr<Edge>> Edge::create(EdgeOptions options, BrokerLink& link, bus::Bus& bus) {
  if (options.edge_id.empty()) return invalid_argument("edge: edge_id is empty");
  std::unique_ptr<Edge> edge(new Edge(std::move(options), link, bus));

  auto eio =
      EioServer::create(edge->options_.config, *edge, edge->edge_tag_, edge->options_.extra_routes);
  if (!eio.ok()) return eio.status();
  edge->eio_ = std::move(eio.value());

  std::vector<boost::asio::io_context*> shards;
  for (uint32_t i = 0; i < edge->eio_->shard_count(); ++i) shards.push_back(&edge->eio_->shard(i));

  BusAdapterOptions adapter_options;
  adapter_options.edge_id = edge->options_.edge_id;
  adapter_options.cluster_prefix = edge->options_.cluster_prefix;
  adapter_options.heartbeat_interval_ms = edge->options_.heartbeat_interval_ms;
  adapter_options.max_rooms_per_socket = edge->options_.config.max_rooms_per_socket;
  edge->adapter_ = BusAdapter::create(bus, std::move(adapter_options), shards);

  edge->sockets_ =
      std::make_unique<sio::SocketServer>(sio::SocketServerOptions::from(edge->options_.config),
                                          edge->edge_tag_, link, *edge->adapter_, shards);
  edge->gate_->target = edge->sockets_.get();
  link.set_receiver([gate = edge->gate_](internal::BrokerToEdge message) {
    std::shared_lock lock(gate->mu);
    if (gate->target != nullptr) gate->target->on_broker_message(std::move(message));
  });
  return edge;
}

Edge::Edge(EdgeOptions options, BrokerLink& link, bus::Bus& bus)
    : options_(std::move(options)),
      edge_tag_(edge_tag_for(options_.edge_id)),
      link_(link),
      bus_(bus),
      gate_(std::make_shared<LinkGate>()) {}

Edge::~Edge() {
  stop();
}

std::unique_ptr<eio::SessionHandler> Edge::on_open(eio::Session& session) {
  return sockets_->on_open(session);
}

void Edge::start() {
  if (started_ || stopped_) return;
  started_ = true;
  adapter_->start();
  eio_->start();
  HLOG_INFO("edge", "edge started",
            {{"edge_id", options_.edge_id},
             {"tag", edge_tag_},
             {"port", eio_->port()},
             {"shards", eio_->shard_count()}});
}

void Edge::stop() {
  if (stopped_) return;
  stopped_ = true;
  {
    std::unique_lock lock(gate_->mu);
    gate_->target = nullptr;
  }
  if (!started_) return;
  adapter_->stop();  // no more deliveries
  // eio_->stop() destroys the shards' io_contexts: release the timers bound to them first, each
  // on its own shard's thread.
  std::vector<std::future<void>> released;
  for (uint32_t i = 0; i < eio_->shard_count(); ++i) {
    auto done = std::make_shared<std::promise<void>>();
    released.push_back(done->get_future());
    boost::asio::post(eio_->shard(i), [this, i, done] {
      sockets_->shard(i).stop();
      if (i == 0) adapter_->release_timer();
      done->set_value();
    });
  }
  for (auto& f : released) {
    if (f.wait_for(std::chrono::seconds(10)) != std::future_status::ready) {
      HLOG_ERROR("edge", "a shard did not release its timers", {{"edge_id", options_.edge_id}});
    }
  }
  eio_->stop();  // sessions close (SessionClose per socket), threads joined
  adapter_->shutdown();
  HLOG_INFO("edge", "edge stopped", {{"edge_id", options_.edge_id}});
}

}  // namespace herald::edge
