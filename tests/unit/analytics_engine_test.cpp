// The analytics engines' parts that need no engine: settings, SQL, ordering, output parsing,
// the child process, the runner's time limit and fallback (the engines themselves are tested
// against stand-ins in tests/http/test_analytics_engines.py).
#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <thread>

#include "analytics/engine.h"
#include "analytics/hadoop_engine.h"
#include "analytics/livy_engine.h"
#include "analytics/runner.h"
#include "api/cli_export.h"
#include "api/settings_check.h"
#include "config/settings.h"
#include "http/client.h"
#include "metrics/service_metrics.h"
#include "util/child_process.h"

namespace contacts {
namespace {

using namespace std::chrono_literals;
using analytics::EngineError;
using analytics::Failure;

constexpr const char* kAnalyticsVariables[] = {
    "CONTACTS_ANALYTICS_ENGINE", "CONTACTS_LIVY_URL",       "CONTACTS_THRIFT_HOST",
    "CONTACTS_THRIFT_AUTH",      "CONTACTS_HIVE_DATABASE",  "CONTACTS_HIVE_TABLE",
    "CONTACTS_HADOOP_BIN",       "CONTACTS_HADOOP_JOB_JAR", "CONTACTS_ANALYTICS_TIMEOUT_MS"};

// Sets the analytics variables for one test (the others unset), and unsets them after.
class AnalyticsEnv {
 public:
  explicit AnalyticsEnv(const std::map<std::string, std::string>& values) {
    for (const char* name : kAnalyticsVariables) ::unsetenv(name);
    for (const auto& [k, v] : values) ::setenv(k.c_str(), v.c_str(), 1);
  }
  ~AnalyticsEnv() {
    for (const char* name : kAnalyticsVariables) ::unsetenv(name);
  }
};

// The message the settings stop the program with (Settings::from_environment(), then the
// components' checks of their values, as main.cpp does), or "" when they are accepted.
std::string refusal(const std::map<std::string, std::string>& values) {
  const AnalyticsEnv env(values);
  try {
    api::check_settings(Settings::from_environment());
    return "";
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
}

TEST(AnalyticsSettings, DefaultIsTheDatabaseWithA30SecondTimeout) {
  const AnalyticsEnv env({});
  const Settings s = Settings::from_environment();
  EXPECT_EQ(s.analytics_engine, Settings::AnalyticsEngine::database);
  EXPECT_EQ(s.analytics_timeout_ms, 30000);
  EXPECT_FALSE(s.hadoop_job_configured());
  EXPECT_EQ(analytics::make_runner(s), nullptr);
}

TEST(AnalyticsSettings, InvalidCombinationsStopTheProgramNamingTheVariable) {
  const std::vector<std::pair<std::map<std::string, std::string>, std::string>> cases = {
      {{{"CONTACTS_ANALYTICS_ENGINE", "presto"}}, "CONTACTS_ANALYTICS_ENGINE"},
      {{{"CONTACTS_ANALYTICS_ENGINE", "spark"}}, "CONTACTS_ANALYTICS_ENGINE"},
      {{{"CONTACTS_ANALYTICS_ENGINE", "hadoop"}}, "CONTACTS_ANALYTICS_ENGINE"},
      {{{"CONTACTS_ANALYTICS_ENGINE", "spark"}, {"CONTACTS_THRIFT_HOST", "sparkhost"}},
       "CONTACTS_THRIFT_HOST"},
      {{{"CONTACTS_ANALYTICS_ENGINE", "spark"}, {"CONTACTS_THRIFT_HOST", "h:0"}}, "CONTACTS_THRIFT_HOST"},
      {{{"CONTACTS_ANALYTICS_ENGINE", "spark"}, {"CONTACTS_THRIFT_HOST", "h:70000"}},
       "CONTACTS_THRIFT_HOST"},
      {{{"CONTACTS_ANALYTICS_ENGINE", "spark"}, {"CONTACTS_THRIFT_HOST", ":10000"}},
       "CONTACTS_THRIFT_HOST"},
      {{{"CONTACTS_ANALYTICS_ENGINE", "spark"}, {"CONTACTS_LIVY_URL", "https://livy:8998"}},
       "CONTACTS_LIVY_URL"},
      {{{"CONTACTS_ANALYTICS_ENGINE", "spark"}, {"CONTACTS_LIVY_URL", "http://livy:8998"},
        {"CONTACTS_THRIFT_HOST", "sts:10000"}},
       "CONTACTS_LIVY_URL"},
      {{{"CONTACTS_ANALYTICS_ENGINE", "hadoop"}, {"CONTACTS_HADOOP_BIN", "/usr/bin/hadoop"}},
       "CONTACTS_HADOOP_JOB_JAR"},
      {{{"CONTACTS_ANALYTICS_ENGINE", "hadoop"}, {"CONTACTS_HADOOP_JOB_JAR", "/j.jar"}},
       "CONTACTS_HADOOP_BIN"},
      {{{"CONTACTS_ANALYTICS_TIMEOUT_MS", "0"}}, "CONTACTS_ANALYTICS_TIMEOUT_MS"},
      {{{"CONTACTS_ANALYTICS_TIMEOUT_MS", "-5"}}, "CONTACTS_ANALYTICS_TIMEOUT_MS"},
      {{{"CONTACTS_ANALYTICS_TIMEOUT_MS", "1.5"}}, "CONTACTS_ANALYTICS_TIMEOUT_MS"},
      {{{"CONTACTS_HIVE_TABLE", "contacts; DROP TABLE x"}}, "CONTACTS_HIVE_TABLE"},
      {{{"CONTACTS_HIVE_DATABASE", "my-db"}}, "CONTACTS_HIVE_DATABASE"},
      {{{"CONTACTS_THRIFT_AUTH", "kerberos"}}, "CONTACTS_THRIFT_AUTH"},
  };
  for (const auto& [values, variable] : cases) {
    const std::string message = refusal(values);
    EXPECT_EQ(message.rfind(variable + ":", 0), 0u) << variable << " -> '" << message << "'";
  }
}

TEST(AnalyticsSettings, ValidEnginesAreAccepted) {
  EXPECT_EQ(refusal({{"CONTACTS_ANALYTICS_ENGINE", "spark"}, {"CONTACTS_THRIFT_HOST", "sts:10000"}}), "");
  EXPECT_EQ(refusal({{"CONTACTS_ANALYTICS_ENGINE", "SPARK"},
                     {"CONTACTS_LIVY_URL", "http://livy.internal:8998/gateway/"}}),
            "");
  EXPECT_EQ(refusal({{"CONTACTS_ANALYTICS_ENGINE", "hadoop"}, {"CONTACTS_THRIFT_HOST", "[::1]:10000"}}), "");
  const AnalyticsEnv env({{"CONTACTS_ANALYTICS_ENGINE", "hadoop"},
                          {"CONTACTS_HADOOP_BIN", "/opt/hadoop/bin/hadoop"},
                          {"CONTACTS_HADOOP_JOB_JAR", "/opt/jobs/analytics.jar"},
                          {"CONTACTS_ANALYTICS_TIMEOUT_MS", "1500"}});
  const Settings s = Settings::from_environment();
  EXPECT_EQ(s.analytics_engine, Settings::AnalyticsEngine::hadoop);
  EXPECT_TRUE(s.hadoop_job_configured());
  EXPECT_EQ(s.analytics_timeout_ms, 1500);
  const auto runner = analytics::make_runner(s);
  ASSERT_NE(runner, nullptr);
  EXPECT_EQ(runner->source(), "hadoop");
}

TEST(HttpClientUrls, ParsesHostPortAndUrls) {
  EXPECT_EQ(http::parse_host_port("[::1]:10000").host, "::1");
  EXPECT_EQ(http::parse_host_port("sts.example:10001").port, 10001);
  const http::Url u = http::parse_url("http://livy:8998/gateway/livy/");
  EXPECT_EQ(u.endpoint.host, "livy");
  EXPECT_EQ(u.endpoint.port, 8998);
  EXPECT_EQ(u.prefix, "/gateway/livy");
  EXPECT_EQ(http::parse_url("http://livy").endpoint.port, 80);
  EXPECT_THROW(http::parse_url("http://user:secret@livy:8998"), std::invalid_argument);
}

TEST(AnalyticsEngines, TopValuesAreOrderedAsTheStoreOrdersThem) {
  // Ties in collation order ("a" before "B"; bytes would put "B" first), empties dropped.
  const auto top = analytics::top_values({{"B", 3}, {"a", 3}, {"", 9}, {"c", 5}, {"d", 1}}, 3);
  ASSERT_EQ(top.size(), 3u);
  EXPECT_EQ(top[0].value, "c");
  EXPECT_EQ(top[1].value, "a");
  EXPECT_EQ(top[2].value, "B");
}

TEST(AnalyticsEngines, SqlKeepsEveryValueTiedAtTheEdgeAndLeavesEmptiesOut) {
  Settings s;
  s.hive_database = "lake";
  s.hive_table = "people";
  EXPECT_EQ(analytics::total_sql(s), "SELECT COUNT(*) AS total FROM `lake`.`people`");
  const std::string sql = analytics::top_sql(s, "country", 10);
  EXPECT_EQ(sql,
            "SELECT country, total FROM (SELECT country, total, RANK() OVER (ORDER BY total DESC) "
            "AS value_rank FROM (SELECT country, COUNT(*) AS total FROM `lake`.`people` WHERE "
            "country IS NOT NULL AND country <> '' GROUP BY country) grouped) ranked WHERE "
            "value_rank <= 10 ORDER BY total DESC, country");
  EXPECT_NE(sql.find("country IS NOT NULL AND country <> ''"), std::string::npos) << sql;
}

TEST(AnalyticsEngines, RowsOfWrongShapeAreMalformed) {
  const analytics::Rows total = {{"7"}};
  const analytics::Rows countries = {{"Germany", "4"}, {"France", "3"}};
  const AnalyticsSnapshot a = analytics::analytics_from_rows(total, countries, {}, 10);
  EXPECT_EQ(a.total_contacts, 7u);
  ASSERT_EQ(a.top_countries.size(), 2u);
  EXPECT_EQ(a.top_countries[0].value, "Germany");
  auto failure = [](auto&& f) {
    try {
      f();
    } catch (const EngineError& e) {
      return e.failure();
    }
    return Failure::busy;  // not thrown
  };
  EXPECT_EQ(failure([&] { analytics::analytics_from_rows({{"7", "8"}}, countries, {}, 10); }),
            Failure::malformed);
  EXPECT_EQ(failure([&] { analytics::analytics_from_rows({{"seven"}}, countries, {}, 10); }),
            Failure::malformed);
  EXPECT_EQ(failure([&] { analytics::analytics_from_rows(total, {{"Germany", "-4"}}, {}, 10); }),
            Failure::malformed);
  EXPECT_EQ(failure([&] { analytics::analytics_from_rows(total, {{"Germany"}}, {}, 10); }),
            Failure::malformed);
}

TEST(HadoopJob, OutputIsReadLineByLine) {
  const AnalyticsSnapshot a = analytics::parse_job_output(
      "country\tGermany\t4\r\nindustry\tSoftware\t2\ntotal\t9\n\ncountry\tFrance\t4\n", 1);
  EXPECT_EQ(a.total_contacts, 9u);
  ASSERT_EQ(a.top_countries.size(), 1u);
  EXPECT_EQ(a.top_countries[0].value, "France");  // tie: collation order
  ASSERT_EQ(a.top_industries.size(), 1u);
  EXPECT_EQ(a.top_industries[0].total, 2u);
  for (const char* bad : {"country\tGermany\t4\n", "total\t9\ntotal\t9\n", "total\t9\ncity\tx\t1\n",
                          "total\tnine\n", "total\t9\ncountry\tGermany\n", "<html>error</html>"}) {
    EXPECT_THROW(analytics::parse_job_output(bad, 10), EngineError) << bad;
  }
}

TEST(Livy, StatementRowsComeFromTheJsonOutput) {
  const std::string ok = R"({"id":3,"state":"available","output":{"status":"ok","execution_count":3,
    "data":{"application/json":{"schema":{"type":"struct","fields":[{"name":"country","type":"string"},
    {"name":"total","type":"long"}]},"data":[["Germany",4],[null,2]]}}}})";
  const analytics::Rows rows = analytics::livy_statement_rows(ok);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0][0], "Germany");
  EXPECT_EQ(rows[0][1], "4");
  EXPECT_EQ(rows[1][0], "");
  try {
    analytics::livy_statement_rows(
        R"({"output":{"status":"error","ename":"AnalysisException","evalue":"Table not found"}})");
    FAIL() << "no error";
  } catch (const EngineError& e) {
    EXPECT_EQ(e.failure(), Failure::error);
    EXPECT_NE(std::string(e.what()).find("Table not found"), std::string::npos);
  }
  for (const char* bad : {"not json", R"({"output":{"status":"ok"}})",
                          R"({"output":{"status":"ok","data":{"application/json":{"schema":{"fields":[1,2]},"data":[["a"]]}}}})"}) {
    try {
      analytics::livy_statement_rows(bad);
      FAIL() << bad;
    } catch (const EngineError& e) {
      EXPECT_EQ(e.failure(), Failure::malformed) << bad;
    }
  }
}

TEST(ChildProcess, CollectsOutputAndExitStatus) {
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  const ChildResult r = run_child({"sh", "-c", "echo out; echo err >&2; exit 3"}, deadline);
  EXPECT_EQ(r.out, "out\n");
  EXPECT_EQ(r.err_tail, "err\n");
  EXPECT_EQ(r.exit_status, 3);
  EXPECT_THROW(run_child({"/nonexistent/hadoop"}, deadline), std::system_error);
}

TEST(ChildProcess, KillsTheWholeProcessGroupAtTheTimeLimit) {
  const auto start = std::chrono::steady_clock::now();
  // The shell's child (sleep) holds the pipe too: only killing the group ends the wait.
  EXPECT_THROW(run_child({"sh", "-c", "sleep 30 & sleep 30"}, start + 300ms), ChildTimeout);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
}

// An engine answering after `delay`, or failing with `failure`.
class FakeEngine : public analytics::Engine {
 public:
  FakeEngine(std::chrono::milliseconds delay, std::optional<Failure> failure)
      : delay_(delay), failure_(failure) {}
  std::string_view source() const override { return "spark"; }
  AnalyticsSnapshot compute(uint32_t, analytics::Clock::time_point deadline) override {
    std::this_thread::sleep_until(std::min(analytics::Clock::now() + delay_, deadline + 50ms));
    if (failure_) throw EngineError(*failure_, "fake failure");
    AnalyticsSnapshot a;
    a.total_contacts = 42;
    return a;
  }

 private:
  std::chrono::milliseconds delay_;
  std::optional<Failure> failure_;
};

double failures(std::string_view reason) {
  return metrics::service_metrics().analytics_engine_failures.with({"spark", reason}).value();
}

TEST(EngineRunner, AnswersWithinTheTimeoutOrNotAtAll) {
  analytics::EngineRunner fast(std::make_unique<FakeEngine>(10ms, std::nullopt), 2000ms, 2);
  const auto a = fast.compute(10);
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->total_contacts, 42u);

  const double timeouts = failures("timeout");
  analytics::EngineRunner slow(std::make_unique<FakeEngine>(5000ms, std::nullopt), 300ms, 2);
  const auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(slow.compute(10).has_value());
  const auto waited = std::chrono::steady_clock::now() - start;
  EXPECT_GE(waited, 300ms);
  EXPECT_LT(waited, 600ms);
  EXPECT_EQ(failures("timeout"), timeouts + 1);

  const double malformed = failures("malformed");
  analytics::EngineRunner broken(std::make_unique<FakeEngine>(0ms, Failure::malformed), 2000ms, 2);
  EXPECT_FALSE(broken.compute(10).has_value());
  EXPECT_EQ(failures("malformed"), malformed + 1);
}

TEST(EngineRunner, ACallerBeyondTheLimitIsAnsweredAtOnce) {
  analytics::EngineRunner runner(std::make_unique<FakeEngine>(400ms, std::nullopt), 1000ms,
                                 /*max_callers=*/1);
  std::thread first([&] { runner.compute(10); });
  std::this_thread::sleep_for(50ms);
  const double busy = failures("busy");
  const auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(runner.compute(10).has_value());
  EXPECT_LT(std::chrono::steady_clock::now() - start, 100ms);
  EXPECT_EQ(failures("busy"), busy + 1);
  first.join();
}

TEST(HiveDdl, ColumnsFollowTheCsvOrderOverOpenCsvSerde) {
  Settings s;
  s.hive_database = "lake";
  s.hive_table = "contacts";
  const std::string ddl = api::hive_ddl(s, "hdfs:///lake/contacts");
  EXPECT_EQ(ddl.rfind("CREATE EXTERNAL TABLE IF NOT EXISTS `lake`.`contacts` (\n  `first_name` STRING,", 0), 0u) << ddl;
  EXPECT_LT(ddl.find("`country` STRING"), ddl.find("`id` STRING"));
  EXPECT_NE(ddl.find("`id` STRING,\n  `created_at` STRING,\n  `updated_at` STRING\n)"), std::string::npos);
  EXPECT_NE(ddl.find("ROW FORMAT SERDE 'org.apache.hadoop.hive.serde2.OpenCSVSerde'"), std::string::npos);
  EXPECT_NE(ddl.find("LOCATION 'hdfs:///lake/contacts'"), std::string::npos);
  EXPECT_NE(ddl.find("'skip.header.line.count' = '1'"), std::string::npos);
}

}  // namespace
}  // namespace contacts
