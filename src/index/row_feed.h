// Builds the rows a store announces as it commits them (Store::set_commit_listener) into a
// delta's pieces as they come, so that a refresh during a bulk import need not read them back
// from the store: that scan was a sixth of the CPU of a 1M-row HTTP import (the store's
// decoding, a copy of every value, an allocation per row).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "index/snapshot_files.h"
#include "store/store.h"

namespace contacts::index {

// Rows of the versions after `from` up to `to`, built: what RowFeed::take hands a refresh
// (for stack_runs).
struct FedRows {
  FedRows(const std::string& dir, uint64_t version)
      : from(version), to(version), inserted(dir), updated(dir) {}
  uint64_t from, to;
  // Rows of new contacts (ids ascend: they are given in order), and rows that wrote an older
  // contact again while its id was above the run's last (a re-import meets its contacts in
  // the order the first import created them). Of one id, an update comes after its insert.
  DeltaRun inserted, updated;
  // The other rows, in write order: they win over both runs.
  std::vector<Contact> updates;
  bool broken = false;  // rows were lost (too many updates, a failure): unusable
  uint64_t rows = 0;    // rows built
};

class RowFeed {
 public:
  // Rows of the writes after data version `version` are built into pieces of `piece_rows`
  // (files of `dir`, memory without one), on a thread of the feed's.
  RowFeed(std::string dir, uint64_t store_id, uint64_t version, uint32_t piece_rows);
  ~RowFeed();
  RowFeed(const RowFeed&) = delete;
  RowFeed& operator=(const RowFeed&) = delete;

  // The store committed `rows` (its listener, on its writing thread): copied into the feed's
  // queue, waiting while the queue is full (a few thousand rows). Never throws.
  void committed(const CommittedRows& rows) noexcept;

  // The rows of every version after `since` up to at least `version`, built, when the feed
  // holds them all (it may also hold versions before `since`, already read: stacking them
  // again is harmless); nullptr when it does not (a write it was not told of: another process
  // wrote, or the store's upsert path). Either way it starts again after what it gave up,
  // with pieces of `piece_rows`. Waits for the rows of `version` when they are announced or
  // about to be (a few ms at most, a write commits just before it is announced).
  std::unique_ptr<FedRows> take(uint64_t since, uint64_t version, uint32_t piece_rows);

  // Rows handed to refreshes by take() so far (tests, metrics).
  uint64_t rows_taken() const;

 private:
  struct Chunk {
    uint64_t version = 0;
    bool first = false, last = false;  // the first and last chunk of its version
    std::vector<Contact> rows;
  };
  void run();
  // Builds a chunk's rows into current_ (the feed's thread, without the lock). Returns the
  // vectors of Contacts done with, for the listener to fill again.
  std::vector<std::vector<Contact>> build(std::vector<Contact>&& rows, uint32_t piece_rows);
  // A vector for the listener to fill (a spare one, whose strings keep their memory, or a new
  // one); nullopt when stopping or when the queue stayed full for a long while.
  std::optional<std::vector<Contact>> take_spare(std::unique_lock<std::mutex>& lock);

  const std::string dir_;
  const uint64_t store_id_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<Chunk> full_;                   // announced, not yet built (at most kChunks)
  std::vector<std::vector<Contact>> spare_;  // done with, for the listener to fill again
  uint64_t announced_ = 0;                  // the last version queued whole
  bool mid_version_ = false;                // it built a first chunk, not yet the last
  bool take_wanted_ = false;
  uint64_t take_version_ = 0;
  uint32_t piece_rows_;
  std::unique_ptr<FedRows> current_;  // what the thread builds into
  std::unique_ptr<FedRows> handed_;   // current_ given up for take()
  uint64_t rows_taken_ = 0;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace contacts::index
