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
#include "index/row_feed.h"
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
  // A background compaction is given up when refreshes read this many rows while it runs (an
  // import by another process; maybe_stop_compaction).
  uint64_t stop_compaction_rows = 50'000;
  // Build the rows the store announces as it commits them (committed(), which the owner
  // makes the store's listener: Store::set_commit_listener) as they come, instead of reading
  // them back at the refresh: index/row_feed.h.
  bool feed = false;
  // Called on the compaction thread as each background compaction starts (tests).
  std::function<void()> on_compaction_start;
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
  // An import job of this process starts: a running background compaction is given up (the
  // base it writes would be out of date before it is done, and it takes a core the import
  // needs), and none starts until every import has ended; compactions wanted meanwhile run
  // once writes settle. Each call is paired with an import_ended().
  void import_started();
  void import_ended();
  // Merges every part of the current snapshot into a new base now (persisting it when there
  // is a snapshot directory) and returns when it is current; never stopped for writes.
  // Thread-safe.
  void compact_now();
  // The store committed `rows` (its commit listener; with options.feed). Never throws.
  void committed(const CommittedRows& rows) noexcept;
  // Rows that refreshes took from the feed rather than from the store (tests and metrics).
  uint64_t rows_fed() const;
  // Number of compactions finished (tests and metrics).
  uint64_t compactions() const;
  // Number of background compactions given up because an import wrote while they ran (tests
  // and metrics).
  uint64_t compactions_stopped() const;
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
  // Call with compacting_ set. With `stop_flag`: throws MergeStopped once it is raised.
  std::shared_ptr<const Snapshot> compact(const std::atomic<bool>* stop_flag = nullptr);
  // A refresh has read `rows_read` rows so far (all of them when `refresh_done`: they are
  // added to those of the refreshes before it), while a background compaction runs: when the
  // refreshes since it began brought options_.stop_compaction_rows or more (an import: the
  // base it writes would be out of date before it is done, and it takes a core the import
  // needs), it is stopped; it runs again, on everything, once writes settle. A trickle of
  // writes (fewer rows than that during a whole compaction) never stops one.
  void maybe_stop_compaction(uint64_t rows_read, bool refresh_done);

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
  uint64_t compactions_stopped_ = 0;  // guarded by stop_mutex_
  unsigned imports_running_ = 0;      // guarded by stop_mutex_: import_started() - ended()
  // Rows the refreshes read since the running background compaction began
  // (those finished); guarded by stop_mutex_.
  uint64_t rows_during_compaction_ = 0;
  std::atomic<bool> stop_compaction_{false};  // raised to give the running compaction up
  std::unique_ptr<RowFeed> feed_;             // with options_.feed
  std::thread thread_;
  std::thread compactor_;
};

}  // namespace contacts::index
