// Throttling of password guessing (contract section 11): after 10 failed logins for one
// username, or 50 from one client address, within 15 minutes, logins are refused (429) until
// the oldest of those failures leaves the window. Thread-safe; memory bounded by `max_keys`.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace contacts::api {

class LoginThrottle {
 public:
  using Clock = std::chrono::steady_clock;
  struct Limits {
    size_t per_username = 10;
    size_t per_address = 50;
    std::chrono::seconds window{15 * 60};
    size_t max_keys = 100'000;  // usernames and addresses tracked at most, each
  };

  LoginThrottle() : LoginThrottle(Limits{}) {}
  explicit LoginThrottle(Limits limits) : limits_(limits) {}

  // Starts a login attempt: returns the seconds to wait before `username` may try again from
  // `address` (nothing started), or 0: go ahead. An attempt that goes ahead counts against
  // both limits until it ends with failed(), succeeded() or abandoned(), so that attempts
  // running together cannot pass a limit together (those beyond it wait 1 s).
  int64_t begin(std::string_view username, std::string_view address, Clock::time_point now);
  // Ends an attempt: a failed login counts against both.
  void failed(std::string_view username, std::string_view address, Clock::time_point now);
  // Ends an attempt: a success forgets the username's failures (not the address's).
  void succeeded(std::string_view username, std::string_view address);
  // Ends an attempt that never checked a password (e.g. the store was unavailable).
  void abandoned(std::string_view username, std::string_view address);

 private:
  using Failures = std::unordered_map<std::string, std::deque<Clock::time_point>>;
  using Pending = std::unordered_map<std::string, size_t>;  // attempts running, by key
  int64_t wait_for(Failures& map, const Pending& pending, std::string_view key, size_t limit,
                   Clock::time_point now);
  void add(Failures& map, std::string_view key, size_t limit, Clock::time_point now);
  void end(std::string_view username, std::string_view address);  // under mutex_

  const Limits limits_;
  std::mutex mutex_;
  Failures by_username_;
  Failures by_address_;
  Pending pending_by_username_;
  Pending pending_by_address_;
};

}  // namespace contacts::api
