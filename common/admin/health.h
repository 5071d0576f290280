// Readiness checks that components register and /readyz reports.
#pragma once

#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace herald::admin {

enum class Readiness { kReady, kDegraded, kNotReady };
std::string_view readiness_name(Readiness r);

struct CheckResult {
  Readiness state = Readiness::kReady;
  std::string detail;
};

// Thread-safe registry of named checks. A process is ready when every check is kReady; degraded
// (still serving, with reduced guarantees) when the worst is kDegraded.
class HealthRegistry {
 public:
  void add(std::string name, std::function<CheckResult()> check);
  // Runs every check: {"status": "ready|degraded|not_ready", "checks": {name: {status, detail}}}.
  nlohmann::json evaluate(Readiness* overall) const;

 private:
  mutable std::mutex mu_;
  std::vector<std::pair<std::string, std::function<CheckResult()>>> checks_;
};

}  // namespace herald::admin
