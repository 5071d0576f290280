// Per-socket rate limits as token buckets (GCRA form): O(1) per check, 8 bytes of state per
// bucket, exact integer arithmetic, time injected by the caller.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace herald::policy {

using RateClock = std::chrono::steady_clock;

// A configured limit; shared by every socket, so buckets do not store it.
struct RateSpec {
  double per_second = 0;     // refill rate (tokens per second), > 0
  double burst = 1;          // capacity (>= 1); a new bucket starts full
  int64_t interval_ns = 0;   // one token's worth of time
  int64_t tolerance_ns = 0;  // (burst - 1) * interval: how far ahead a bucket may run

  static RateSpec make(double per_second, double burst);
};

// A token bucket kept as its "theoretical arrival time" (GCRA): the bucket is full when that time
// is in the past, and each take pushes it one interval forward.
class TokenBucket {
 public:
  // Takes one token if there is one. A clock that goes backwards never refills.
  bool try_take(const RateSpec& spec, RateClock::time_point now);

  // How long after `now` one token will be available (zero when one is).
  std::chrono::milliseconds retry_after(const RateSpec& spec, RateClock::time_point now) const;

 private:
  int64_t tat_ns_ = kUnset;
  static constexpr int64_t kUnset = INT64_MIN;
};

// The buckets of one socket in one namespace: slot 0 is the namespace-wide `rate`, then one per
// event that declares `rate` (EventPolicy::rate_slot). Grows on demand, so a default-constructed
// limiter works with any policy; create a new one when the policy is reloaded.
class RateLimiter {
 public:
  RateLimiter() = default;
  explicit RateLimiter(size_t slots) : buckets_(slots) {}

  TokenBucket& bucket(size_t slot) {
    if (slot >= buckets_.size()) buckets_.resize(slot + 1);
    return buckets_[slot];
  }
  size_t size() const { return buckets_.size(); }

 private:
  std::vector<TokenBucket> buckets_;
};

}  // namespace herald::policy
