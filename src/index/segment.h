// One immutable, column-wise segment of the read index: the contacts of a range of data
// versions, dictionary-encoded, read through spans over its bytes (a mapped snapshot file or
// anonymous memory, index/segment_file.h). A Snapshot (index/snapshot.h) stacks segments.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "index/segment_file.h"
#include "index/text_column.h"
#include "model/contact.h"
#include "query/contact_query.h"

namespace contacts::index {

inline constexpr int64_t kNullNumber = INT64_MIN;

// Rows are numbered 0..rows-1 in ascending id order. Immutable; share it through
// std::shared_ptr<const Segment> between threads.
struct Segment {
  uint64_t data_version = 0;  // the store's data_version this segment reflects (at least)
  uint32_t rows = 0;
  std::span<const int64_t> ids;
  std::span<const int64_t> created_at_us;
  std::span<const int64_t> updated_at_us;
  std::array<TextColumn, kTextFieldCount> text;
  std::array<std::span<const int64_t>, kNumberFieldCount> numbers;  // kNullNumber = null
  TextColumn meta_data;
  TextColumn company_address;  // derived: address, city, state, country joined with ", "
  TextColumn contact_address;  // derived: city, state, country joined with ", "
  ListColumn keyword_list;     // keywords split on ','
  std::span<const uint32_t> created_order;  // rows sorted by (created_at, id) ascending
  // Per sort key (SortKey as index): rows sorted by (value, id) ascending, rows without a
  // value (empty text, null number) last in id order; created_at shares created_order, id
  // needs none (rows are in id order). Empty for keys without one.
  std::array<std::span<const uint32_t>, kSortKeyCount> sort_orders;
  std::shared_ptr<const SegmentBytes> bytes;  // what the spans point into
  struct LazyRanks {
    std::array<std::once_flag, kTextFieldCount> once;
    std::array<std::vector<uint32_t>, kTextFieldCount> rank;
  };
  std::shared_ptr<LazyRanks> lazy_ranks = std::make_shared<LazyRanks>();

  const TextColumn& column(TextField f) const { return text[static_cast<size_t>(f)]; }
  // The collation rank of each code of text field `f` (Dictionary::rank). Fields with
  // values nearly as many as rows and rarely ordered by (phones, a person's LinkedIn URL)
  // are written without one: it is computed on first use and kept (thread-safe).
  std::span<const uint32_t> text_rank(TextField f) const;
  // Row of `id`, or kNoRow.
  uint32_t row_of(int64_t id) const;
  Contact contact(uint32_t row, bool with_meta) const;
  // The same into `out`, reusing its strings' memory (meta_data "{}" without `with_meta`).
  void copy_contact(uint32_t row, bool with_meta, Contact& out) const;
};

// Builds a segment from contacts handed over in ascending id order.
class SegmentBuilder {
 public:
  SegmentBuilder();
  ~SegmentBuilder();
  SegmentBuilder(const SegmentBuilder&) = delete;
  SegmentBuilder& operator=(const SegmentBuilder&) = delete;

  void add(const Contact& c);
  // Adds a batch of contacts, on two cores: this thread takes half of the columns, a thread
  // of the builder's the other half, which it may still be doing when this returns (the
  // builder keeps the batch until then). Returns the previous batch, done with, for the
  // caller to refill (its strings keep their memory). For large builds (the base).
  std::vector<Contact> add_batch(std::vector<Contact>&& batch);
  uint32_t rows() const;
  // What finish writes: a `whole` segment, for readers; or a `piece` of one, for
  // merge_segments only: its values, rows and created_at order, without the collation orders,
  // sort orders and trigram postings that the merge builds once for all its pieces anyway.
  enum class Finish { whole, piece };
  // Writes the segment into `path` (a file the caller renames into place), or anonymous
  // memory when `path` is empty, and loads it; large segments are written on two cores.
  // Leaves the builder empty.
  std::shared_ptr<const Segment> finish(const std::string& path, const SegmentIdentity& identity,
                                        Finish what = Finish::whole);

 private:
  struct Columns;
  std::unique_ptr<Columns> columns_;
};

// A row of one of several segments (of a snapshot's parts): which one, which row.
struct Ref {
  uint32_t part;
  uint32_t row;
};

// How many columns merge_segments works on at once: `one` keeps the memory of one column (a
// compaction of the whole base); `two`, on two cores, twice that for half the time (a delta).
enum class MergeThreads { one, two };

// What merge_segments throws when its `stop` flag was raised: the merge was given up between
// two columns, and nothing of it is left (its file is the caller's to remove).
struct MergeStopped {};

// One segment holding `rows` (rows of `sources`, in ascending id order), written column by
// column into `path` ("" = anonymous memory): memory holds one column at a time (two with
// MergeThreads::two), and each source column's pages are released from this process once read.
// With a `stop` flag, raised from another thread: throws MergeStopped before the next column.
std::shared_ptr<const Segment> merge_segments(const std::vector<const Segment*>& sources,
                                              const std::vector<Ref>& rows,
                                              const std::string& path,
                                              const SegmentIdentity& identity,
                                              MergeThreads threads = MergeThreads::one,
                                              const std::atomic<bool>* stop = nullptr);

// The segment in `bytes`. Throws SegmentFileError when a section is missing or inconsistent.
std::shared_ptr<const Segment> load_segment(std::shared_ptr<const SegmentBytes> bytes);

}  // namespace contacts::index
