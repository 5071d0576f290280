// EdgeLinkServer: the broker's end of cluster mode — the herald.internal.EdgeLink gRPC service,
// one stream (an EdgeConnection) per connected edge. No gRPC headers here: see edgelink_server.cc.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "broker/core/broker.h"
#include "common/config/common_config.h"
#include "common/status.h"

namespace grpc {
class Server;
}

namespace herald::broker::edgelink {

struct EdgeLinkServerOptions {
  std::string listen = "127.0.0.1:50052";         // host:port; port 0 picks a free port
  uint32_t max_message_bytes = 64 * 1024 * 1024;  // one EdgeBatch
  // Bytes of BrokerToEdge messages queued on one stream behind the write in flight. Past it the
  // edge is not reading: the stream is closed (RESOURCE_EXHAUSTED) and the edge fails over.
  size_t max_queue_bytes = 64 * 1024 * 1024;
  uint32_t keepalive_ms = 5000;  // HTTP/2 pings on idle streams: a dead edge is noticed
  config::GrpcTlsConfig tls;     // edgelink.tls: TLS; mTLS when ca_file is set
};

// Monotonic counters, readable from any thread.
struct EdgeLinkCounters {
  std::atomic<int64_t> streams_open{0};
  std::atomic<uint64_t> streams_total{0};
  std::atomic<uint64_t> messages_in{0};
  std::atomic<uint64_t> batches_in{0};
  std::atomic<uint64_t> messages_out{0};
  std::atomic<uint64_t> batches_out{0};
  std::atomic<uint64_t> overflow_closes{0};  // edges that stopped reading
  std::atomic<uint64_t> resumes{0};          // SessionOpen with `resume` (failed-over sessions)
};

class EdgeLinkServer {
 public:
  // Binds and starts serving. Fails when the address cannot be bound. `broker` must be started
  // (its thread running) for streams to make progress.
  static Result<std::unique_ptr<EdgeLinkServer>> start(EdgeLinkServerOptions options,
                                                       std::shared_ptr<Broker> broker);
  ~EdgeLinkServer();
  EdgeLinkServer(const EdgeLinkServer&) = delete;
  EdgeLinkServer& operator=(const EdgeLinkServer&) = delete;

  int port() const { return port_; }
  const EdgeLinkCounters& counters() const;

  // Ends every stream with UNAVAILABLE (edges re-pin their sessions to other brokers at once) and
  // stops the server, waiting at most `grace`. Idempotent.
  void shutdown(std::chrono::milliseconds grace = std::chrono::milliseconds(2000));

  class Service;  // the gRPC callback service (edgelink_server.cc)

 private:
  EdgeLinkServer() = default;
  std::unique_ptr<Service> service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  bool shut_down_ = false;
};

}  // namespace herald::broker::edgelink
