// Keeps an IndexReader current. A refresh reads only the rows written since the reader's
// snapshot (Store::scan(since_version)) into a new delta segment and stacks it on the
// snapshot (index/snapshot.h): the new version becomes readable at once and atomically. A
// background compaction merges the deltas into a new base when they grow, and persists that
// base in the snapshot directory, from which the next start loads it (index/snapshot_files.h).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "index/index_reader.h"
#include "store/store.h"

namespace contacts::index {

struct RefreshOptions {
  std::chrono::milliseconds interval{500};  // how often the store's data_version is polled
  // While writes go on (a long import), the rows written so far are read this often: each
  // refresh builds its delta in memory, so shorter periods keep that memory small (about
  // 1 KB a row: 2 s of an import at 20-60k rows/s).
  std::chrono::milliseconds during_writes{2000};
  std::string snapshot_dir;                 // where compactions persist the base; "" = nowhere
  // Compaction starts when the deltas hold more rows than this share of the base's rows (and
  // at least `compact_min_rows`), or when there are more than `max_deltas` of them; then, if
  // they hold fewer than `compact_min_rows` rows, a refresh first merges them into one delta.
  double compact_ratio = 0.125;
  uint64_t compact_min_rows = 50'000;
  size_t max_deltas = 8;
};

class Refresher {
 public:
  // Starts polling. `on_swap` runs after each new snapshot is made current.
  Refresher(const Store& store, IndexReader& reader, RefreshOptions options,
            std::function<void()> on_swap = {});
  ~Refresher();  // stops and joins the polling and compaction threads
  Refresher(const Refresher&) = delete;
  Refresher& operator=(const Refresher&) = delete;

  // Reads the rows written since the reader's snapshot and makes them readable; returns when
  // the reader shows every write committed before the call. Thread-safe.
  void refresh_now();
  // Asks the polling thread to refresh at once (an import finished elsewhere). Returns
  // immediately.
  void wake();
  // Merges every part of the current snapshot into a new base now (persisting it when there
  // is a snapshot directory) and returns when it is current. Thread-safe.
  void compact_now();
  // Number of compactions finished (tests and metrics).
  uint64_t compactions() const;
  // Whether a compaction runs now, or is asked for and waits for writes to settle (metrics).
  bool compaction_pending() const;

 private:
  void run();
  void run_compactions();
  // A refresh; `writes_ongoing` when the store was still being written to (an import runs).
  void refresh(bool writes_ongoing);
  // Asks for a compaction when the deltas have grown (deferred while writes are ongoing,
  // unless there are too many deltas).
  void maybe_schedule_compaction(const Snapshot& snap, bool writes_ongoing);
  // Whether the deltas hold enough rows for a compaction (compact_min_rows, compact_ratio).
  bool deltas_due_for_compaction(const Snapshot& snap) const;
  // When the store is quiet and more than max_deltas deltas are stacked (left by a long
  // import, or stacked during a compaction): merges them into one, or asks for a compaction
  // when they are large enough for one.
  void fold_idle_deltas();
  // Merges the current snapshot into a new base and installs it; returns the snapshot merged.
  // Call with compacting_ set.
  std::shared_ptr<const Snapshot> compact();

  const Store& store_;
  IndexReader& reader_;
  const RefreshOptions options_;
  std::function<void()> on_swap_;
  std::mutex build_mutex_;  // one change of the reader's snapshot at a time
  std::mutex compact_mutex_;  // one compaction at a time
  mutable std::mutex stop_mutex_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;        // guarded by stop_mutex_
  bool woken_ = false;           // guarded by stop_mutex_
  bool compact_wanted_ = false;  // guarded by stop_mutex_
  bool compacting_ = false;      // guarded by stop_mutex_: a major compaction runs
  bool compaction_deferred_ = false;  // guarded by stop_mutex_: wanted once writes settle
  uint64_t compactions_ = 0;     // guarded by stop_mutex_
  std::thread thread_;
  std::thread compactor_;
};

}  // namespace contacts::index
