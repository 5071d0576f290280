// Graceful shutdown for the Herald processes: the first SIGTERM/SIGINT starts a drain bounded by
// drain.deadline_s; a second signal, or the deadline passing, ends the process at once.
#pragma once

#include <chrono>
#include <functional>
#include <string_view>

#include "common/config/common_config.h"

namespace herald {

using DrainClock = std::chrono::steady_clock;

// Deadlines of one drain: `stop_by` leaves the final stop (threads, streams, bus flush) time to
// finish before `deadline`, when the process exits whatever is left.
struct DrainPlan {
  DrainClock::time_point started;
  DrainClock::time_point stop_by;
  DrainClock::time_point deadline;
  uint32_t batch_size = 500;
  std::chrono::milliseconds batch_interval{100};

  static DrainPlan from(const config::DrainConfig& config, DrainClock::time_point now);
  // Time left before stop_by (zero when past).
  std::chrono::milliseconds remaining() const;
};

// Call from main after block_shutdown_signals() and start-up. Blocks until SIGINT/SIGTERM, then
// runs `drain_and_stop(plan)` on its own thread. Meanwhile a second SIGINT/SIGTERM exits at once
// (status 128 + signal), and so does reaching plan.deadline (status 1). Returns 0 once
// drain_and_stop returned.
int serve_until_shutdown(std::string_view component, const config::DrainConfig& drain,
                         std::function<void(const DrainPlan&)> drain_and_stop);

}  // namespace herald
