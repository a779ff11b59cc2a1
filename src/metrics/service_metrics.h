// The metrics this service keeps, in process_registry(): one place for their names, labels
// and meaning (docs/operations.md lists them for operators).
#pragma once

#include <cstdint>
#include <string_view>

#include "metrics/registry.h"

namespace contacts::metrics {

struct ServiceMetrics {
  // contacts_http_requests_total{method, route, status}: answered requests. `route` is the
  // route template (e.g. "/api/contacts/{id}/"), "unmatched" when no route matched.
  Family<Counter>& http_requests;
  // contacts_http_request_duration_seconds{route}: from the request head read to the last
  // byte of the answer written.
  Family<Histogram>& http_request_duration;
  // contacts_cache_lookups_total{endpoint, result}: response cache lookups of the read
  // endpoints (list, count, field, analytics); result hit, miss or bypass (Cache-Control:
  // no-cache).
  Family<Counter>& cache_lookups;
  // contacts_import_rows_total{result}: rows this process's import workers committed
  // (success) or wrote to an errors file (error).
  Family<Counter>& import_rows;
  // contacts_store_errors_total{kind}: failed calls to the store (SQLite or PostgreSQL, read
  // replicas included); kind "unavailable" (the database could not be reached:
  // StoreUnavailable) or "sql" (a statement failed).
  Family<Counter>& store_errors;
  // contacts_analytics_engine_failures_total{engine, reason}: analytics answered from the store
  // because the configured engine (spark, hadoop) failed; reason timeout, unavailable,
  // malformed, error or busy (analytics/engine.h).
  Family<Counter>& analytics_engine_failures;
};

// Registered on first use; thread-safe.
const ServiceMetrics& service_metrics();

enum class StoreErrorKind { unavailable, sql };
// Counts one failed store call. Never throws.
void count_store_error(StoreErrorKind kind) noexcept;

// Counts one analytics engine failure. Never throws.
void count_analytics_engine_failure(std::string_view engine, std::string_view reason) noexcept;

// "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS" as they are; any other method is
// "other", so that clients cannot add label values at will.
std::string_view method_label(std::string_view method);

}  // namespace contacts::metrics
