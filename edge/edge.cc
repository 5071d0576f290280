// Edge assembly: the Engine.IO server owns the shard io_contexts; the bus adapter and the
// Socket.IO server are built on them, and the Edge forwards new sessions to the latter.
#include "edge/edge.h"

#include <algorithm>
#include <boost/asio/post.hpp>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

#include "common/ids.h"
#include "common/log/log.h"
#include "edge/poll_forwarding.h"
#include "edge/socketio/broker_dispatch.h"

namespace herald::edge {

// The BrokerLink's receiver is set once and may be called after the Edge is gone (link threads
// outlive it): it reaches the Socket.IO server only through this, which stop() closes.
struct Edge::LinkGate {
  std::shared_mutex mu;
  sio::SocketServer* target = nullptr;
  BusAdapter* adapter = nullptr;
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
  adapter_options.local_bus = edge->options_.local_bus;
  edge->adapter_ = BusAdapter::create(bus, std::move(adapter_options), shards);

  edge->sockets_ =
      std::make_unique<sio::SocketServer>(sio::SocketServerOptions::from(edge->options_.config),
                                          edge->edge_tag_, link, *edge->adapter_, shards);
  if (edge->options_.forward_polling) {
    edge->forwarder_ = std::make_shared<BusPollForwarder>(
        bus, edge->options_.cluster_prefix, edge->options_.edge_id,
        edge->options_.heartbeat_timeout_ms, *edge->eio_);
    edge->eio_->set_poll_forwarder(edge->forwarder_.get());
    edge->adapter_->set_edge_message_hook(
        [weak = std::weak_ptr<BusPollForwarder>(edge->forwarder_)](const bus::EnvelopePtr& e) {
          auto forwarder = weak.lock();
          return forwarder && forwarder->on_edge_message(e);
        });
  }
  edge->gate_->target = edge->sockets_.get();
  edge->gate_->adapter = edge->adapter_.get();
  link.set_receiver([gate = edge->gate_](internal::BrokerToEdge message) {
    std::shared_lock lock(gate->mu);
    sio::dispatch_broker_message(std::move(message), gate->target, gate->adapter);
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
  if (forwarder_) forwarder_->start();
  eio_->start();
  accepting_.store(true, std::memory_order_relaxed);
  HLOG_INFO("edge", "edge started",
            {{"edge_id", options_.edge_id},
             {"tag", edge_tag_},
             {"port", eio_->port()},
             {"shards", eio_->shard_count()}});
}

void Edge::stop_accepting() {
  if (!started_ || stopped_) return;
  accepting_.store(false, std::memory_order_relaxed);
  eio_->stop_accepting();
  HLOG_INFO("edge", "stopped accepting connections", {{"edge_id", options_.edge_id}});
}

size_t Edge::drain_batch(size_t max, bool force) {
  if (!started_ || stopped_) return 0;
  const uint32_t shards = eio_->shard_count();
  const size_t per_shard = std::max<size_t>(1, (max + shards - 1) / shards);
  return eio_->drain(per_shard, force);
}

size_t Edge::drain(const DrainPlan& plan) {
  if (!started_ || stopped_) return 0;
  stop_accepting();
  const size_t at_start = eio_->stats().sessions;
  size_t open = 0;
  uint32_t batches = 0;
  for (;;) {
    open = drain_batch(plan.batch_size);
    ++batches;
    if (open == 0 || DrainClock::now() >= plan.stop_by) break;
    std::this_thread::sleep_for(
        std::min<DrainClock::duration>(plan.batch_interval, plan.stop_by - DrainClock::now()));
  }
  // Let the close packets and frames reach the clients, and the clients hang up.
  const auto linger_until = std::min(plan.stop_by, DrainClock::now() + std::chrono::seconds(1));
  while (eio_->stats().connections > 0 && DrainClock::now() < linger_until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  HLOG_INFO("edge", "client sessions drained",
            {{"edge_id", options_.edge_id},
             {"sessions", at_start},
             {"batches", batches},
             {"left_open", open},
             {"connections_left", eio_->stats().connections}});
  return open;
}

uint64_t Edge::outbound_queue_bytes() const {
  return eio_->outbound_queue_bytes(std::chrono::milliseconds(200));
}

void Edge::stop() {
  if (stopped_) return;
  stopped_ = true;
  accepting_.store(false, std::memory_order_relaxed);
  {
    std::unique_lock lock(gate_->mu);
    gate_->target = nullptr;
    gate_->adapter = nullptr;
  }
  if (!started_) return;
  adapter_->stop();  // no more deliveries
  if (forwarder_) forwarder_->stop();
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
