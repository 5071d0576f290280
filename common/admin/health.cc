// HealthRegistry evaluation.
#include "common/admin/health.h"

namespace herald::admin {

std::string_view readiness_name(Readiness r) {
  switch (r) {
    case Readiness::kReady:
      return "ready";
    case Readiness::kDegraded:
      return "degraded";
    case Readiness::kNotReady:
      return "not_ready";
  }
  return "unknown";
}

void HealthRegistry::add(std::string name, std::function<CheckResult()> check) {
  std::lock_guard lock(mu_);
  checks_.emplace_back(std::move(name), std::move(check));
}

nlohmann::json HealthRegistry::evaluate(Readiness* overall) const {
  std::vector<std::pair<std::string, std::function<CheckResult()>>> copy;
  {
    std::lock_guard lock(mu_);
    copy = checks_;
  }
  Readiness worst = Readiness::kReady;
  nlohmann::json checks = nlohmann::json::object();
  for (const auto& [name, check] : copy) {
    CheckResult r = check();
    if (static_cast<int>(r.state) > static_cast<int>(worst)) worst = r.state;
    nlohmann::json entry = {{"status", readiness_name(r.state)}};
    if (!r.detail.empty()) entry["detail"] = r.detail;
    checks[name] = std::move(entry);
  }
  if (overall != nullptr) *overall = worst;
  return {{"status", readiness_name(worst)}, {"checks", std::move(checks)}};
}

}  // namespace herald::admin
