// api::LoginThrottle (contract section 11): 10 failures per username, 50 per client address,
// within 15 minutes; attempts running together count against the limits.
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "api/login_throttle.h"

namespace contacts::api {
namespace {

using namespace std::chrono_literals;
using Clock = LoginThrottle::Clock;

// One failed attempt of `user` from `address` at `now`; false when it was refused.
bool fail_once(LoginThrottle& t, const std::string& user, const std::string& address,
               Clock::time_point now) {
  if (t.begin(user, address, now) != 0) return false;
  t.failed(user, address, now);
  return true;
}

TEST(LoginThrottle, TenFailuresLockTheUsernameUntilTheFirstLeavesTheWindow) {
  LoginThrottle t;
  const auto t0 = Clock::now();
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(fail_once(t, "ann", "a" + std::to_string(i), t0 + i * 1s));
  const int64_t wait = t.begin("ann", "elsewhere", t0 + 10s);
  EXPECT_EQ(wait, 15 * 60 - 10);  // until the first failure (at t0) is 15 minutes old
  EXPECT_EQ(t.begin("bob", "elsewhere", t0 + 10s), 0) << "other usernames are not locked";
  t.abandoned("bob", "elsewhere");
  EXPECT_EQ(t.begin("ann", "elsewhere", t0 + 15min), 0) << "the first failure left the window";
  t.succeeded("ann", "elsewhere");
  EXPECT_EQ(t.begin("ann", "elsewhere", t0 + 15min + 1s), 0) << "a success forgets the failures";
}

TEST(LoginThrottle, FiftyFailuresFromAnAddressLockIt) {
  LoginThrottle t;
  const auto t0 = Clock::now();
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(fail_once(t, "user" + std::to_string(i), "203.0.113.9", t0));
  EXPECT_GT(t.begin("someone", "203.0.113.9", t0 + 1s), 0);
  EXPECT_EQ(t.begin("someone", "203.0.113.10", t0 + 1s), 0);
}

TEST(LoginThrottle, AttemptsRunningTogetherCannotPassTheLimitTogether) {
  LoginThrottle t;
  const auto now = Clock::now();
  for (int i = 0; i < 8; ++i) ASSERT_TRUE(fail_once(t, "ann", "x", now));
  // Two attempts start before either has failed: a third would be the 11th check.
  ASSERT_EQ(t.begin("ann", "x", now), 0);
  ASSERT_EQ(t.begin("ann", "x", now), 0);
  EXPECT_EQ(t.begin("ann", "x", now), 1) << "two running attempts may reach the limit";
  t.failed("ann", "x", now);
  t.abandoned("ann", "x");  // e.g. the store was unavailable: no password was checked
  ASSERT_EQ(t.begin("ann", "x", now), 0) << "an abandoned attempt is no failure";
  t.failed("ann", "x", now);
  EXPECT_GT(t.begin("ann", "x", now), 1) << "10 failures: locked for the window";
}

TEST(LoginThrottle, MemoryStaysBoundedUnderMadeUpNames) {
  LoginThrottle::Limits limits;
  limits.max_keys = 100;
  LoginThrottle t(limits);
  const auto now = Clock::now();
  for (int i = 0; i < 10'000; ++i) fail_once(t, "made-up-" + std::to_string(i), std::to_string(i), now);
  // Only the 100 most recent keys are kept: an old name is forgotten, not locked.
  for (int i = 0; i < 9; ++i) fail_once(t, "made-up-9999", "y", now);
  EXPECT_GT(t.begin("made-up-9999", "z", now), 0);
  EXPECT_EQ(t.begin("made-up-0", "z", now), 0);
}

}  // namespace
}  // namespace contacts::api
