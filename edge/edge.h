// Edge: one herald-edge assembled — the Engine.IO server, the Socket.IO layer on top of it, and
// the bus adapter — wired to a BrokerLink and a Bus that the caller owns (standalone or cluster).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <shared_mutex>
#include <string>

#include "common/bus/bus.h"
#include "common/process/shutdown.h"
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
  uint32_t heartbeat_timeout_ms = 5000;   // bus.heartbeat_timeout_ms (peer edges, for polling)
  // Cluster mode: forward polling requests for other edges' sessions over the bus (DESIGN.md §6).
  bool forward_polling = true;
  // The bus is in-process (standalone): rooms need no subscription each (BusAdapterOptions).
  bool local_bus = false;
  ExtraRoutes extra_routes;  // /healthz, /metrics, ... on the client port
};

class BusPollForwarder;

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

  // Graceful drain (any thread, while started): stop_accepting() closes the client listeners;
  // drain_batch() then closes up to `max` open sessions that have no ack in flight (every one
  // when `force`) with an Engine.IO close — clients see "transport close" and reconnect,
  // elsewhere — and returns the open sessions left. stop() closes whatever remains.
  void stop_accepting();
  bool accepting() const { return accepting_.load(std::memory_order_relaxed); }
  size_t drain_batch(size_t max, bool force = false);
  // The whole client drain: stop_accepting(), then a batch every plan.batch_interval until no
  // session is open or plan.stop_by passes, then waits (up to 1 s, within stop_by) for the clients
  // to close their connections. Returns the sessions still open (stop() closes them).
  size_t drain(const DrainPlan& plan);
  // Bytes queued for clients on every shard (asks the shards; for /metrics).
  uint64_t outbound_queue_bytes() const;
  const sio::NamespaceGauges& namespace_gauges() const { return sockets_->namespace_gauges(); }

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
  std::shared_ptr<BusPollForwarder> forwarder_;
  std::unique_ptr<sio::SocketServer> sockets_;
  bool started_ = false;
  bool stopped_ = false;
  std::atomic<bool> accepting_{false};
};

}  // namespace herald::edge
