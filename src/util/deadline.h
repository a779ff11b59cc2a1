// The time budget of the read a thread is working on (contract section 11,
// CONTACTS_QUERY_TIMEOUT_MS): set around a request's work, checked inside long scans, so that
// work past the budget is abandoned rather than finished for nobody.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <stdexcept>

namespace contacts::deadline {

using Clock = std::chrono::steady_clock;

// Thrown by check() once the budget is spent.
class Exceeded : public std::runtime_error {
 public:
  Exceeded() : std::runtime_error("the read's time budget is spent") {}
};

// Sets this thread's budget until the scope ends (scopes nest: the inner one wins inside).
class Scope {
 public:
  explicit Scope(std::chrono::milliseconds budget);
  ~Scope();
  Scope(const Scope&) = delete;
  Scope& operator=(const Scope&) = delete;

 private:
  std::optional<Clock::time_point> previous_;
};

// Throws Exceeded when this thread has a budget and it is spent; otherwise nothing.
void check();

// In a loop over rows: checks every 4,096th `i` (a clock read costs more than a row).
inline void check_every(uint64_t i) {
  if ((i & 0xFFF) == 0) check();
}

// Milliseconds left of this thread's budget (at least 1), or nullopt without one. For
// statement timeouts of SQL run on behalf of the read.
std::optional<int64_t> remaining_ms();

}  // namespace contacts::deadline
