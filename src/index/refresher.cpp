#include "index/refresher.h"

#include <exception>
#include <string>
#include <utility>

#include "util/log.h"

namespace contacts::index {

Refresher::Refresher(const Store& store, IndexReader& reader, std::chrono::milliseconds interval,
                     std::function<void()> on_swap)
    : store_(store), reader_(reader), interval_(interval), on_swap_(std::move(on_swap)) {
  thread_ = std::thread([this] { run(); });
}

Refresher::~Refresher() {
  {
    std::lock_guard lock(stop_mutex_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
  thread_.join();
}

void Refresher::refresh_now() {
  std::lock_guard lock(build_mutex_);
  if (store_.data_version() == reader_.snapshot()->data_version) return;
  reader_.replace(build_snapshot(store_));
  if (on_swap_) on_swap_();
}

void Refresher::wake() {
  {
    std::lock_guard lock(stop_mutex_);
    if (woken_) return;
    woken_ = true;
  }
  stop_cv_.notify_all();
}

void Refresher::run() {
  uint64_t last_seen = reader_.snapshot()->data_version;
  auto changed_since = std::chrono::steady_clock::time_point::min();
  bool failing = false;
  std::unique_lock lock(stop_mutex_);
  for (;;) {
    stop_cv_.wait_for(lock, interval_, [this] { return stopping_ || woken_; });
    if (stopping_) break;
    const bool urgent = std::exchange(woken_, false);
    lock.unlock();
    try {
      const uint64_t version = store_.data_version();
      const auto now = std::chrono::steady_clock::now();
      if (version != reader_.snapshot()->data_version) {
        // Wait for writes to settle (one quiet interval), but never more than 30 s: a long
        // import is not rebuilt over and over while it runs (each rebuild competes with it for
        // the CPU and briefly doubles the index's memory). A job in this process refreshes
        // explicitly before it says "completed"; a job finished elsewhere wakes the thread.
        if (changed_since == std::chrono::steady_clock::time_point::min()) changed_since = now;
        if (urgent || version == last_seen || now - changed_since > std::chrono::seconds(30)) {
          refresh_now();
          changed_since = std::chrono::steady_clock::time_point::min();
        }
      }
      last_seen = version;
      if (failing) log_event("info", "index refresh works again");
      failing = false;
    } catch (const std::exception& e) {
      // Once per outage, not every interval (a database restart would flood the log).
      if (!failing) log_event("error", "index refresh failed", e.what());
      failing = true;
    }
    lock.lock();
  }
}

}  // namespace contacts::index
