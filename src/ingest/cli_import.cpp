#include "ingest/cli_import.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>

#include "util/time.h"

namespace contacts::ingest {

void StoreSink::commit(std::span<const ContactValues> rows, const ImportCounters&) {
  if (rows.empty()) return;
  const UpsertCounts c = bulk_->upsert_batch(rows, timeutil::now_us());
  inserted_ += c.inserted;
  updated_ += c.updated;
}

void draw_progress(uint64_t done, uint64_t total, uint64_t rows, double seconds) {
  const double frac = total ? std::min(1.0, static_cast<double>(done) / total) : 1.0;
  const double rate = seconds > 0 ? rows / seconds : 0;
  const double eta = frac > 0 ? seconds * (1 - frac) / frac : 0;
  constexpr int kWidth = 30;
  const int filled = static_cast<int>(frac * kWidth);
  std::string bar(filled, '#');
  bar.append(kWidth - filled, '.');
  std::fprintf(stderr, "\r[%s] %5.1f%%  %llu rows  %.0f rows/s  ETA %.0fs   ", bar.c_str(),
               frac * 100, static_cast<unsigned long long>(rows), rate, eta);
  std::fflush(stderr);
}

ImportResult import_file(Store& store, const std::string& path, const std::string& errors_path,
                         bool print_summary, bool formula_guard) {
  const uint64_t total_bytes = std::filesystem::file_size(path);
  StoreSink sink(store, BulkImportHint::for_file_bytes(total_bytes));
  ImportOptions options;
  options.errors_path = errors_path;
  options.formula_guard = formula_guard;
  const bool tty = isatty(STDERR_FILENO) == 1;
  const auto start = std::chrono::steady_clock::now();
  auto elapsed = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  if (tty) {
    options.on_progress = [&](const ImportCounters& c, uint64_t bytes) {
      draw_progress(bytes, total_bytes, c.total_rows, elapsed());
    };
  }
  ImportResult result = import_csv(path, sink, options);
  sink.finish();
  if (tty) std::fprintf(stderr, "\n");
  if (print_summary) {
    const double secs = elapsed();
    const auto& c = result.counters;
    if (result.failed) std::printf("import failed: %s\n", result.failure_reason.c_str());
    std::printf("imported %llu rows in %.2f s (%.0f rows/s): %llu new, %llu updated\n",
                static_cast<unsigned long long>(c.success), secs, secs > 0 ? c.total_rows / secs : 0.0,
                static_cast<unsigned long long>(sink.inserted()),
                static_cast<unsigned long long>(sink.updated()));
    if (c.errors > 0) std::printf("errors_file=%s\n", errors_path.c_str());
    std::printf("total_rows=%llu success=%llu errors=%llu\n",
                static_cast<unsigned long long>(c.total_rows),
                static_cast<unsigned long long>(c.success),
                static_cast<unsigned long long>(c.errors));
  }
  return result;
}

}  // namespace contacts::ingest
