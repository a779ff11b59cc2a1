#include "api/telemetry.h"

#include <charconv>
#include <cstdio>

#include "index/index_reader.h"
#include "index/refresher.h"
#include "metrics/process_stats.h"
#include "metrics/service_metrics.h"
#include "util/json_writer.h"
#include "util/time.h"

namespace contacts::api {
namespace {

// Bounds on what a client controls in a log line.
constexpr size_t kMaxLoggedPath = 512;
constexpr size_t kMaxLoggedMethod = 32;
// One write(2) per batch instead of one per request: a write is a good part of a cached read.
constexpr std::chrono::milliseconds kAccessLogInterval{100};

std::string_view status_text(int status, char (&buf)[12]) {
  return {buf, std::to_chars(buf, buf + sizeof buf, status).ptr};
}

// Import jobs by state, and whether the store answered that question.
void write_job_gauges(metrics::TextWriter& out, const Store& store) {
  bool up = true;
  JobCounts jobs;
  try {
    jobs = store.count_jobs();
  } catch (const std::exception&) {
    up = false;  // counted in contacts_store_errors_total; the rest of the page still shows
  }
  out.family("contacts_store_up", "1 when the store answered this scrape's query, else 0.",
             "gauge");
  out.sample("contacts_store_up").value(uint64_t{up ? 1u : 0u});
  if (!up) return;
  out.family("contacts_import_jobs",
             "Import jobs by state, read from the store at scrape time (the whole fleet's).",
             "gauge");
  const std::pair<const char*, uint64_t> states[] = {{"queued", jobs.pending},
                                                     {"running", jobs.running},
                                                     {"completed", jobs.completed},
                                                     {"failed", jobs.failed}};
  for (const auto& [state, n] : states) out.sample("contacts_import_jobs").label("state", state).value(n);
}

}  // namespace

Telemetry::Telemetry(bool access_log, ScrapeSources sources, std::FILE* log)
    : sources_(sources),
      access_log_(access_log ? std::make_unique<BufferedLineWriter>(log, kAccessLogInterval)
                             : nullptr) {
  metrics::service_metrics();  // registered before the first scrape
}

void Telemetry::record(const http::Exchange& exchange, std::string_view route) const {
  try {
    const auto& m = metrics::service_metrics();
    char buf[12];
    const std::string_view method =
        exchange.request ? metrics::method_label(exchange.request->method) : "other";
    m.http_requests.with({method, route, status_text(exchange.response.status, buf)}).inc();
    m.http_request_duration.with({route}).observe(
        std::chrono::duration<double>(exchange.duration).count());
    if (access_log_) write_access_line(exchange, route);
  } catch (const std::exception&) {
    // Out of memory at worst: the request was answered, only its record is lost.
  }
}

void Telemetry::write_access_line(const http::Exchange& exchange, std::string_view route) const {
  const http::Request* request = exchange.request;
  const http::Response& response = exchange.response;
  const std::string* request_id = response.header("X-Request-Id");
  const std::string* cache_hit = response.header("X-Cache-Hit");
  char duration_ms[32];
  const auto duration_end =
      std::to_chars(duration_ms, duration_ms + sizeof duration_ms,
                    std::chrono::duration<double, std::milli>(exchange.duration).count(),
                    std::chars_format::fixed, 3)
          .ptr;
  std::string line;
  line.reserve(320);
  JsonWriter w(line);
  w.begin_object()
      .field("ts", std::string_view(timeutil::format_rfc3339(timeutil::now_us())))
      .field("level", "info")
      .field("msg", "request")
      .key("request_id");
  if (request_id) w.value(std::string_view(*request_id)); else w.null();
  w.key("method");
  if (request) w.value(std::string_view(request->method).substr(0, kMaxLoggedMethod)); else w.null();
  w.field("route", route).key("path");
  if (request) w.value(std::string_view(request->path).substr(0, kMaxLoggedPath)); else w.null();
  w.field("status", response.status)
      .key("duration_ms")
      .raw(std::string_view(duration_ms, duration_end - duration_ms))
      .field("bytes", exchange.body_bytes)
      .field("cache_hit", cache_hit != nullptr && *cache_hit == "true")
      .end_object();
  line += '\n';
  access_log_->write(line);
}

http::Response Telemetry::metrics_response() const {
  std::string body;
  body.reserve(16 * 1024);
  metrics::TextWriter out(body);
  metrics::process_registry().render(out);
  metrics::write_process_metrics(out);
  if (sources_.index) {
    const auto snapshot = sources_.index->snapshot();
    out.family("contacts_index_rows", "Contacts in the in-memory read index.", "gauge");
    out.sample("contacts_index_rows").value(uint64_t{snapshot->rows});
    out.family("contacts_index_data_version", "The store data_version the read index shows.",
               "gauge");
    out.sample("contacts_index_data_version").value(snapshot->data_version);
    out.family("contacts_index_parts",
               "Segments the read index stacks: its base and the deltas since, until a "
               "compaction merges them.",
               "gauge");
    out.sample("contacts_index_parts").value(uint64_t{snapshot->parts.size()});
  }
  if (sources_.refresher) {
    out.family("contacts_index_compactions_total",
               "Compactions of the read index's deltas into a new base.", "counter");
    out.sample("contacts_index_compactions_total").value(sources_.refresher->compactions());
    out.family("contacts_index_compactions_stopped_total",
               "Compactions given up because an import started or wrote while they ran (each "
               "runs again once writes settle).",
               "counter");
    out.sample("contacts_index_compactions_stopped_total")
        .value(sources_.refresher->compactions_stopped());
    out.family("contacts_index_compaction_pending",
               "1 while a compaction runs or waits for writes to settle, else 0.", "gauge");
    out.sample("contacts_index_compaction_pending")
        .value(uint64_t{sources_.refresher->compaction_pending() ? 1u : 0u});
  }
  if (sources_.freshness) {
    out.family("contacts_published_data_version",
               "The newest data_version finished imports made visible; no read shows older data.",
               "gauge");
    out.sample("contacts_published_data_version").value(sources_.freshness->published());
  }
  if (sources_.store) write_job_gauges(out, *sources_.store);
  http::Response r;
  r.status = 200;
  r.body = std::move(body);
  r.set_header("Content-Type", std::string(kMetricsContentType));
  return r;
}

}  // namespace contacts::api
