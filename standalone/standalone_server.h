// StandaloneServer: one process running an edge and a broker with the in-process bus and link —
// Herald's zero-dependency mode (./scripts/run, fast tests).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "broker/broker_config.h"
#include "common/config/common_config.h"
#include "common/process/shutdown.h"
#include "common/status.h"
#include "edge/edge_config.h"

namespace herald::standalone {

struct StandaloneConfig {
  config::CommonConfig common;
  edge::EdgeConfig edge;
  broker::BrokerConfig broker;
};

// Reads every section the standalone process understands and refuses unknown keys.
Status read_standalone_config(config::ConfigReader& reader, StandaloneConfig* out);

class StandaloneServer {
 public:
  // Binds every listener (edge, gRPC API, admin) and starts serving.
  static Result<std::unique_ptr<StandaloneServer>> start(StandaloneConfig config);
  virtual ~StandaloneServer() = default;

  virtual uint16_t socketio_port() const = 0;
  virtual uint16_t grpc_port() const = 0;
  virtual uint16_t admin_port() const = 0;  // 0 when admin.listen is ""

  // Graceful drain (SIGTERM): /readyz turns not_ready; the edge stops accepting and closes its
  // client sessions in batches (those with acks in flight last) so clients reconnect elsewhere;
  // in-flight API calls finish; then stop(). Returns by about plan.stop_by.
  virtual void drain(const DrainPlan& plan) = 0;
  virtual bool draining() const = 0;

  // Closes client sessions ("server shutting down"), finishes in-flight API calls, stops threads.
  virtual void stop() = 0;
};

}  // namespace herald::standalone
