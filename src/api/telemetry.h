// What operators watch: per-request metrics and the JSON access log, and GET /metrics.
#pragma once

#include <cstdio>
#include <memory>
#include <string_view>

#include "api/freshness.h"
#include "http/server.h"
#include "store/store.h"
#include "util/line_writer.h"

namespace contacts::index {
class IndexReader;
class Refresher;
}  // namespace contacts::index

namespace contacts::api {

// What /metrics reads when it is scraped; any may be null (its gauges are then left out).
struct ScrapeSources {
  const Store* store = nullptr;               // import jobs by state
  const index::IndexReader* index = nullptr;  // rows and data_version of the read index
  const Freshness* freshness = nullptr;       // the published data_version
  const index::Refresher* refresher = nullptr;  // compactions of the read index
};

// Thread-safe.
class Telemetry {
 public:
  // With `access_log`, each answered request writes one JSON line to `log`, in batches (every
  // 100 ms and on destruction; see BufferedLineWriter).
  Telemetry(bool access_log, ScrapeSources sources, std::FILE* log = stderr);

  // One answered request (http::ServerOptions::on_exchange): counted under `route`, its route
  // template ("unmatched" when no route matched), with its latency, then logged. Never throws.
  void record(const http::Exchange& exchange, std::string_view route) const;

  // GET /metrics: metrics::process_registry(), the process basics and the gauges read from
  // the sources now, in the text exposition format 0.0.4.
  http::Response metrics_response() const;

 private:
  void write_access_line(const http::Exchange& exchange, std::string_view route) const;
  const ScrapeSources sources_;
  std::unique_ptr<BufferedLineWriter> access_log_;  // null when the access log is off
};

// Content-Type of the text exposition format.
inline constexpr std::string_view kMetricsContentType = "text/plain; version=0.0.4; charset=utf-8";

}  // namespace contacts::api
