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
// (for stack_pieces).
struct FedRows {
  explicit FedRows(const std::string& dir, uint64_t version) : from(version), to(version), pieces(dir) {}
  uint64_t from, to;
  DeltaPieces pieces;
  SegmentBuilder builder;  // the rows after the pieces' (ids ascending)
  int64_t last_id = 0;     // the builder's or the pieces' last id
  // Rows of an id at or below last_id when written (a row updated again), in write order.
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
  // A chunk for the listener to fill: a spare one or a new one (at most kChunks in all);
  // nullopt when stopping or when none came for a long while.
  std::optional<std::vector<Contact>> take_spare(std::unique_lock<std::mutex>& lock);

  const std::string dir_;
  const uint64_t store_id_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<Chunk> full_;                  // announced, not yet built
  std::vector<std::vector<Contact>> spare_;  // built, for the listener to fill again
  size_t chunks_ = 0;                       // chunk vectors in existence (at most kChunks)
  uint64_t announced_ = 0;                  // the last version queued whole
  bool building_ = false;                   // the thread builds a chunk (without the lock)
  bool mid_version_ = false;                // it built a first chunk, not yet the last
  bool take_wanted_ = false;
  uint64_t take_version_ = 0;
  uint32_t piece_rows_;
  std::unique_ptr<FedRows> current_;  // what the thread builds into
  std::unique_ptr<FedRows> handed_;   // current_ given up for take()
  bool builder_holds_chunk_ = false;  // current_->builder keeps the last chunk added
  uint64_t rows_taken_ = 0;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace contacts::index
