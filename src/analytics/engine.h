// The analytics engines of GET /api/contacts/analytics/ other than the store: Spark (through
// its Thrift server or Livy) and Hadoop (a job, or HiveServer2). Each computes what the store's
// ContactReader::analytics does, from the Hive table the contacts were exported to.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "config/settings.h"
#include "query/reader.h"

namespace contacts::analytics {

using Clock = std::chrono::steady_clock;

// Why an engine gave no answer: the label of contacts_analytics_engine_failures_total.
enum class Failure {
  timeout,      // no answer before the deadline
  unavailable,  // could not reach it (connection refused, no such executable, ...)
  malformed,    // it answered something we cannot read
  error,        // it answered with an error (a failed query, a job's exit status)
  busy,         // too many engine calls already waiting (never reached the engine)
};
std::string_view failure_label(Failure f);

class EngineError : public std::runtime_error {
 public:
  EngineError(Failure failure, const std::string& what)
      : std::runtime_error(what), failure_(failure) {}
  Failure failure() const { return failure_; }

 private:
  Failure failure_;
};

// One engine. Thread-safe: compute() may run on several threads at once.
class Engine {
 public:
  virtual ~Engine() = default;
  // "spark" or "hadoop": the answer's `source`.
  virtual std::string_view source() const = 0;
  // The totals and the `limit` most frequent non-empty countries and industries, ordered as
  // the store orders them. Gives up (EngineError{timeout}) at `deadline`; throws EngineError
  // for every failure.
  virtual AnalyticsSnapshot compute(uint32_t limit, Clock::time_point deadline) = 0;
};

// The SQL an engine runs on `database`.`table` (Hive/Spark SQL): the number of rows, and the
// values of `column` with their counts, non-empty values only, every value whose count ranks
// within the `limit` highest (ties at the edge included, so that top_values() can order them
// as the store does).
std::string total_sql(const Settings& settings);
std::string top_sql(const Settings& settings, std::string_view column, uint32_t limit);

// `rows` ordered as the store orders analytics (total descending, then the collation of
// contract section 4, then bytes), the first `limit` kept. Empty values are dropped.
std::vector<ValueCount> top_values(std::vector<ValueCount> rows, uint32_t limit);

// A non-negative decimal count as an engine writes it ("12", "12.0" is refused); throws
// EngineError{malformed} naming `what` otherwise.
uint64_t parse_count(std::string_view text, std::string_view what);

// Result rows of one SQL statement, every cell as text ("" for NULL).
using Rows = std::vector<std::vector<std::string>>;

// The analytics from the rows of total_sql() (one row: the count) and of top_sql() for the
// countries and the industries (rows: name, count). Throws EngineError{malformed} on other
// shapes.
AnalyticsSnapshot analytics_from_rows(const Rows& total, const Rows& countries,
                                      const Rows& industries, uint32_t limit);

// The same, with `run(sql)` running each statement and returning its rows.
template <class Run>
AnalyticsSnapshot analytics_from_sql(const Settings& settings, uint32_t limit, Run&& run) {
  const Rows total = run(total_sql(settings));
  const Rows countries = run(top_sql(settings, "country", limit));
  const Rows industries = run(top_sql(settings, "industry", limit));
  return analytics_from_rows(total, countries, industries, limit);
}

}  // namespace contacts::analytics
