// ApiServer: the broker's public gRPC server — herald.v1.Realtime, grpc.health.v1.Health and
// server reflection on one listening address.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "broker/core/broker.h"
#include "common/config/common_config.h"
#include "common/status.h"

namespace grpc {
class Server;
}
namespace prometheus {
class Registry;
}

namespace herald::broker::api {

class RealtimeService;

struct ApiServerOptions {
  std::string listen = "127.0.0.1:50051";  // host:port; port 0 picks a free port
  std::vector<std::string> bearer_tokens;  // empty: callers are not authenticated (warned)
  uint32_t max_message_bytes = 16 * 1024 * 1024;
  // herald_api_* metrics go here (null: none).
  std::shared_ptr<prometheus::Registry> metrics;
  config::GrpcTlsConfig tls;  // api.tls: TLS, and mTLS with a client CA (docs/tls.md)
};

class ApiServer {
 public:
  // Binds and starts serving. Fails when the address cannot be bound.
  static Result<std::unique_ptr<ApiServer>> start(ApiServerOptions options,
                                                  std::shared_ptr<Broker> broker);
  ~ApiServer();

  int port() const { return port_; }
  // Unary calls in progress.
  int64_t in_flight() const;

  // Stops accepting calls and waits for in-flight ones, cancelling them after `grace`. The
  // broker's thread must still run (unary calls finish from it); call Broker::stop() first so
  // pending EmitWithAck calls and HandleEvents streams end at once. Idempotent.
  void shutdown(std::chrono::milliseconds grace = std::chrono::milliseconds(2000));

 private:
  ApiServer() = default;
  std::unique_ptr<RealtimeService> service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  bool shut_down_ = false;
};

}  // namespace herald::broker::api
