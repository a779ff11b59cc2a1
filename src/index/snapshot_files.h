// The read index's persisted base, and the steps that move a snapshot forward: catching up
// with the store (a delta of the rows written since) and merging parts (compaction).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "index/snapshot.h"
#include "store/store.h"

namespace contacts::index {

// Where the base of `dir` (a snapshot directory, e.g. CONTACTS_DATA_DIR/index) lives.
std::string base_path(const std::string& dir);

// A base built from the store holds at most this many contacts in memory at once (about
// 0.55 KB each); a larger store is built in chunks merged one into the next. 12M: a 10M-row
// store is built in one go, 50M rows in five chunks within ~7 GB.
inline constexpr uint32_t kBaseChunkRows = 12'000'000;
// Tests: a smaller chunk, to build several (0 = kBaseChunkRows).
void set_base_chunk_rows(uint32_t rows);

// A delta of more rows than this (a refresh during a long import) is built in pieces of this
// many (or 1/64 of the snapshot's rows when that is more), merged into one: a refresh's memory
// stays that of a piece (about 1.2 KB a row while built: 20 MB) whatever the import's size
// and speed. (65,536-row pieces made 150,000 updates into 1M contacts peak at 1.29x the
// steady RSS, 16,384 at 1.22x; an HTTP import of 1M rows took as long with either.)
inline constexpr uint32_t kDeltaPieceRows = 16'384;
// Tests: a smaller piece (0 = kDeltaPieceRows).
void set_delta_piece_rows(uint32_t rows);

// The snapshot to start serving from. With a `dir`, the persisted base when it is usable: a
// readable, uncorrupted file of this format, from this store (Store::store_id) and not newer
// than it; otherwise (logged with the reason) the base is built from the store and persisted.
// Without a `dir`, built in memory. Either way the rows written since the base are stacked
// on it. A base is built in one pass over the store, on two cores, holding its columns in
// memory until written (in chunks of kBaseChunkRows). Throws what the store throws.
std::shared_ptr<const Snapshot> open_snapshot(const Store& store, const std::string& dir);

// `snap` with the rows written since its data_version stacked on it as a new delta, or
// nullptr when the store has not moved. With a `dir`, the delta is a file there
// (delta-SINCE-TO.seg), which the next start stacks on the base instead of reading its rows
// from the store again. `rows_read`, when given, is told the rows read so far as the scan goes
// (every few thousand). Throws what the store throws.
std::shared_ptr<const Snapshot> catch_up(const Store& store, const Snapshot& snap,
                                         const std::string& dir = "",
                                         const std::function<void(uint64_t)>& rows_read = {});

// The rows of a delta being built in pieces (SegmentBuilder::Finish::piece: without orders or
// postings), each a temporary file of `dir` (memory without one), removed with this object.
class DeltaPieces {
 public:
  explicit DeltaPieces(std::string dir) : dir_(std::move(dir)) {}
  ~DeltaPieces();
  DeltaPieces(const DeltaPieces&) = delete;
  DeltaPieces& operator=(const DeltaPieces&) = delete;
  // The builder's rows become a piece (its pages given back at once); the builder is empty.
  void finish(SegmentBuilder& builder, const SegmentIdentity& identity);
  const std::vector<std::shared_ptr<const Segment>>& segments() const { return segments_; }

 private:
  std::string dir_;
  std::vector<std::shared_ptr<const Segment>> segments_;
  std::vector<std::string> paths_;
};

// Rows of ascending ids, each id once, built: pieces, then the rows left in a builder.
struct DeltaRun {
  explicit DeltaRun(const std::string& dir) : pieces(dir) {}
  DeltaPieces pieces;
  SegmentBuilder builder;
  int64_t last_id = 0;  // of the last row added
};

// How many rows a piece of a delta stacked on a snapshot of `snapshot_rows` holds.
uint32_t delta_piece_rows(uint32_t snapshot_rows);

// `snap` with one delta stacked on it, reaching data version `to`, of the rows of `runs`
// (each of ascending ids; where runs hold the same id, the later run's row wins) and of
// `updates` (rows in the order written, the last row of an id winning over it and every run).
// A file of `dir` (delta-SINCE-TO.seg) or memory; the runs' pieces are files of `dir` too.
std::shared_ptr<const Snapshot> stack_runs(const Snapshot& snap, uint64_t to, uint64_t store_id,
                                           const std::vector<DeltaRun*>& runs,
                                           std::vector<Contact> updates, const std::string& dir);

// `snap` with its deltas merged into one (a file of `dir`, replacing theirs, or memory).
std::shared_ptr<const Snapshot> merge_deltas(const Snapshot& snap, const std::string& dir,
                                             uint64_t store_id);

// One segment holding the live rows of parts [first, end) of `snap`, in id order, reflecting
// `snap.data_version`; written into `path` ("" = anonymous memory) on `threads` (merge_segments).
std::shared_ptr<const Segment> merge_parts(const Snapshot& snap, size_t first,
                                           const std::string& path, uint64_t store_id,
                                           MergeThreads threads = MergeThreads::one,
                                           const std::atomic<bool>* stop = nullptr);

// merge_parts of every part into the base file of `dir` (written beside it, then renamed
// into place, so a reader of the directory never sees half a file; the delta files it holds
// are deleted), or into memory without a `dir`. With a `stop` flag: may throw MergeStopped
// (merge_segments), leaving `dir` as it was.
std::shared_ptr<const Segment> write_base(const Snapshot& snap, const std::string& dir,
                                          uint64_t store_id,
                                          const std::atomic<bool>* stop = nullptr);

}  // namespace contacts::index
