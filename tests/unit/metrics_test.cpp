// The metrics module (exposition format, histograms, concurrency), the server's exchange
// reports, and the telemetry that turns them into metrics and access-log lines.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <limits>
#include <tuple>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "api/telemetry.h"
#include "http_test_support.h"
#include "metrics/registry.h"
#include "metrics/service_metrics.h"
#include "store/sqlite/sqlite_handle.h"
#include "util/line_writer.h"

namespace contacts::metrics {
namespace {

std::string render(const Registry& registry) {
  std::string out;
  TextWriter writer(out);
  registry.render(writer);
  return out;
}

TEST(MetricsExposition, SmallRegistryRendersExactly) {
  Registry r;
  auto& requests = r.counter("app_requests_total", "Requests answered.", {"route", "status"});
  requests.with({"/b", "500"}).inc();
  requests.with({"/a", "200"}).inc(3);
  requests.with({"/q\"\\\n", "200"}).inc(2);
  r.gauge("app_temperature_celsius", "A help text with a \\ and a\nnewline.").with().set(21.5);
  auto& latency = r.histogram("app_latency_seconds", "Latency.", {"route"}, {0.00025, 0.01, 1});
  for (double v : {0.0001220703125, 0.000244140625, 0.5, 2.0}) latency.with({"/a"}).observe(v);

  EXPECT_EQ(render(r),
            "# HELP app_requests_total Requests answered.\n"
            "# TYPE app_requests_total counter\n"
            "app_requests_total{route=\"/a\",status=\"200\"} 3\n"
            "app_requests_total{route=\"/b\",status=\"500\"} 1\n"
            "app_requests_total{route=\"/q\\\"\\\\\\n\",status=\"200\"} 2\n"
            "# HELP app_temperature_celsius A help text with a \\\\ and a\\nnewline.\n"
            "# TYPE app_temperature_celsius gauge\n"
            "app_temperature_celsius 21.5\n"
            "# HELP app_latency_seconds Latency.\n"
            "# TYPE app_latency_seconds histogram\n"
            "app_latency_seconds_bucket{route=\"/a\",le=\"0.00025\"} 2\n"
            "app_latency_seconds_bucket{route=\"/a\",le=\"0.01\"} 2\n"
            "app_latency_seconds_bucket{route=\"/a\",le=\"1\"} 3\n"
            "app_latency_seconds_bucket{route=\"/a\",le=\"+Inf\"} 4\n"
            "app_latency_seconds_sum{route=\"/a\"} 2.5003662109375\n"
            "app_latency_seconds_count{route=\"/a\"} 4\n");
}

TEST(MetricsExposition, UnlabelledMetricsShowAtZeroBeforeAnyUpdate) {
  Registry r;
  r.counter("jobs_total", "Jobs.");
  r.counter("by_kind_total", "By kind.", {"kind"});
  EXPECT_EQ(render(r),
            "# HELP jobs_total Jobs.\n# TYPE jobs_total counter\njobs_total 0\n"
            "# HELP by_kind_total By kind.\n# TYPE by_kind_total counter\n");
}

TEST(MetricsExposition, ValuesUseTheShortestExactForm) {
  EXPECT_EQ(format_value(0), "0");
  EXPECT_EQ(format_value(3), "3");
  EXPECT_EQ(format_value(-2), "-2");
  EXPECT_EQ(format_value(0.00025), "0.00025");
  EXPECT_EQ(format_value(0.0005), "0.0005");
  EXPECT_EQ(format_value(2.5), "2.5");
  EXPECT_EQ(format_value(0.1 + 0.2), "0.30000000000000004");
  EXPECT_EQ(format_value(1764122495.25), "1764122495.25");
  EXPECT_EQ(format_value(1e20), "1e+20");
  EXPECT_EQ(format_value(1e-9), "1e-09");
  EXPECT_EQ(format_value(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(format_value(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(format_value(std::numeric_limits<double>::quiet_NaN()), "NaN");
}

TEST(MetricsExposition, LatencyBucketsRunFromAQuarterMillisecondToTenSeconds) {
  const auto& b = latency_bounds_seconds();
  ASSERT_FALSE(b.empty());
  EXPECT_EQ(b.front(), 0.00025);
  EXPECT_EQ(b.back(), 10.0);
  Histogram h(b);  // strictly increasing, or the constructor throws
  EXPECT_EQ(h.upper_bounds().size(), b.size());
}

TEST(MetricsHistogram, BucketsAreCumulativeAndUpperBoundsInclusive) {
  Histogram h({1, 2, 4});
  for (double v : {0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 4.5, 100.0}) h.observe(v);
  const auto s = h.snapshot();
  EXPECT_EQ(s.cumulative, (std::vector<uint64_t>{2, 4, 6, 8}));
  EXPECT_DOUBLE_EQ(s.sum, 116.5);
}

TEST(MetricsHistogram, RejectsBoundsThatAreNotStrictlyIncreasingAndFinite) {
  EXPECT_THROW(Histogram({1, 1}), std::invalid_argument);
  EXPECT_THROW(Histogram({2, 1}), std::invalid_argument);
  EXPECT_THROW(Histogram({1, std::numeric_limits<double>::infinity()}), std::invalid_argument);
  EXPECT_NO_THROW(Histogram({}));
}

TEST(MetricsRegistry, RejectsInvalidAndDuplicateNamesAndWrongLabelCounts) {
  Registry r;
  EXPECT_THROW(r.counter("1starts_with_a_digit", "x"), std::invalid_argument);
  EXPECT_THROW(r.counter("has-dash", "x"), std::invalid_argument);
  EXPECT_THROW(r.counter("ok_total", "x", {"__reserved"}), std::invalid_argument);
  EXPECT_THROW(r.counter("ok_total", "x", {"bad:label"}), std::invalid_argument);
  EXPECT_THROW(r.histogram("h_seconds", "x", {"le"}, {1}), std::invalid_argument);
  auto& ok = r.counter("ok_total", "x", {"a"});
  EXPECT_THROW(r.gauge("ok_total", "again"), std::invalid_argument);
  EXPECT_THROW(ok.with({}), std::invalid_argument);
  EXPECT_THROW(ok.with({"1", "2"}), std::invalid_argument);
  EXPECT_TRUE(valid_metric_name("contacts:rate_5m"));
  EXPECT_FALSE(valid_label_name("contacts:rate"));
}

TEST(MetricsRegistry, SameLabelValuesGiveTheSameMetric) {
  Registry r;
  auto& f = r.counter("c_total", "x", {"a", "b"});
  EXPECT_EQ(&f.with({"x", "y"}), &f.with({"x", "y"}));
  EXPECT_NE(&f.with({"x", "y"}), &f.with({"xy", ""}));  // values are not just concatenated
  EXPECT_NE(&f.with({"x", "y"}), &f.with({"y", "x"}));
}

TEST(MetricsRegistry, ValueSetsPastTheLimitShareOneChildLabelledOther) {
  Registry r;
  auto& f = r.counter("c_total", "x", {"route"}, 2);
  f.with({"a"}).inc();
  f.with({"b"}).inc();
  f.with({"c"}).inc();
  f.with({"d"}).inc(2);
  f.with({"a"}).inc();
  EXPECT_EQ(render(r),
            "# HELP c_total x\n# TYPE c_total counter\n"
            "c_total{route=\"a\"} 2\nc_total{route=\"b\"} 1\nc_total{route=\"other\"} 3\n");
}

TEST(MetricsConcurrency, ConcurrentUpdatesAndChildCreationLoseNothing) {
  Registry r;
  auto& counter = r.counter("c_total", "x", {"route", "status"});
  auto& histogram = r.histogram("h_seconds", "x", {"route"}, latency_bounds_seconds());
  constexpr int kThreads = 8;
  constexpr int kPerThread = 20000;
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      while (!go) std::this_thread::yield();
      for (int i = 0; i < kPerThread; ++i) {
        // 16 routes created by whichever thread comes first, plus one per thread.
        const std::string route = "/r" + std::to_string(i % 16);
        counter.with({route, "200"}).inc();
        counter.with({"/own" + std::to_string(t), "500"}).inc();
        histogram.with({route}).observe((i % 7) * 0.001);
      }
    });
  }
  go = true;
  for (auto& th : threads) th.join();
  const std::string text = render(r);
  for (int k = 0; k < 16; ++k) {
    const std::string route = "/r" + std::to_string(k);
    EXPECT_EQ(counter.with({route, "200"}).value(), uint64_t{kThreads * kPerThread / 16}) << route;
    const auto s = histogram.with({route}).snapshot();
    EXPECT_EQ(s.cumulative.back(), uint64_t{kThreads * kPerThread / 16}) << route;
    for (size_t i = 1; i < s.cumulative.size(); ++i) EXPECT_LE(s.cumulative[i - 1], s.cumulative[i]);
    const std::string line = "c_total{route=\"" + route + "\",status=\"200\"} ";
    EXPECT_EQ(text.find(line), text.rfind(line)) << "one child per label set: " << route;
  }
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_EQ(counter.with({"/own" + std::to_string(t), "500"}).value(), uint64_t{kPerThread});
  }
}

TEST(MetricsConcurrency, RenderingWhileUpdatingShowsCumulativeBuckets) {
  Registry r;
  auto& h = r.histogram("h_seconds", "x", {}, {1, 2, 3});
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    for (uint64_t i = 0; !stop; ++i) h.with().observe(static_cast<double>(i % 4) + 0.5);
  });
  for (int i = 0; i < 200; ++i) {
    const auto s = h.with().snapshot();
    for (size_t k = 1; k < s.cumulative.size(); ++k) ASSERT_LE(s.cumulative[k - 1], s.cumulative[k]);
    render(r);
  }
  stop = true;
  writer.join();
}

TEST(ServiceMetrics, FailedStoreCallsAreCountedAsSqlErrors) {
  const auto sql_errors = [] { return service_metrics().store_errors.with({"sql"}).value(); };
  const std::string path = ::testing::TempDir() + "metrics_store_errors.db";
  const auto db = sqlite::open_database(path);
  const uint64_t before = sql_errors();
  EXPECT_THROW(sqlite::exec(db.get(), "SELECT * FROM no_such_table"), std::runtime_error);
  EXPECT_THROW(sqlite::Statement(db.get(), "NOT SQL AT ALL"), std::runtime_error);
  EXPECT_EQ(sql_errors(), before + 2);
  std::remove(path.c_str());
}

}  // namespace
}  // namespace contacts::metrics

namespace contacts::api {
namespace {

using namespace contacts::http::testing;

// Reads what was written to a temporary FILE*.
std::string contents(std::FILE* f) {
  std::fflush(f);
  std::rewind(f);
  std::string out;
  char buf[4096];
  for (size_t n; (n = std::fread(buf, 1, sizeof buf, f)) > 0;) out.append(buf, n);
  return out;
}

uint64_t requests(std::string_view method, std::string_view route, std::string_view status) {
  return metrics::service_metrics().http_requests.with({method, route, status}).value();
}

uint64_t latency_count(std::string_view route) {
  return metrics::service_metrics().http_request_duration.with({route}).snapshot().cumulative.back();
}

TEST(Telemetry, RecordCountsTheRouteAndWritesOneAccessLine) {
  std::FILE* log = std::tmpfile();
  ASSERT_NE(log, nullptr);
  auto telemetry = std::make_unique<Telemetry>(true, ScrapeSources{}, log);
  http::Request request;
  request.method = "GET";
  request.path = "/api/contacts/12/";
  request.query = "search=ada@example.com";
  request.headers = {{"authorization", "Bearer header.payload.signature"}};
  http::Response response;
  response.status = 200;
  response.body = "{}";
  response.set_header("X-Request-Id", "req-1");
  response.set_header("X-Cache-Hit", "true");
  const uint64_t before = requests("GET", "/api/contacts/{id}/", "200");
  const uint64_t latency_before = latency_count("/api/contacts/{id}/");
  telemetry->record({&request, response, std::chrono::microseconds(1500), 2},
                    "/api/contacts/{id}/");
  EXPECT_EQ(requests("GET", "/api/contacts/{id}/", "200"), before + 1);
  EXPECT_EQ(latency_count("/api/contacts/{id}/"), latency_before + 1);

  telemetry.reset();  // writes what is pending
  const std::string text = contents(log);
  std::fclose(log);
  ASSERT_EQ(std::count(text.begin(), text.end(), '\n'), 1) << text;
  const auto line = nlohmann::json::parse(text);
  EXPECT_EQ(line["level"], "info");
  EXPECT_EQ(line["msg"], "request");
  EXPECT_EQ(line["request_id"], "req-1");
  EXPECT_EQ(line["method"], "GET");
  EXPECT_EQ(line["route"], "/api/contacts/{id}/");
  EXPECT_EQ(line["path"], "/api/contacts/12/");
  EXPECT_EQ(line["status"], 200);
  EXPECT_DOUBLE_EQ(line["duration_ms"].get<double>(), 1.5);
  EXPECT_EQ(line["bytes"], 2);
  EXPECT_EQ(line["cache_hit"], true);
  const std::string ts = line["ts"];
  EXPECT_TRUE(ts.size() >= 20 && ts[4] == '-' && ts[10] == 'T' && ts.back() == 'Z') << ts;
  EXPECT_EQ(text.find("ada@example.com"), std::string::npos) << "no query string";
  EXPECT_EQ(text.find("signature"), std::string::npos) << "no headers";
}

TEST(Telemetry, AccessLogOffWritesNothingButStillCounts) {
  std::FILE* log = std::tmpfile();
  ASSERT_NE(log, nullptr);
  http::Response response;
  response.status = 400;
  const uint64_t before = requests("other", "unmatched", "400");
  {
    const Telemetry telemetry(false, {}, log);
    telemetry.record({nullptr, response, std::chrono::milliseconds(1), 0}, "unmatched");
  }
  EXPECT_EQ(requests("other", "unmatched", "400"), before + 1);
  EXPECT_EQ(contents(log), "");
  std::fclose(log);
}

TEST(Telemetry, UnknownMethodsAreCountedAsOther) {
  const Telemetry telemetry(false, {});
  http::Request request;
  request.method = "BREW";
  http::Response response;
  response.status = 405;
  const uint64_t before = requests("other", "/", "405");
  telemetry.record({&request, response, std::chrono::milliseconds(1), 0}, "/");
  EXPECT_EQ(requests("other", "/", "405"), before + 1);
}

TEST(Telemetry, MetricsAnswerIsTheTextFormat) {
  const Telemetry telemetry(false, {});
  const http::Response r = telemetry.metrics_response();
  EXPECT_EQ(r.status, 200);
  ASSERT_NE(r.header("Content-Type"), nullptr);
  EXPECT_EQ(*r.header("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
  for (const char* name : {"contacts_http_requests_total", "contacts_store_errors_total",
                           "contacts_cache_lookups_total", "contacts_import_rows_total",
                           "process_start_time_seconds", "process_resident_memory_bytes"}) {
    EXPECT_NE(r.body.find(std::string("# TYPE ") + name + " "), std::string::npos) << name;
  }
  EXPECT_EQ(r.body.back(), '\n');
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST(BufferedLineWriter, LinesFromManyThreadsArriveWholeAndInOrderWithinATimeLimit) {
  const std::string path = ::testing::TempDir() + "buffered_line_writer_test.log";
  std::remove(path.c_str());
  std::FILE* out = std::fopen(path.c_str(), "ab");
  ASSERT_NE(out, nullptr);
  constexpr int kThreads = 4;
  constexpr int kLines = 5000;
  {
    BufferedLineWriter writer(out, std::chrono::milliseconds(20), 4096);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&writer, t] {
        for (int i = 0; i < kLines; ++i) {
          writer.write("thread " + std::to_string(t) + " line " + std::to_string(i) + "\n");
        }
      });
    }
    for (auto& th : threads) th.join();
    writer.write("last\n");
    // The background flush writes it without any further write() or the destructor.
    bool seen = false;
    for (int i = 0; i < 200 && !seen; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      const std::string text = read_file(path);
      seen = text.size() >= 5 && text.compare(text.size() - 5, 5, "last\n") == 0;
    }
    EXPECT_TRUE(seen);
  }
  std::fclose(out);
  const std::string text = read_file(path);
  std::remove(path.c_str());
  std::vector<int> next(kThreads, 0);
  size_t lines = 0;
  for (size_t pos = 0; pos < text.size();) {
    const size_t end = text.find('\n', pos);
    ASSERT_NE(end, std::string::npos);
    const std::string line = text.substr(pos, end - pos);
    pos = end + 1;
    ++lines;
    if (line == "last") continue;
    int t = -1, i = -1;
    ASSERT_EQ(std::sscanf(line.c_str(), "thread %d line %d", &t, &i), 2) << line;
    ASSERT_TRUE(t >= 0 && t < kThreads) << line;
    ASSERT_EQ(i, next[t]) << "thread " << t << "'s lines out of order or torn";
    ++next[t];
  }
  EXPECT_EQ(lines, size_t{kThreads * kLines + 1});
}

// What ServerOptions::on_exchange reported: (parsed, path, status, body bytes, duration ns).
class ExchangeLog {
 public:
  using Entry = std::tuple<bool, std::string, int, uint64_t, int64_t>;
  // Server options that record every exchange here.
  static http::ServerOptions recording(const std::shared_ptr<ExchangeLog>& log) {
    http::ServerOptions options = TestServer::small_limits();
    options.on_exchange = [log](const http::Exchange& e) {
      const std::lock_guard lock(log->mutex_);
      log->seen_.emplace_back(e.request != nullptr, e.request ? e.request->path : "",
                              e.response.status, e.body_bytes, e.duration.count());
    };
    return options;
  }
  // What was reported once `count` exchanges were (or 5 s passed): an answer is reported once
  // written, which may be a moment after the client has it.
  std::vector<Entry> wait_for(size_t count) {
    for (int i = 0; i < 500; ++i) {
      {
        const std::lock_guard lock(mutex_);
        if (seen_.size() >= count) break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    const std::lock_guard lock(mutex_);
    return seen_;
  }

 private:
  std::mutex mutex_;
  std::vector<Entry> seen_;
};

// The server reports every answer it writes, its own error answers included.

TEST(HttpServerExchange, EveryAnswerIsReportedWithStatusBodyBytesAndDuration) {
  auto log = std::make_shared<ExchangeLog>();
  TestServer server(ExchangeLog::recording(log));
  Client client(server.port());
  client.send(get("/hello?x=1"));
  const ParsedResponse ok = client.read_response();
  client.send("HEAD /hello HTTP/1.1\r\nHost: test\r\n\r\n");
  client.read_response(/*head_request=*/true);
  client.send(get("/status?204"));
  client.read_response();
  client.send("GARBAGE\r\n\r\n");
  client.read_response();
  const auto seen = log->wait_for(4);
  ASSERT_EQ(seen.size(), 4u);
  EXPECT_EQ(seen[0], std::make_tuple(true, std::string("/hello"), 200, uint64_t{ok.body.size()},
                                     std::get<4>(seen[0])));
  EXPECT_GT(std::get<4>(seen[0]), 0);
  EXPECT_EQ(std::get<3>(seen[1]), 0u) << "HEAD writes no body";
  EXPECT_EQ(std::get<2>(seen[2]), 204);
  EXPECT_EQ(std::get<3>(seen[2]), 0u);
  EXPECT_FALSE(std::get<0>(seen[3])) << "an unparsable head has no request";
  EXPECT_EQ(std::get<2>(seen[3]), 400);
}

// Pieces of 1000 bytes; the fill of piece `throw_at` (from 1) throws instead.
class PieceSource final : public http::BodySource {
 public:
  PieceSource(int pieces, int throw_at) : pieces_(pieces), throw_at_(throw_at) {}
  bool fill(std::string& out, size_t) override {
    if (++served_ == throw_at_) throw std::runtime_error("the store went away");
    out.assign(1000, 'x');
    return served_ < pieces_;
  }

 private:
  const int pieces_, throw_at_;
  int served_ = 0;
};

TEST(HttpServerExchange, StreamedAnswersCountTheirPayloadAndAreReportedWhenCutOff) {
  auto log = std::make_shared<ExchangeLog>();
  TestServer server(ExchangeLog::recording(log), [](const http::Request& request) {
    http::Response response;
    response.set_header("Content-Type", "text/csv");
    response.body_source =
        std::make_unique<PieceSource>(3, request.path == "/broken" ? 2 : 0);
    return response;
  });
  size_t answers = 0;
  for (const char* path : {"/stream", "/broken"}) {
    Client client(server.port());
    client.send(get(path));
    log->wait_for(++answers);  // one connection at a time: the reports come in this order
  }
  const auto seen = log->wait_for(2);
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(std::get<1>(seen[0]), "/stream");
  EXPECT_EQ(std::get<3>(seen[0]), 3000u) << "payload only, not the chunk framing";
  EXPECT_EQ(std::get<1>(seen[1]), "/broken");
  EXPECT_EQ(std::get<3>(seen[1]), 1000u) << "what was written before the source failed";
}

}  // namespace
}  // namespace contacts::api
