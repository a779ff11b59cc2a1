#include "analytics/hadoop_engine.h"

#include <unistd.h>

#include <system_error>

#include "util/child_process.h"
#include "util/text.h"

namespace contacts::analytics {
namespace {

// Runs one `hadoop` command; its failures become EngineErrors.
ChildResult run_hadoop(const std::vector<std::string>& argv, Clock::time_point deadline) {
  try {
    return run_child(argv, deadline);
  } catch (const ChildTimeout& e) {
    throw EngineError(Failure::timeout, std::string("hadoop: ") + e.what());
  } catch (const std::system_error& e) {
    throw EngineError(Failure::unavailable, std::string("hadoop: ") + e.what());
  }
}

void require_success(const ChildResult& r, const std::string& what) {
  if (r.exit_status == 0) return;
  std::string tail = r.err_tail.substr(r.err_tail.size() > 300 ? r.err_tail.size() - 300 : 0);
  throw EngineError(Failure::error, what + " exited with status " + std::to_string(r.exit_status) +
                                        (tail.empty() ? "" : ": " + tail));
}

}  // namespace

AnalyticsSnapshot parse_job_output(std::string_view text, uint32_t limit) {
  AnalyticsSnapshot a;
  bool have_total = false;
  std::vector<ValueCount> countries, industries;
  size_t line_no = 0;
  for (std::string_view line : text::split(text, '\n')) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) continue;
    const std::vector<std::string_view> f = text::split(line, '\t');
    const std::string where = "job output line " + std::to_string(line_no);
    if (f[0] == "total" && f.size() == 2 && !have_total) {
      a.total_contacts = parse_count(f[1], where);
      have_total = true;
    } else if ((f[0] == "country" || f[0] == "industry") && f.size() == 3) {
      (f[0] == "country" ? countries : industries).push_back({std::string(f[1]), parse_count(f[2], where)});
    } else {
      throw EngineError(Failure::malformed, where + ": unexpected '" +
                                                std::string(line.substr(0, 60)) + "'");
    }
  }
  if (!have_total) throw EngineError(Failure::malformed, "job output: no total line");
  a.top_countries = top_values(std::move(countries), limit);
  a.top_industries = top_values(std::move(industries), limit);
  return a;
}

HadoopJobEngine::HadoopJobEngine(const Settings& settings) : settings_(settings) {}

AnalyticsSnapshot HadoopJobEngine::compute(uint32_t limit, Clock::time_point deadline) {
  const std::string& bin = settings_.hadoop_bin;
  const std::string output = "/tmp/contacts-analytics/" + std::to_string(::getpid()) + "-" +
                             std::to_string(runs_.fetch_add(1)) + "-" +
                             std::to_string(std::chrono::system_clock::now().time_since_epoch().count());
  // Whatever happens once the job has started (it may have written part of its output), the
  // output goes: within 5 s more, on this thread (the caller stopped waiting at `deadline`).
  struct RemoveOutput {
    const std::string& bin;
    const std::string& output;
    ~RemoveOutput() {
      try {
        run_child({bin, "fs", "-rm", "-r", "-f", "-skipTrash", output},
                  Clock::now() + std::chrono::seconds(5));
      } catch (const std::exception&) {
        // A leftover directory under /tmp is not worth an error.
      }
    }
  } const remove{bin, output};
  require_success(run_hadoop({bin, "jar", settings_.hadoop_job_jar,
                              settings_.hive_database + "." + settings_.hive_table, output},
                             deadline),
                  "hadoop jar");
  const ChildResult cat = run_hadoop({bin, "fs", "-cat", output + "/part-*"}, deadline);
  require_success(cat, "hadoop fs -cat");
  if (cat.output_truncated) throw EngineError(Failure::malformed, "job output larger than 16 MiB");
  return parse_job_output(cat.out, limit);
}

}  // namespace contacts::analytics
