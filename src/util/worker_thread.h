// One background thread that runs one job at a time for its owner: the owner posts a job,
// goes on with its own share of the work, then waits for the job. Used to spread one
// computation over two cores without a pool.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>

namespace contacts {

class WorkerThread {
 public:
  WorkerThread() = default;
  // `name`: the thread's name (priority::name_this_thread); a string literal.
  explicit WorkerThread(const char* name) : name_(name) {}
  ~WorkerThread();
  WorkerThread(const WorkerThread&) = delete;
  WorkerThread& operator=(const WorkerThread&) = delete;

  // Starts `job` on the thread (started on first use). The previous job must have been
  // waited for.
  void post(std::function<void()> job);
  // Waits until the posted job (if any) has run; rethrows what it threw.
  void wait();

 private:
  void loop();
  const char* name_ = "worker";
  std::thread thread_;
  std::mutex mutex_;
  std::condition_variable posted_, done_;
  std::function<void()> job_;
  std::exception_ptr error_;
  bool stop_ = false;
};

// Runs fn(0) ... fn(count - 1), each once, on this thread and on `worker` together (each
// takes the next index when done with one). Returns when all have run; rethrows the first
// exception (the other thread still finishes the index it holds).
void run_on_both(WorkerThread& worker, size_t count, const std::function<void(size_t)>& fn);

}  // namespace contacts
