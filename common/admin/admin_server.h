// The admin HTTP endpoint every Herald process serves: /metrics (Prometheus), /healthz, /readyz,
// and PUT /admin/log-level.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/admin/health.h"
#include "common/status.h"

namespace prometheus {
class Collectable;
class Registry;
}  // namespace prometheus

namespace herald::admin {

class AdminServer {
 public:
  // Binds `listen` ("host:port"; port 0 picks one) and serves on its own thread. /metrics
  // serializes `registry` followed by every family of `collectables` (prometheus-cpp 1.0's
  // Registry cannot hold other Collectables); they are read on the admin thread.
  static Result<std::unique_ptr<AdminServer>> start(
      const std::string& listen, std::shared_ptr<prometheus::Registry> registry,
      std::shared_ptr<HealthRegistry> health,
      std::vector<std::shared_ptr<prometheus::Collectable>> collectables = {});
  virtual ~AdminServer() = default;
  virtual uint16_t port() const = 0;
  virtual void stop() = 0;
};

}  // namespace herald::admin
