// `contacts-api import FILE`: the CSV import into a Store, with a terminal progress bar.
#pragma once

#include <memory>
#include <string>

#include "ingest/csv_import.h"
#include "store/store.h"

namespace contacts::ingest {

// Writes each batch to `store` (upsert by email). No job checkpoint: a command-line import
// that is interrupted is simply run again (the upsert makes that safe).
class StoreSink final : public BatchSink {
 public:
  explicit StoreSink(Store& store, const BulkImportHint& hint = {})
      : bulk_(store.begin_bulk_import(hint)) {}
  void commit(std::span<const ContactValues> rows, const ImportCounters& after) override;
  // After the last batch: the store's indexes are whole again.
  void finish() { bulk_->finish(); }
  uint64_t inserted() const { return inserted_; }
  uint64_t updated() const { return updated_; }

 private:
  std::unique_ptr<BulkImport> bulk_;
  uint64_t inserted_ = 0;
  uint64_t updated_ = 0;
};

// Redraws the progress line on stderr: a bar of `done` out of `total`, the rows, rows/s and
// the time left. For terminals only (it starts with '\r').
void draw_progress(uint64_t done, uint64_t total, uint64_t rows, double seconds);

// Imports `path` into `store`, showing progress on stderr when it is a terminal. Returns the
// result; prints a summary on stdout when `print_summary`.
ImportResult import_file(Store& store, const std::string& path, const std::string& errors_path,
                         bool print_summary, bool formula_guard = false);

}  // namespace contacts::ingest
