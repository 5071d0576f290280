// Tests for the token bucket with an injected clock (no real sleeps).
#include "broker/policy/rate_limiter.h"

#include <gtest/gtest.h>

namespace herald::policy {
namespace {

using std::chrono::milliseconds;

RateClock::time_point at(int64_t ms) {
  return RateClock::time_point(milliseconds(ms));
}

TEST(policy_rate, BurstThenSteadyRate) {
  RateSpec spec = RateSpec::make(20, 40);
  TokenBucket b;
  for (int i = 0; i < 40; ++i) EXPECT_TRUE(b.try_take(spec, at(1000))) << i;
  EXPECT_FALSE(b.try_take(spec, at(1000)));
  EXPECT_EQ(b.retry_after(spec, at(1000)), milliseconds(50));
  EXPECT_FALSE(b.try_take(spec, at(1049)));
  EXPECT_TRUE(b.try_take(spec, at(1050)));
  EXPECT_FALSE(b.try_take(spec, at(1050)));
  // 1 s later: 20 tokens back.
  int taken = 0;
  while (b.try_take(spec, at(2050))) ++taken;
  EXPECT_EQ(taken, 20);
}

TEST(policy_rate, RefillIsCappedAtBurst) {
  RateSpec spec = RateSpec::make(1, 3);
  TokenBucket b;
  EXPECT_TRUE(b.try_take(spec, at(0)));
  int taken = 0;
  while (b.try_take(spec, at(3600 * 1000))) ++taken;
  EXPECT_EQ(taken, 3);
}

TEST(policy_rate, FractionalRates) {
  RateSpec spec = RateSpec::make(0.5, 1);  // 30 per minute
  TokenBucket b;
  EXPECT_TRUE(b.try_take(spec, at(0)));
  EXPECT_FALSE(b.try_take(spec, at(1999)));
  EXPECT_EQ(b.retry_after(spec, at(1000)), milliseconds(1000));
  EXPECT_TRUE(b.try_take(spec, at(2000)));
}

TEST(policy_rate, ClockGoingBackwardsRefillsNothing) {
  RateSpec spec = RateSpec::make(10, 1);
  TokenBucket b;
  EXPECT_TRUE(b.try_take(spec, at(5000)));
  EXPECT_FALSE(b.try_take(spec, at(1000)));
  EXPECT_FALSE(b.try_take(spec, at(5099)));
  EXPECT_TRUE(b.try_take(spec, at(5100)));
}

TEST(policy_rate, FreshBucketHasNoWait) {
  RateSpec spec = RateSpec::make(1, 1);
  TokenBucket b;
  EXPECT_EQ(b.retry_after(spec, at(0)), milliseconds(0));
  EXPECT_EQ(sizeof(TokenBucket), 8u);
}

TEST(policy_rate, LimiterSlotsAreIndependentAndGrow) {
  RateSpec spec = RateSpec::make(1, 1);
  RateLimiter limiter(2);
  EXPECT_TRUE(limiter.bucket(0).try_take(spec, at(0)));
  EXPECT_FALSE(limiter.bucket(0).try_take(spec, at(0)));
  EXPECT_TRUE(limiter.bucket(1).try_take(spec, at(0)));
  EXPECT_TRUE(limiter.bucket(5).try_take(spec, at(0)));
  EXPECT_EQ(limiter.size(), 6u);
}

}  // namespace
}  // namespace herald::policy
