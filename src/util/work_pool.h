// A fixed set of threads running submitted jobs in order, with a bounded queue: the place for
// slow work (reads, password checks) that must not run on the threads answering requests.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace contacts {

class WorkPool {
 public:
  // `threads` (at least 1) run jobs; at most `max_queued` wait for one. With `nice` > 0 the
  // threads run that much below the process's scheduling priority (Linux: per thread), so
  // that the threads answering requests get a core first when both want one. `name` (a string
  // literal) names the threads (priority::name_this_thread).
  WorkPool(size_t threads, size_t max_queued, int nice = 0, const char* name = "pool");
  ~WorkPool();  // runs what is queued, then joins
  WorkPool(const WorkPool&) = delete;
  WorkPool& operator=(const WorkPool&) = delete;

  // Queues `job`; false (and `job` dropped) when the queue is full. A job must not throw.
  bool submit(std::function<void()> job);
  size_t queued() const;
  size_t threads() const { return threads_.size(); }

 private:
  void loop(int nice);
  const size_t max_queued_;
  mutable std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<std::function<void()>> jobs_;
  bool stop_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace contacts
