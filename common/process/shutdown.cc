// Shutdown driver: sigwait for the first signal, a drain thread, sigtimedwait for a second one.
#include "common/process/shutdown.h"

#include <signal.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <thread>

#include "common/log/log.h"
#include "common/process/signals.h"

namespace herald {

DrainPlan DrainPlan::from(const config::DrainConfig& config, DrainClock::time_point now) {
  DrainPlan plan;
  plan.started = now;
  const auto total = std::chrono::milliseconds(uint64_t{config.deadline_s} * 1000);
  // The final stop needs a few seconds (EdgeLink and bus flushes): a quarter, at most 5 s.
  const auto reserve = std::min<std::chrono::milliseconds>(total / 4, std::chrono::seconds(5));
  plan.deadline = now + total;
  plan.stop_by = plan.deadline - reserve;
  plan.batch_size = std::max<uint32_t>(1, config.batch_size);
  plan.batch_interval = std::chrono::milliseconds(config.batch_interval_ms);
  return plan;
}

std::chrono::milliseconds DrainPlan::remaining() const {
  const auto now = DrainClock::now();
  if (now >= stop_by) return std::chrono::milliseconds(0);
  return std::chrono::duration_cast<std::chrono::milliseconds>(stop_by - now);
}

int serve_until_shutdown(std::string_view component, const config::DrainConfig& drain,
                         std::function<void(const DrainPlan&)> drain_and_stop) {
  const int first = wait_for_shutdown_signal();
  const DrainPlan plan = DrainPlan::from(drain, DrainClock::now());
  HLOG_INFO(component, "shutting down: draining",
            {{"signal", first},
             {"deadline_s", drain.deadline_s},
             {"batch_size", drain.batch_size},
             {"batch_interval_ms", drain.batch_interval_ms}});
  std::atomic<bool> done{false};
  std::thread worker([&] {
    drain_and_stop(plan);
    done.store(true);
  });

  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  while (!done.load()) {
    timespec wait{0, 50 * 1000 * 1000};
    const int sig = sigtimedwait(&set, nullptr, &wait);
    if (sig == SIGINT || sig == SIGTERM) {
      HLOG_WARN(component, "second signal: exiting now", {{"signal", sig}});
      std::_Exit(128 + sig);
    }
    if (DrainClock::now() >= plan.deadline && !done.load()) {
      HLOG_ERROR(component, "drain deadline reached: exiting now",
                 {{"deadline_s", drain.deadline_s}});
      std::_Exit(1);
    }
  }
  worker.join();
  const auto took =
      std::chrono::duration_cast<std::chrono::milliseconds>(DrainClock::now() - plan.started);
  HLOG_INFO(component, "drained and stopped", {{"drain_ms", took.count()}});
  return 0;
}

}  // namespace herald
