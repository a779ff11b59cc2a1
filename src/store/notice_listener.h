// One thread per process that waits for the store's cross-process notices (jobs queued,
// jobs finished elsewhere) and hands them to callbacks.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <thread>

#include "store/store.h"

namespace contacts {

class NoticeListener {
 public:
  struct Callbacks {
    std::function<void()> jobs_queued;                 // may be empty
    // A job finished elsewhere at `version` (api::Freshness::learn_from_notice); may be empty.
    std::function<void(uint64_t version)> published;
  };
  // Starts listening when the store notifies(); otherwise does nothing.
  NoticeListener(Store& store, Callbacks callbacks);
  ~NoticeListener();  // stops within a quarter of a second
  NoticeListener(const NoticeListener&) = delete;
  NoticeListener& operator=(const NoticeListener&) = delete;

 private:
  Store& store_;
  Callbacks callbacks_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace contacts
