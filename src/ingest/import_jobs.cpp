#include "ingest/import_jobs.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>

#include "ingest/csv_import.h"
#include "metrics/service_metrics.h"
#include "util/json_writer.h"
#include "util/thread_priority.h"
#include "util/time.h"

namespace contacts::ingest {
namespace {

// Stops the import at the next batch (shutdown, or the lease was lost).
struct JobInterrupted {};

void log_line(std::string_view level, std::string_view msg, int64_t job_id,
              std::string_view error = {}, std::string_view detail = {}) {
  std::string line;
  JsonWriter w(line);
  w.begin_object().field("level", level).field("msg", msg).field("job_id", job_id);
  if (!error.empty()) w.field("error", error);
  if (!detail.empty()) w.field("detail", detail);
  w.end_object();
  std::fprintf(stderr, "%s\n", line.c_str());
}

BulkImportHint upload_hint(const ImportJob& job) {
  std::error_code ec;
  const auto bytes = std::filesystem::file_size(job.upload_file_path, ec);
  return ec ? BulkImportHint{} : BulkImportHint::for_file_bytes(bytes);
}

// Commits each batch with the job's counters in the same transaction, and counts the rows
// committed for /metrics.
class JobSink final : public BatchSink {
 public:
  // `job` has the counters the import resumes from.
  JobSink(Store& store, const ImportJob& job, std::string worker, const std::atomic<bool>& stop,
          const std::atomic<bool>& lease_lost)
      : bulk_(store.begin_bulk_import(upload_hint(job))), stop_(stop), lease_lost_(lease_lost) {
    checkpoint_.job_id = job.id;
    checkpoint_.worker = std::move(worker);
    checkpoint_.success_count = job.success_count;
    checkpoint_.error_count = job.error_count;
  }

  void commit(std::span<const ContactValues> rows, const ImportCounters& after) override {
    if (stop_ || lease_lost_) throw JobInterrupted{};
    const uint64_t success_before = checkpoint_.success_count;
    const uint64_t errors_before = checkpoint_.error_count;
    checkpoint_.total_rows = after.total_rows;
    checkpoint_.success_count = after.success;
    checkpoint_.error_count = after.errors;
    checkpoint_.errors_file_bytes = after.errors_file_bytes;
    try {
      bulk_->upsert_batch(rows, timeutil::now_us(), &checkpoint_);
    } catch (const LeaseLostError&) {
      throw JobInterrupted{};
    }
    auto& imported = metrics::service_metrics().import_rows;
    imported.with({"success"}).inc(after.success - success_before);
    imported.with({"error"}).inc(after.errors - errors_before);
  }

  // After the last batch: the store's indexes are whole again.
  void finish() { bulk_->finish(); }

 private:
  std::unique_ptr<BulkImport> bulk_;
  const std::atomic<bool>& stop_;
  const std::atomic<bool>& lease_lost_;
  JobCheckpoint checkpoint_;
};

// Renews a job's lease every third of its length until destroyed.
class Heartbeat {
 public:
  Heartbeat(Store& store, int64_t job_id, const std::string& worker, int64_t lease_seconds,
            std::atomic<bool>& lost)
      : thread_([&store, job_id, worker, lease_seconds, &lost, this] {
          const auto period = std::chrono::milliseconds(lease_seconds * 1000 / 3);
          std::unique_lock lock(mutex_);
          while (!cv_.wait_for(lock, period, [this] { return done_; })) {
            const int64_t until = timeutil::now_us() + lease_seconds * 1'000'000;
            try {
              if (!store.renew_lease(job_id, worker, until)) lost = true;
            } catch (const std::exception&) {
              // A busy store: try again at the next beat; the lease still holds for a while.
            }
          }
        }) {}
  ~Heartbeat() {
    {
      std::lock_guard lock(mutex_);
      done_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  bool done_ = false;
  std::thread thread_;
};

std::string worker_name(unsigned index) {
  char host[256] = {0};
  gethostname(host, sizeof host - 1);
  return std::string(host) + ":" + std::to_string(getpid()) + ":" + std::to_string(index);
}

}  // namespace

std::string job_errors_path(const std::string& data_dir, int64_t id) {
  return (std::filesystem::path(data_dir) / "errors" /
          ("job_" + std::to_string(id) + "_errors.csv"))
      .string();
}

JobRunner::JobRunner(Store& store, JobRunnerOptions options)
    : store_(store), options_(std::move(options)) {
  std::filesystem::create_directories(std::filesystem::path(options_.data_dir) / "errors");
  for (unsigned i = 0; i < options_.workers; ++i) {
    threads_.emplace_back([this, i] {
      priority::name_this_thread("import-job");
      priority::lower_this_thread(priority::kBackground);
      work(i);
    });
  }
}

JobRunner::~JobRunner() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  stop_flag_ = true;
  wake_.notify_all();
  for (auto& t : threads_) t.join();
}

void JobRunner::notify() {
  {
    std::lock_guard lock(mutex_);
    ++pending_wakes_;  // not lost when no worker is waiting right now
  }
  wake_.notify_one();
}

void JobRunner::work(unsigned index) {
  const std::string worker = worker_name(index);
  bool claim_failing = false;  // log a store outage once, not at every poll
  while (true) {
    {
      std::lock_guard lock(mutex_);
      if (stopping_) return;
    }
    std::optional<ImportJob> job;
    try {
      const int64_t now = timeutil::now_us();
      job = store_.claim_job(worker, now, now + options_.lease_seconds * 1'000'000);
      claim_failing = false;
    } catch (const std::exception& e) {
      if (!claim_failing) log_line("error", "claiming an import job failed", 0, e.what());
      claim_failing = true;
    }
    if (job) {
      run_job(*job, worker);
      continue;
    }
    std::unique_lock lock(mutex_);
    wake_.wait_for(lock, options_.poll_interval,
                   [this] { return stopping_ || pending_wakes_ > 0; });
    if (pending_wakes_ > 0) --pending_wakes_;
  }
}

void JobRunner::run_job(const ImportJob& job, const std::string& worker) {
  const std::string errors_path = job_errors_path(options_.data_dir, job.id);
  log_line("info", job.total_rows > 0 ? "resuming import job" : "starting import job", job.id);
  if (options_.on_job_start) options_.on_job_start();
  struct Ended {
    const std::function<void()>& on_end;
    ~Ended() {
      if (on_end) on_end();
    }
  } ended{options_.on_job_end};
  std::atomic<bool> lease_lost{false};
  ImportOptions options;
  options.batch_size = options_.batch_size;
  options.errors_path = errors_path;
  options.formula_guard = options_.formula_guard;
  options.resume_from = {job.total_rows, job.success_count, job.error_count, job.errors_file_bytes};
  try {
    ImportResult result;
    const auto start = std::chrono::steady_clock::now();
    auto seconds = [](auto from) {
      return std::chrono::duration<double>(std::chrono::steady_clock::now() - from).count();
    };
    double rows_s = 0, finish_s = 0;
    {
      Heartbeat heartbeat(store_, job.id, worker, options_.lease_seconds, lease_lost);
      JobSink sink(store_, job, worker, stop_flag_, lease_lost);
      result = import_csv(job.upload_file_path, sink, options);
      rows_s = seconds(start);
      if (options_.after_rows_written) options_.after_rows_written();
      sink.finish();
      finish_s = seconds(start) - rows_s;
    }
    if (result.failed) {
      store_.finish_job(job.id, worker, "failed", result.failure_reason, "", timeutil::now_us());
      log_line("info", "import job failed", job.id, result.failure_reason);
      return;
    }
    store_.refresh_statistics();  // the count estimate is current once the job completes
    const auto readable_from = std::chrono::steady_clock::now();
    if (options_.before_complete) options_.before_complete();
    const bool has_errors = result.counters.errors > 0;
    store_.finish_job(job.id, worker, "completed", "Completed", has_errors ? errors_path : "",
                      timeutil::now_us());
    char timing[160];
    std::snprintf(timing, sizeof timing,
                  "%llu rows in %.2f s: rows written %.2f s, store indexes %.2f s, read index "
                  "caught up %.2f s",
                  static_cast<unsigned long long>(result.counters.total_rows), seconds(start),
                  rows_s, finish_s, seconds(readable_from));
    log_line("info", "import job completed", job.id, {}, timing);
  } catch (const JobInterrupted&) {
    log_line("info", "import job interrupted; it will be resumed", job.id);
  } catch (const StoreUnavailable& e) {
    // Not the file's fault: the job keeps its committed progress and is resumed once its
    // lease runs out and the store is back.
    log_line("error", "store unavailable during import job; it will be resumed", job.id, e.what());
  } catch (const std::exception& e) {
    log_line("error", "import job failed", job.id, e.what());
    try {
      store_.finish_job(job.id, worker, "failed",
                        "Import failed: the uploaded file could not be processed.", "",
                        timeutil::now_us());
    } catch (const std::exception&) {
      // The lease runs out and another worker retries the job.
    }
  }
}

}  // namespace contacts::ingest
