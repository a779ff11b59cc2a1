#include "ingest/csv_import.h"

#include <array>
#include <optional>
#include <string_view>
#include <vector>

#include "ingest/csv_reader.h"
#include "ingest/errors_file.h"
#include "ingest/header_mapping.h"
#include "ingest/row_validation.h"
#include "util/text.h"
#include "util/worker_thread.h"

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
        handed_(options.resume_from) {}

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
                      options_.resume_from.errors_file_bytes, options_.formula_guard);
      return true;
    }
    failure_ = kNoHeader;
    return false;
  }

  void import_rows() {
    uint64_t to_skip = options_.resume_from.total_rows;
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
    std::vector<ContactValues>& batch = batches_[filling_];
    if (filled_ == batch.size()) batch.emplace_back();
    ContactValues& row = batch[filled_];
    std::string error = validate_row_into(header_, fields_, row);
    ++counters_.total_rows;
    if (error.empty()) {
      ++counters_.success;
      if (++filled_ >= batch_size_) commit();
    } else {
      ++counters_.errors;
      errors_->append(fields_, error);
    }
  }

  // Commits the rows and counters not handed to the sink yet, if any, and waits for it.
  void commit_pending() {
    if (filled_ > 0 || counters_.total_rows != handed_.total_rows) commit();
    finish_commit();
  }

  // Hands the batch being filled to the writer thread, which commits it while this thread
  // parses the next one (after waiting for the commit before: one batch in flight).
  void commit() {
    if (errors_) counters_.errors_file_bytes = errors_->checkpoint();
    finish_commit();
    const std::span<const ContactValues> rows(batches_[filling_].data(), filled_);
    handed_ = counters_;
    writer_.post([this, rows, after = counters_] { sink_.commit(rows, after); });
    in_flight_ = true;
    filling_ ^= 1;
    filled_ = 0;
  }

  // Waits for the batch in flight, if any (rethrowing what the sink threw), and reports it.
  void finish_commit() {
    if (!in_flight_) return;
    in_flight_ = false;
    writer_.wait();
    if (options_.on_progress) options_.on_progress(handed_, reader_.bytes_read());
  }

  CsvRecordReader reader_;
  BatchSink& sink_;
  const ImportOptions& options_;
  const size_t batch_size_;
  ImportCounters counters_;
  HeaderMapping header_;
  std::optional<ErrorsFile> errors_;
  std::vector<std::string_view> fields_;
  std::string failure_;
  // Two batches: one filled here, one committed by writer_. Their rows keep their strings'
  // memory from batch to batch.
  std::array<std::vector<ContactValues>, 2> batches_;
  size_t filling_ = 0;  // which batch is being filled
  size_t filled_ = 0;   // its rows so far
  ImportCounters handed_;  // the counters handed to the sink with the last batch
  bool in_flight_ = false;
  WorkerThread writer_{"import-write"};  // last: joined before the batches it reads are destroyed
};

}  // namespace

ImportResult import_csv(const std::string& path, BatchSink& sink, const ImportOptions& options) {
  return ImportRun(path, sink, options).run();
}

}  // namespace contacts::ingest
