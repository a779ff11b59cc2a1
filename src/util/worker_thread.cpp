#include "util/worker_thread.h"

#include <utility>

#include "util/thread_priority.h"

namespace contacts {

WorkerThread::~WorkerThread() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  posted_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void WorkerThread::post(std::function<void()> job) {
  {
    std::lock_guard lock(mutex_);
    job_ = std::move(job);
    error_ = nullptr;
  }
  if (!thread_.joinable()) thread_ = std::thread([this] {
      priority::name_this_thread(name_);
      loop();
    });
  posted_.notify_all();
}

void WorkerThread::wait() {
  std::unique_lock lock(mutex_);
  done_.wait(lock, [&] { return !job_; });
  if (error_) std::rethrow_exception(std::exchange(error_, nullptr));
}

void WorkerThread::loop() {
  std::unique_lock lock(mutex_);
  for (;;) {
    posted_.wait(lock, [&] { return stop_ || job_; });
    if (!job_) return;  // stopping, nothing left to run
    lock.unlock();
    std::exception_ptr error;
    try {
      job_();
    } catch (...) {
      error = std::current_exception();
    }
    lock.lock();
    error_ = error;
    job_ = nullptr;
    done_.notify_all();
  }
}

void run_on_both(WorkerThread& worker, size_t count, const std::function<void(size_t)>& fn) {
  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
  auto drain = [&] {
    for (size_t i; !failed && (i = next.fetch_add(1)) < count;) {
      try {
        fn(i);
      } catch (...) {
        failed = true;
        throw;
      }
    }
  };
  worker.post(drain);
  std::exception_ptr mine;
  try {
    drain();
  } catch (...) {
    mine = std::current_exception();
  }
  worker.wait();  // rethrows the worker's exception, if any
  if (mine) std::rethrow_exception(mine);
}

}  // namespace contacts
