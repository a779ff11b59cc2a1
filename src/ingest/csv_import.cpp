#include "ingest/csv_import.h"

#include <optional>
#include <string_view>
#include <vector>

#include "ingest/csv_reader.h"
#include "ingest/errors_file.h"
#include "ingest/header_mapping.h"
#include "ingest/row_validation.h"
#include "util/text.h"

namespace contacts::ingest {
namespace {

constexpr std::string_view kNoHeader = "The file has no header row.";
constexpr std::string_view kNoUsableHeader =
    "No usable header: none of the columns matches a known contact field.";

// A record that is one empty field: a line of spaces or a lone "" (blank lines proper never
// reach us, libcsv skips them).
bool is_blank(const std::vector<std::string_view>& fields) {
  return fields.size() == 1 && text::trim(fields[0]).empty();
}

// One run of import_csv: reads records, validates them, commits batches and keeps counters.
class ImportRun {
 public:
  ImportRun(const std::string& path, BatchSink& sink, const ImportOptions& options)
      : reader_(path),
        sink_(sink),
        options_(options),
        batch_size_(options.batch_size == 0 ? 1 : options.batch_size),
        counters_(options.resume_from),
        committed_(options.resume_from) {}

  ImportResult run() {
    ImportResult result;
    try {
      if (read_header()) {
        import_rows();
      } else {
        result.failure_reason = failure_;
      }
    } catch (const CsvFormatError& e) {
      result.failure_reason = e.what();
      commit_pending();
    }
    result.failed = !result.failure_reason.empty();
    result.counters = counters_;
    return result;
  }

 private:
  // Maps the first record; false (with failure_ set) when there is none or it maps no field.
  bool read_header() {
    while (reader_.next(fields_)) {
      if (is_blank(fields_)) continue;
      header_ = map_header(fields_);
      if (!header_.maps_any_field()) {
        failure_ = kNoUsableHeader;
        return false;
      }
      errors_.emplace(options_.errors_path,
                      std::vector<std::string>(fields_.begin(), fields_.end()),
                      options_.resume_from.errors_file_bytes);
      return true;
    }
    failure_ = kNoHeader;
    return false;
  }

  void import_rows() {
    uint64_t to_skip = options_.resume_from.total_rows;
    batch_.reserve(batch_size_);
    while (reader_.next(fields_)) {
      if (is_blank(fields_)) continue;
      if (to_skip > 0) {
        --to_skip;
        continue;
      }
      import_row();
    }
    commit_pending();
  }

  void import_row() {
    RowVerdict verdict = validate_row(header_, fields_);
    ++counters_.total_rows;
    if (verdict.ok()) {
      ++counters_.success;
      batch_.push_back(std::move(verdict.values));
      if (batch_.size() >= batch_size_) commit();
    } else {
      ++counters_.errors;
      errors_->append(fields_, verdict.error);
    }
  }

  // Commits the rows and counters not committed yet, if any.
  void commit_pending() {
    if (!batch_.empty() || counters_.total_rows != committed_.total_rows) commit();
  }

  void commit() {
    if (errors_) counters_.errors_file_bytes = errors_->checkpoint();
    sink_.commit(batch_, counters_);
    committed_ = counters_;
    batch_.clear();
    if (options_.on_progress) options_.on_progress(counters_, reader_.bytes_read());
  }

  CsvRecordReader reader_;
  BatchSink& sink_;
  const ImportOptions& options_;
  const size_t batch_size_;
  ImportCounters counters_;
  ImportCounters committed_;
  HeaderMapping header_;
  std::optional<ErrorsFile> errors_;
  std::vector<std::string_view> fields_;
  std::vector<ContactValues> batch_;
  std::string failure_;
};

}  // namespace

ImportResult import_csv(const std::string& path, BatchSink& sink, const ImportOptions& options) {
  return ImportRun(path, sink, options).run();
}

}  // namespace contacts::ingest
