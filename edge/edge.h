// Edge: one herald-edge assembled — the Engine.IO server, the Socket.IO layer on top of it, and
// the bus adapter — wired to a BrokerLink and a Bus that the caller owns (standalone or cluster).
#pragma once

#include <cstdint>
#include <memory>
#include <shared_mutex>
#include <string>

#include "common/bus/bus.h"
#include "common/status.h"
#include "edge/adapter/bus_adapter.h"
#include "edge/broker_link.h"
#include "edge/edge_config.h"
#include "edge/engineio/session_handler.h"
#include "edge/socketio/socket_server.h"
#include "edge/transport/eio_server.h"

namespace herald::edge {

struct EdgeOptions {
  EdgeConfig config;
  std::string edge_id;                    // node.id: unique in the cluster
  std::string cluster_prefix = "herald";  // node.cluster_prefix
  uint32_t heartbeat_interval_ms = 1000;  // bus.heartbeat_interval_ms
  ExtraRoutes extra_routes;               // /healthz, /metrics, ... on the client port
};

class Edge final : private eio::SessionHandlerFactory {
 public:
  // Binds the listener (port 0: a free one, see port()) and builds the layers; nothing runs
  // until start(). `link` and `bus` must outlive the Edge.
  static Result<std::unique_ptr<Edge>> create(EdgeOptions options, BrokerLink& link, bus::Bus& bus);
  ~Edge() override;
  Edge(const Edge&) = delete;
  Edge& operator=(const Edge&) = delete;

  // Subscribes on the bus, announces the edge (empty presence snapshot, heartbeats) and starts
  // the shard threads.
  void start();
  // Stops taking bus messages, closes every session ("server shutting down": each socket's
  // SessionClose goes to the broker), joins the shard threads and announces an empty presence
  // snapshot. Idempotent; also run by the destructor.
  void stop();

  uint16_t port() const { return eio_->port(); }
  const std::string& edge_id() const { return options_.edge_id; }
  const std::string& edge_tag() const { return edge_tag_; }
  uint32_t shard_count() const { return eio_->shard_count(); }

  const sio::SioCounters& sio_counters() const { return sockets_->counters(); }
  const AdapterCounters& adapter_counters() const { return adapter_->counters(); }
  EioServerStats eio_stats() const { return eio_->stats(); }
  BusAdapter& adapter() { return *adapter_; }

 private:
  struct LinkGate;

  Edge(EdgeOptions options, BrokerLink& link, bus::Bus& bus);
  std::unique_ptr<eio::SessionHandler> on_open(eio::Session& session) override;

  EdgeOptions options_;
  std::string edge_tag_;
  BrokerLink& link_;
  bus::Bus& bus_;
  std::shared_ptr<LinkGate> gate_;  // the link's receiver outlives us: it goes through this
  // Destroyed in reverse: the layers before the server that owns the io_contexts they use.
  std::unique_ptr<EioServer> eio_;
  std::shared_ptr<BusAdapter> adapter_;
  std::unique_ptr<sio::SocketServer> sockets_;
  bool started_ = false;
  bool stopped_ = false;
};

}  // namespace herald::edge
