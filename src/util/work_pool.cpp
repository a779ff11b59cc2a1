#include "util/work_pool.h"

#include <algorithm>

#include "util/thread_priority.h"

namespace contacts {

WorkPool::WorkPool(size_t threads, size_t max_queued, int nice, const char* name)
    : max_queued_(max_queued) {
  for (size_t i = 0; i < std::max<size_t>(threads, 1); ++i) {
    threads_.emplace_back([this, nice, name] {
      priority::name_this_thread(name);
      loop(nice);
    });
  }
}

WorkPool::~WorkPool() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  ready_.notify_all();
  for (std::thread& t : threads_) t.join();
}

bool WorkPool::submit(std::function<void()> job) {
  {
    std::lock_guard lock(mutex_);
    if (stop_ || jobs_.size() >= max_queued_) return false;
    jobs_.push_back(std::move(job));
  }
  ready_.notify_one();
  return true;
}

size_t WorkPool::queued() const {
  std::lock_guard lock(mutex_);
  return jobs_.size();
}

void WorkPool::loop(int nice) {
  priority::lower_this_thread(nice);
  for (;;) {
    std::function<void()> job;
    {
      std::unique_lock lock(mutex_);
      ready_.wait(lock, [this] { return stop_ || !jobs_.empty(); });
      if (jobs_.empty()) return;  // stopping, nothing left
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    job();
  }
}

}  // namespace contacts
