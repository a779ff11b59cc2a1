// Runs an analytics engine off the caller's thread within CONTACTS_ANALYTICS_TIMEOUT_MS:
// the caller waits at most that long, and a failure is logged, counted
// (contacts_analytics_engine_failures_total) and reported as "no answer", for the caller to
// answer from the store.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>

#include "analytics/engine.h"
#include "util/work_pool.h"

namespace contacts::analytics {

class EngineRunner {
 public:
  // At most `max_callers` callers wait for the engine at once (each call runs on a thread of
  // the runner's); one more fails at once (Failure::busy), so that callers on a shared pool
  // (the read threads) never all wait for a slow engine.
  EngineRunner(std::unique_ptr<Engine> engine, std::chrono::milliseconds timeout,
               size_t max_callers);
  ~EngineRunner();  // waits for the engine calls still running (each ends by its deadline)

  std::string_view source() const { return engine_->source(); }
  // The engine's answer, or nullopt when it failed or did not answer within the timeout
  // (logged as a warning and counted). Thread-safe.
  std::optional<AnalyticsSnapshot> compute(uint32_t limit);

 private:
  std::shared_ptr<Engine> engine_;  // shared with calls that outlive their caller's wait
  const std::chrono::milliseconds timeout_;
  const size_t max_callers_;
  std::atomic<size_t> callers_{0};
  std::unique_ptr<WorkPool> pool_;
};

// The runner for CONTACTS_ANALYTICS_ENGINE, or nullptr for "database". Half the read threads
// (CONTACTS_READ_THREADS), at least one, may wait for the engine at once.
std::unique_ptr<EngineRunner> make_runner(const Settings& settings);

}  // namespace contacts::analytics
