// GCRA token bucket arithmetic in integer nanoseconds.
#include "broker/policy/rate_limiter.h"

#include <algorithm>
#include <cmath>

namespace herald::policy {
namespace {

int64_t to_ns(RateClock::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

}  // namespace

RateSpec RateSpec::make(double per_second, double burst) {
  RateSpec spec;
  spec.per_second = per_second;
  spec.burst = std::max(1.0, burst);
  double interval = per_second > 0 ? 1e9 / per_second : 1e18;
  spec.interval_ns = std::max<int64_t>(1, static_cast<int64_t>(std::llround(interval)));
  spec.tolerance_ns =
      static_cast<int64_t>(std::llround(std::min(1e18, (spec.burst - 1.0) * interval)));
  return spec;
}

bool TokenBucket::try_take(const RateSpec& spec, RateClock::time_point now) {
  int64_t now_ns = to_ns(now);
  int64_t tat = tat_ns_ == kUnset ? now_ns : std::max(tat_ns_, now_ns);
  if (tat - now_ns > spec.tolerance_ns) return false;
  tat_ns_ = tat + spec.interval_ns;
  return true;
}

std::chrono::milliseconds TokenBucket::retry_after(const RateSpec& spec,
                                                   RateClock::time_point now) const {
  if (tat_ns_ == kUnset) return std::chrono::milliseconds(0);
  int64_t wait_ns = tat_ns_ - spec.tolerance_ns - to_ns(now);
  if (wait_ns <= 0) return std::chrono::milliseconds(0);
  return std::chrono::milliseconds((wait_ns + 999999) / 1000000);
}

}  // namespace herald::policy
