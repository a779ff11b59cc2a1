// The standard process metrics (as Prometheus' client libraries name them), read at scrape time.
#pragma once

#include "metrics/registry.h"

namespace contacts::metrics {

// Writes process_start_time_seconds, process_cpu_seconds_total, process_resident_memory_bytes
// and process_open_fds (from /proc; a value that cannot be read is left out). Thread-safe.
void write_process_metrics(TextWriter& out);

}  // namespace contacts::metrics
