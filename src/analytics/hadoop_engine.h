// Analytics from a Hadoop job (CONTACTS_HADOOP_BIN, CONTACTS_HADOOP_JOB_JAR): runs
//   $CONTACTS_HADOOP_BIN jar $CONTACTS_HADOOP_JOB_JAR <database>.<table> <output>
// then reads its result with `$CONTACTS_HADOOP_BIN fs -cat <output>/part-*` and removes it
// (`fs -rm -r -f <output>`). docs/operations.md describes the output the job writes.
#pragma once

#include <atomic>
#include <string>

#include "analytics/engine.h"

namespace contacts::analytics {

class HadoopJobEngine : public Engine {
 public:
  explicit HadoopJobEngine(const Settings& settings);
  std::string_view source() const override { return "hadoop"; }
  AnalyticsSnapshot compute(uint32_t limit, Clock::time_point deadline) override;

 private:
  const Settings settings_;
  std::atomic<uint64_t> runs_{0};  // names each run's output location
};

// The analytics in a job's output: lines "total\t<n>" (exactly one), "country\t<name>\t<n>"
// and "industry\t<name>\t<n>" (one per distinct non-empty value), in any order; empty lines
// are ignored. Throws EngineError{malformed} on anything else.
AnalyticsSnapshot parse_job_output(std::string_view text, uint32_t limit);

}  // namespace contacts::analytics
