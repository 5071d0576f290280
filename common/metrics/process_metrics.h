// Families every Herald process exports: build info, drain state, and an enum-style state gauge.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "common/metrics/callback_collector.h"

namespace herald::metrics {

// herald_build_info{process,version} 1 and herald_draining (1 while a graceful drain runs).
void add_process_metrics(CallbackCollector& collector, std::string process, std::string version,
                         std::function<bool()> draining);

// `name`{state=s} is 1 for the current state and 0 for the others (Prometheus's enum idiom).
void add_state_metric(CallbackCollector& collector, std::string name, std::string help,
                      std::vector<std::string> states, std::function<std::string()> current);

}  // namespace herald::metrics
