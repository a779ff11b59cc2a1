#include "index/refresher.h"

#include <malloc.h>

#include <exception>
#include <stdexcept>
#include <string>
#include <utility>

#include "index/snapshot_files.h"
#include "util/log.h"
#include "util/thread_priority.h"

namespace contacts::index {
namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Gives back the pages of every delta of `snap` but the newest.
void release_older_deltas(const Snapshot& snap) {
  // The newest rows are in the newest delta: pages the first pages of a list made resident in
  // the one before (the newest of the last refresh) are not read again until a compaction, and
  // each refresh of a slow import would otherwise leave a few MiB of them behind.
  for (size_t p = 1; p + 1 < snap.parts.size(); ++p) {
    if (const auto& bytes = snap.parts[p].segment->bytes) bytes->release_all();
  }
}

}  // namespace

Refresher::Refresher(const Store& store, IndexReader& reader, RefreshOptions options,
                     std::function<void()> on_swap)
    : store_(store), reader_(reader), options_(std::move(options)), on_swap_(std::move(on_swap)) {
  if (options_.feed) {
    const auto snap = reader_.snapshot();
    feed_ = std::make_unique<RowFeed>(options_.snapshot_dir, store_.store_id(), snap->data_version,
                                      delta_piece_rows(snap->rows));
  }
  thread_ = std::thread([this] {
    priority::name_this_thread("index-refresh");
    priority::lower_this_thread(priority::kBackground);
    run();
  });
  compactor_ = std::thread([this] {
    priority::name_this_thread("index-compact");
    priority::lower_this_thread(priority::kBackground);
    run_compactions();
  });
}

Refresher::~Refresher() {
  {
    std::lock_guard lock(stop_mutex_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
  thread_.join();
  compactor_.join();
}

void Refresher::refresh_now() { refresh(/*writes_ongoing=*/false); }

void Refresher::refresh(bool writes_ongoing) {
  std::lock_guard lock(build_mutex_);
  const auto start = std::chrono::steady_clock::now();
  const auto before = reader_.snapshot();
  // An import writing while a compaction runs stops it as soon as this refresh has read enough
  // of its rows (counted every few thousand), not only when it is done reading them.
  std::shared_ptr<const Snapshot> next;
  if (feed_) {
    // The rows the store announced, built as they came, when they are all the rows written
    // since the snapshot; otherwise (another process wrote) the store is read.
    const uint64_t version = store_.data_version();
    if (version == before->data_version) return;
    if (version > before->data_version) {
      if (auto fed = feed_->take(before->data_version, version, delta_piece_rows(before->rows))) {
        maybe_stop_compaction(fed->rows, false);
        next = stack_runs(*before, fed->to, store_.store_id(), {&fed->inserted, &fed->updated},
                          std::move(fed->updates), options_.snapshot_dir);
      }
    }
  }
  if (!next) {
    next = catch_up(store_, *before, options_.snapshot_dir,
                    [this](uint64_t rows) { maybe_stop_compaction(rows, false); });
  }
  if (!next) return;
  if (const double s = seconds_since(start); s >= 1.0) {
    char text[128];
    std::snprintf(text, sizeof text, "index refreshed: %llu rows read in %.2f s",
                  static_cast<unsigned long long>(next->delta_rows() - before->delta_rows()), s);
    log_event("info", text);
  }
  bool compacting = false, importing = false;
  {
    std::lock_guard stop(stop_mutex_);
    compacting = compacting_;
    importing = imports_running_ > 0;
  }
  if (next->parts.size() > options_.max_deltas + 1 && !compacting &&
      (writes_ongoing || importing || next->delta_rows() < options_.compact_min_rows)) {
    // Many small deltas, or an import still writing: merge the deltas into one here (their
    // rows only). Larger ones, once writes settle, wait for compaction.
    next = merge_deltas(*next, options_.snapshot_dir, store_.store_id());
  }
  reader_.replace(next);
  if (on_swap_) on_swap_();
  release_older_deltas(*next);
  maybe_stop_compaction(next->parts.back().segment->rows, /*refresh_done=*/true);
  maybe_schedule_compaction(*next, writes_ongoing);
  // A refresh frees what it built with (the scan's rows, SQLite's page cache, a builder's
  // small arrays) into malloc's heap, which keeps it from the system unless asked: without
  // this, every refresh of a long import adds to the process's resident memory.
  ::malloc_trim(0);
}

void Refresher::fold_idle_deltas() {
  std::lock_guard lock(build_mutex_);
  const auto snap = reader_.snapshot();
  if (snap->parts.size() <= options_.max_deltas + 1) return;
  {
    std::lock_guard stop(stop_mutex_);
    if (compacting_ || compact_wanted_) return;
  }
  if (deltas_due_for_compaction(*snap)) {
    maybe_schedule_compaction(*snap, false);
    return;
  }
  // Deltas stacked while a compaction ran (it leaves them on top of the new base) or while
  // writes went on: merged into one now that the store is quiet, so that reads do not walk
  // dozens of parts until the next write.
  reader_.replace(merge_deltas(*snap, options_.snapshot_dir, store_.store_id()));
  if (on_swap_) on_swap_();
  ::malloc_trim(0);
}

bool Refresher::deltas_due_for_compaction(const Snapshot& snap) const {
  const uint64_t delta = snap.delta_rows();
  return delta >= options_.compact_min_rows &&
         delta >= options_.compact_ratio * snap.parts[0].segment->rows;
}

void Refresher::import_started() {
  std::lock_guard lock(stop_mutex_);
  ++imports_running_;
  if (compacting_) stop_compaction_ = true;
}

void Refresher::import_ended() {
  std::lock_guard lock(stop_mutex_);
  if (imports_running_ > 0) --imports_running_;
}

void Refresher::maybe_stop_compaction(uint64_t rows_read, bool refresh_done) {
  std::lock_guard lock(stop_mutex_);
  if (!compacting_) return;
  if (rows_during_compaction_ + rows_read >= options_.stop_compaction_rows) {
    stop_compaction_ = true;
  }
  if (refresh_done) rows_during_compaction_ += rows_read;
}

void Refresher::maybe_schedule_compaction(const Snapshot& snap, bool writes_ongoing) {
  const bool many = snap.parts.size() > options_.max_deltas + 1;
  if (!many && !deltas_due_for_compaction(snap)) return;
  {
    std::lock_guard lock(stop_mutex_);
    if (compacting_) return;
    if ((writes_ongoing && !many) || imports_running_ > 0) {
      // An import is writing: compacting now would merge the whole base again and again
      // while it runs, taking the cores it needs (refresh() merges its many deltas into one
      // meanwhile). Once writes settle, run() asks again.
      compaction_deferred_ = true;
      return;
    }
    compact_wanted_ = true;
  }
  stop_cv_.notify_all();
}

std::shared_ptr<const Snapshot> Refresher::compact(const std::atomic<bool>* stop_flag) {
  std::lock_guard one(compact_mutex_);
  std::shared_ptr<const Snapshot> snap;
  {
    // compacting_ is set: from here on refreshes only stack parts on top of this snapshot.
    std::lock_guard lock(build_mutex_);
    snap = reader_.snapshot();
  }
  auto base = write_base(*snap, options_.snapshot_dir, store_.store_id(), stop_flag);
  std::lock_guard lock(build_mutex_);
  // Parts stacked while the base was written stay on top of it.
  const auto current = reader_.snapshot();
  for (size_t p = 0; p < snap->parts.size(); ++p) {
    if (p >= current->parts.size() || current->parts[p].segment != snap->parts[p].segment) {
      throw std::logic_error("the snapshot changed under a compaction");
    }
  }
  auto next = snapshot_of(std::move(base));
  for (size_t p = snap->parts.size(); p < current->parts.size(); ++p) {
    next = stack(*next, current->parts[p].segment, current->parts[p].since);
  }
  reader_.replace(next);
  if (on_swap_) on_swap_();
  std::lock_guard stop(stop_mutex_);
  ++compactions_;
  return snap;
}

void Refresher::compact_now() {
  {
    std::unique_lock lock(stop_mutex_);
    stop_cv_.wait(lock, [this] { return !compacting_; });
    compacting_ = true;
  }
  try {
    compact();
  } catch (...) {
    std::lock_guard lock(stop_mutex_);
    compacting_ = false;
    throw;
  }
  std::lock_guard lock(stop_mutex_);
  compacting_ = false;
  stop_cv_.notify_all();
}

bool Refresher::compaction_pending() const {
  std::lock_guard lock(stop_mutex_);
  return compacting_ || compact_wanted_ || compaction_deferred_;
}

void Refresher::committed(const CommittedRows& rows) noexcept {
  if (feed_) feed_->committed(rows);
}

uint64_t Refresher::rows_fed() const { return feed_ ? feed_->rows_taken() : 0; }

uint64_t Refresher::compactions() const {
  std::lock_guard lock(stop_mutex_);
  return compactions_;
}

uint64_t Refresher::compactions_stopped() const {
  std::lock_guard lock(stop_mutex_);
  return compactions_stopped_;
}

void Refresher::wake() {
  {
    std::lock_guard lock(stop_mutex_);
    if (woken_) return;
    woken_ = true;
  }
  stop_cv_.notify_all();
}

void Refresher::run_compactions() {
  std::unique_lock lock(stop_mutex_);
  for (;;) {
    stop_cv_.wait(lock, [this] { return stopping_ || (compact_wanted_ && !compacting_); });
    if (stopping_) break;
    compact_wanted_ = false;
    compacting_ = true;
    rows_during_compaction_ = 0;
    stop_compaction_ = false;
    lock.unlock();
    try {
      if (options_.on_compaction_start) options_.on_compaction_start();
      const auto start = std::chrono::steady_clock::now();
      const auto snap = compact(&stop_compaction_);
      const double s =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      char text[128];
      std::snprintf(text, sizeof text, "index compacted: %u contacts in %.2f s", snap->rows, s);
      log_event("info", text);
      ::malloc_trim(0);
    } catch (const MergeStopped&) {
      log_event("info", "index compaction stopped: an import is writing; it runs again once "
                        "writes settle");
      ::malloc_trim(0);
      std::lock_guard stopped(stop_mutex_);
      ++compactions_stopped_;
      compaction_deferred_ = true;
    } catch (const std::exception& e) {
      log_event("error", "index compaction failed", e.what());
    }
    lock.lock();
    compacting_ = false;
    stop_cv_.notify_all();
  }
}

void Refresher::run() {
  uint64_t last_seen = reader_.snapshot()->data_version;
  auto changed_since = std::chrono::steady_clock::time_point::min();
  bool failing = false;
  std::unique_lock lock(stop_mutex_);
  for (;;) {
    stop_cv_.wait_for(lock, options_.interval, [this] { return stopping_ || woken_; });
    if (stopping_) break;
    const bool urgent = std::exchange(woken_, false);
    lock.unlock();
    try {
      const uint64_t version = store_.data_version();
      const auto now = std::chrono::steady_clock::now();
      if (version != reader_.snapshot()->data_version) {
        // A refresh reads only what changed, so it runs at once when asked (an import
        // finished elsewhere) or when writes settled for one interval; during a long import
        // every options_.during_writes, so that a job's delta is read in pieces rather than
        // at its end.
        if (changed_since == std::chrono::steady_clock::time_point::min()) changed_since = now;
        if (urgent || version == last_seen || now - changed_since >= options_.during_writes) {
          refresh(/*writes_ongoing=*/!urgent && version != last_seen);
          changed_since = std::chrono::steady_clock::time_point::min();
        }
      } else if (version == last_seen) {
        bool deferred = false;
        {
          std::lock_guard stop(stop_mutex_);
          deferred = std::exchange(compaction_deferred_, false);
        }
        if (deferred) maybe_schedule_compaction(*reader_.snapshot(), false);
        fold_idle_deltas();
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
