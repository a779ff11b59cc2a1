// Streaming CSV import: header mapping, row validation, batching and the errors CSV.
// The same code path serves `contacts-api import FILE` and (later) HTTP import jobs.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>

#include "model/contact.h"

namespace contacts::ingest {

// Counters of one import. total_rows = success + errors (data rows seen; blank lines are
// not counted). errors_file_bytes is the size of the errors CSV after the rows counted here.
struct ImportCounters {
  uint64_t total_rows = 0;
  uint64_t success = 0;
  uint64_t errors = 0;
  uint64_t errors_file_bytes = 0;
};

// Receives validated rows in batches. commit() must make the batch durable together with
// `after` (the counters once the batch is in): a resumed import restarts from the last
// committed counters, so every row is imported exactly once.
class BatchSink {
 public:
  virtual ~BatchSink() = default;
  virtual void commit(std::span<const ContactValues> rows, const ImportCounters& after) = 0;
};

struct ImportOptions {
  size_t batch_size = 20000;
  std::string errors_path;     // errors CSV; created only when a row fails
  bool formula_guard = false;  // its risky cells get a leading apostrophe
  ImportCounters resume_from;  // zero for a fresh import; the last committed counters to resume
  // Called after each commit with the counters so far and the bytes of input read.
  std::function<void(const ImportCounters&, uint64_t bytes_read)> on_progress;
};

struct ImportResult {
  ImportCounters counters;
  bool failed = false;         // the whole file was rejected (e.g. no usable header)
  std::string failure_reason;  // why, in words fit for a client
};

// Imports the CSV at `path`. Rows failing validation go to the errors CSV (original header
// plus an `error` column). Throws std::runtime_error when the file cannot be read.
//
// The first non-blank record is the header; blank lines are never counted. Valid rows reach
// the sink in batches of options.batch_size; before each commit the errors file is synced and
// its size put in the counters. A last commit (possibly of no rows) follows whenever rows were
// counted after the previous one, so the final counters are always committed; a file that
// adds nothing commits nothing. With resume_from set, the first resume_from.total_rows data
// rows are skipped, the errors file is cut back to resume_from.errors_file_bytes (removed when
// 0) and counting goes on from resume_from. An empty errors_path counts errors but writes no
// file. `failed` is set, with a reason for the client, for a missing or unusable header and for
// a field over 64 MiB (an unbalanced quote); batches committed before stay committed. A sink
// exception propagates unchanged. Not thread-safe per call; separate calls may run in parallel.
ImportResult import_csv(const std::string& path, BatchSink& sink, const ImportOptions& options);

}  // namespace contacts::ingest
