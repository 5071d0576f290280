// Process-wide families.
#include "common/metrics/process_metrics.h"

namespace herald::metrics {

void add_process_metrics(CallbackCollector& c, std::string process, std::string version,
                         std::function<bool()> draining) {
  c.gauges("herald_build_info", "Always 1; labels name the process and its version",
           [process = std::move(process), version = std::move(version)] {
             return std::vector<Sample>{{{{"process", process}, {"version", version}}, 1}};
           });
  c.gauge("herald_draining", "1 while the process drains after SIGTERM (readiness is not_ready)",
          [draining = std::move(draining)] { return draining && draining() ? 1.0 : 0.0; });
}

void add_state_metric(CallbackCollector& c, std::string name, std::string help,
                      std::vector<std::string> states, std::function<std::string()> current) {
  c.gauges(std::move(name), std::move(help),
           [states = std::move(states), current = std::move(current)] {
             const std::string now = current();
             std::vector<Sample> out;
             for (const std::string& s : states)
               out.push_back({{{"state", s}}, s == now ? 1.0 : 0.0});
             return out;
           });
}

}  // namespace herald::metrics
