// Import jobs: queued uploads run by workers, resumable after a crash (contract section 8).
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "store/store.h"

namespace contacts::ingest {

struct JobRunnerOptions {
  std::string data_dir;          // errors files go to <data_dir>/errors/
  unsigned workers = 1;
  int64_t lease_seconds = 15;
  std::chrono::milliseconds poll_interval{1000};  // looking for jobs queued elsewhere
  size_t batch_size = 5000;
  bool formula_guard = false;  // CONTACTS_CSV_FORMULA_GUARD, for the errors files
  // Called after the last rows of a job are committed and before the job is marked
  // "completed" (e.g. to refresh the read index and so invalidate cached responses).
  std::function<void()> before_complete;
  // Called once a job has committed its last rows, before the store's end-of-load work (the
  // indexes a bulk load left out) and before_complete: e.g. to start reading the rows into the
  // read index while the store builds its indexes.
  std::function<void()> after_rows_written;
  // Called when a worker starts running a job, and once it has ended, whatever the outcome
  // (e.g. so that the read index puts its compactions off while an import writes).
  std::function<void()> on_job_start, on_job_end;
};

// Runs jobs from the store on `workers` threads until destroyed. Thread-safe.
class JobRunner {
 public:
  JobRunner(Store& store, JobRunnerOptions options);
  ~JobRunner();  // stops: a job in progress stops at its next batch and is resumed later
  JobRunner(const JobRunner&) = delete;
  JobRunner& operator=(const JobRunner&) = delete;

  // Wakes an idle worker (a job was just queued in this process).
  void notify();

 private:
  void work(unsigned index);
  void run_job(const ImportJob& job, const std::string& worker);
  Store& store_;
  JobRunnerOptions options_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  unsigned pending_wakes_ = 0;  // notify() calls no worker has taken yet
  std::atomic<bool> stop_flag_{false};
  std::vector<std::thread> threads_;
};

// Path of the errors CSV of job `id`.
std::string job_errors_path(const std::string& data_dir, int64_t id);

}  // namespace contacts::ingest
