// Keeps an IndexReader current: polls the store's data_version and rebuilds the snapshot
// when it moved (writes by this or another process, e.g. `contacts-api import`).
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

#include "index/index_reader.h"
#include "store/store.h"

namespace contacts::index {

class Refresher {
 public:
  // Starts polling every `interval`. `on_swap` runs after each new snapshot is made current.
  Refresher(const Store& store, IndexReader& reader, std::chrono::milliseconds interval,
            std::function<void()> on_swap = {});
  ~Refresher();  // stops and joins the polling thread
  Refresher(const Refresher&) = delete;
  Refresher& operator=(const Refresher&) = delete;

  // Rebuilds now if the store moved since the current snapshot; returns when the reader
  // shows every write committed before the call. Thread-safe.
  void refresh_now();
  // Asks the polling thread to rebuild at once, without waiting for writes to settle (an
  // import finished elsewhere). Returns immediately.
  void wake();

 private:
  void run();
  const Store& store_;
  IndexReader& reader_;
  std::chrono::milliseconds interval_;
  std::function<void()> on_swap_;
  std::mutex build_mutex_;  // one rebuild at a time
  std::mutex stop_mutex_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;  // guarded by stop_mutex_
  bool woken_ = false;     // guarded by stop_mutex_
  std::thread thread_;
};

}  // namespace contacts::index
