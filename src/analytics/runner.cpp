#include "analytics/runner.h"

#include <algorithm>
#include <condition_variable>
#include <mutex>

#include "analytics/hadoop_engine.h"
#include "analytics/hs2_engine.h"
#include "analytics/livy_engine.h"
#include "metrics/service_metrics.h"
#include "util/log.h"

namespace contacts::analytics {
namespace {

// What an engine call hands back to the caller waiting for it.
struct Outcome {
  std::mutex mutex;
  std::condition_variable done;
  std::optional<AnalyticsSnapshot> answer;
  std::optional<EngineError> error;
};

void report(std::string_view source, const EngineError& e) {
  metrics::count_analytics_engine_failure(source, failure_label(e.failure()));
  log_event("warning", "analytics engine failed; answered from the database",
            std::string(source) + " " + std::string(failure_label(e.failure())) + ": " + e.what());
}

}  // namespace

EngineRunner::EngineRunner(std::unique_ptr<Engine> engine, std::chrono::milliseconds timeout,
                           size_t max_callers)
    : engine_(std::move(engine)),
      timeout_(timeout),
      max_callers_(std::max<size_t>(1, max_callers)),
      // Calls whose caller gave up still run until their deadline: room for as many again.
      pool_(std::make_unique<WorkPool>(max_callers_, max_callers_, 0, "analytics")) {}

EngineRunner::~EngineRunner() = default;

std::optional<AnalyticsSnapshot> EngineRunner::compute(uint32_t limit) {
  struct Caller {
    std::atomic<size_t>& n;
    ~Caller() { n.fetch_sub(1); }
  };
  const Caller caller{callers_};
  if (callers_.fetch_add(1) >= max_callers_) {
    report(source(), EngineError(Failure::busy, "as many requests as allowed wait for the engine"));
    return std::nullopt;
  }
  const Clock::time_point deadline = Clock::now() + timeout_;
  auto outcome = std::make_shared<Outcome>();
  const bool queued = pool_->submit([engine = engine_, outcome, limit, deadline] {
    std::optional<AnalyticsSnapshot> answer;
    std::optional<EngineError> error;
    try {
      if (Clock::now() >= deadline) throw EngineError(Failure::timeout, "waited for a thread past the timeout");
      answer = engine->compute(limit, deadline);
    } catch (const EngineError& e) {
      error = e;
    } catch (const std::exception& e) {
      error = EngineError(Failure::error, e.what());
    }
    const std::lock_guard lock(outcome->mutex);
    outcome->answer = std::move(answer);
    outcome->error = std::move(error);
    outcome->done.notify_all();
  });
  if (!queued) {
    report(source(), EngineError(Failure::busy, "the engine's threads are all taken"));
    return std::nullopt;
  }
  std::unique_lock lock(outcome->mutex);
  if (!outcome->done.wait_until(lock, deadline, [&] { return outcome->answer || outcome->error; })) {
    lock.unlock();
    report(source(), EngineError(Failure::timeout, "no answer within CONTACTS_ANALYTICS_TIMEOUT_MS"));
    return std::nullopt;
  }
  if (outcome->error) {
    const EngineError e = *outcome->error;
    lock.unlock();
    report(source(), e);
    return std::nullopt;
  }
  return std::move(outcome->answer);
}

std::unique_ptr<EngineRunner> make_runner(const Settings& settings) {
  using Kind = Settings::AnalyticsEngine;
  std::unique_ptr<Engine> engine;
  switch (settings.analytics_engine) {
    case Kind::database: return nullptr;
    case Kind::spark:
      if (!settings.thrift_host.empty()) engine = std::make_unique<Hs2Engine>(settings, "spark");
      else engine = std::make_unique<LivyEngine>(settings);
      break;
    case Kind::hadoop:
      if (settings.hadoop_job_configured()) engine = std::make_unique<HadoopJobEngine>(settings);
      else engine = std::make_unique<Hs2Engine>(settings, "hadoop");
      break;
  }
  return std::make_unique<EngineRunner>(std::move(engine),
                                        std::chrono::milliseconds(settings.analytics_timeout_ms),
                                        settings.read_threads / 2);
}

}  // namespace contacts::analytics
