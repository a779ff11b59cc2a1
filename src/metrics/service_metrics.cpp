#include "metrics/service_metrics.h"

namespace contacts::metrics {
namespace {

ServiceMetrics register_service_metrics(Registry& r) {
  ServiceMetrics m{
      r.counter("contacts_http_requests_total", "HTTP requests answered, by route template.",
                {"method", "route", "status"}),
      r.histogram("contacts_http_request_duration_seconds",
                  "Time from the request head read to the last byte of the answer written.",
                  {"route"}, latency_bounds_seconds(), 128),
      r.counter("contacts_cache_lookups_total",
                "Response cache lookups of the read endpoints: hit, miss, or bypass "
                "(Cache-Control: no-cache).",
                {"endpoint", "result"}, 64),
      r.counter("contacts_import_rows_total",
                "CSV rows imported by this process's workers: success (committed) or error.",
                {"result"}, 4),
      r.counter("contacts_store_errors_total",
                "Failed store calls: unavailable (the database could not be reached) or sql.",
                {"kind"}, 4),
      r.counter("contacts_analytics_engine_failures_total",
                "Analytics answered from the store because the engine (spark, hadoop) failed: "
                "timeout, unavailable, malformed, error or busy.",
                {"engine", "reason"}, 16),
  };
  // Series that exist from the start, so that rates and alerts never see them missing.
  for (const char* endpoint : {"list", "count", "field", "analytics"}) {
    for (const char* result : {"hit", "miss", "bypass"}) m.cache_lookups.with({endpoint, result});
  }
  m.import_rows.with({"success"});
  m.import_rows.with({"error"});
  m.store_errors.with({"unavailable"});
  m.store_errors.with({"sql"});
  return m;
}

}  // namespace

const ServiceMetrics& service_metrics() {
  static const ServiceMetrics metrics = register_service_metrics(process_registry());
  return metrics;
}

void count_store_error(StoreErrorKind kind) noexcept {
  try {
    service_metrics().store_errors.with({kind == StoreErrorKind::unavailable ? "unavailable" : "sql"}).inc();
  } catch (...) {
    // Counting must never turn one error into another.
  }
}

void count_analytics_engine_failure(std::string_view engine, std::string_view reason) noexcept {
  try {
    service_metrics().analytics_engine_failures.with({engine, reason}).inc();
  } catch (...) {
    // Counting must never turn one error into another.
  }
}

std::string_view method_label(std::string_view method) {
  for (std::string_view known : {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}) {
    if (method == known) return known;
  }
  return "other";
}

}  // namespace contacts::metrics
