// What a read sees: an immutable stack of segments (index/segment.h). The first part is the
// base (the persisted snapshot, or the first build); each later part holds the rows written
// since the part before it. A contact rewritten by a later part (an upsert by e-mail keeps the
// id) is dead in the earlier parts: every live contact is in exactly one part.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "index/row_matcher.h"
#include "index/segment.h"
#include "query/contact_query.h"
#include "store/store.h"

namespace contacts::index {

// A segment as one snapshot sees it.
struct Part {
  std::shared_ptr<const Segment> segment;
  // The data version its rows were read since (Store::scan(since)); 0 for a base.
  uint64_t since = 0;
  // Rows superseded by a later part: a bit per row, and the same rows in ascending order.
  // Both null when none is.
  std::shared_ptr<const std::vector<uint64_t>> dead_bits;
  std::shared_ptr<const std::vector<uint32_t>> dead_rows;

  bool live(uint32_t row) const {
    return !dead_bits || !(((*dead_bits)[row >> 6] >> (row & 63)) & 1);
  }
  uint32_t live_rows() const {
    return segment->rows - (dead_rows ? static_cast<uint32_t>(dead_rows->size()) : 0);
  }
};

// Immutable once built; share it through std::shared_ptr<const Snapshot> between threads.
struct Snapshot {
  uint64_t data_version = 0;  // the store's data_version this snapshot reflects (at least)
  uint32_t rows = 0;          // live contacts
  std::vector<Part> parts;    // the base first

  const Segment& segment(const Ref& r) const { return *parts[r.part].segment; }
  int64_t id(const Ref& r) const { return segment(r).ids[r.row]; }
  // The live row of `id`, or nullopt.
  std::optional<Ref> find(int64_t id) const;
  // The live contact with the `i`-th smallest id (i < rows). Direct on a snapshot of one part
  // without dead rows; otherwise it walks the parts (tests and tools).
  Contact contact(uint32_t i, bool with_meta) const;
  // Rows of the delta parts (every part but the base), live or not.
  uint64_t delta_rows() const;
};

// A snapshot holding `segment` alone.
std::shared_ptr<const Snapshot> snapshot_of(std::shared_ptr<const Segment> segment);
// `older` with `delta` stacked on top (its rows supersede rows of the same id below it),
// reflecting `delta`'s data_version. `since`: what the delta was read since (default: the
// version of `older`).
std::shared_ptr<const Snapshot> stack(const Snapshot& older, std::shared_ptr<const Segment> delta,
                                      std::optional<uint64_t> since = std::nullopt);
// Every contact of `store`, built in anonymous memory.
std::shared_ptr<const Snapshot> build_snapshot(const Store& store);

// Calls `fn(Ref)` for every live contact of `snap` in ascending id order (a merge of the
// parts) until it returns false.
template <class Fn>
void for_each_live_in_id_order(const Snapshot& snap, Fn&& fn);

// Filters compiled against every part of a snapshot, which must outlive this.
class SnapshotMatcher {
 public:
  SnapshotMatcher(const Snapshot& snap, const ContactFilter& filter,
                  MatchScope scope = MatchScope::every_row);
  bool matches_nothing() const { return nothing_; }
  bool matches_everything() const { return everything_; }
  // True when part `p`'s rows can match at all.
  bool part_may_match(uint32_t p) const { return !parts_[p].matches_nothing(); }
  bool operator()(const Ref& r) const {
    return snap_.parts[r.part].live(r.row) && parts_[r.part](r.row);
  }
  const RowMatcher& part(uint32_t p) const { return parts_[p]; }

 private:
  const Snapshot& snap_;
  std::vector<RowMatcher> parts_;
  bool nothing_ = true;
  bool everything_ = false;
};

// --- implementation of the template ----------------------------------------------------------

template <class Fn>
void for_each_live_in_id_order(const Snapshot& snap, Fn&& fn) {
  std::vector<uint32_t> pos(snap.parts.size(), 0);
  for (;;) {
    int best = -1;
    int64_t best_id = 0;
    for (size_t p = 0; p < snap.parts.size(); ++p) {
      const Part& part = snap.parts[p];
      while (pos[p] < part.segment->rows && !part.live(pos[p])) ++pos[p];
      if (pos[p] == part.segment->rows) continue;
      const int64_t id = part.segment->ids[pos[p]];
      if (best < 0 || id < best_id) {
        best = static_cast<int>(p);
        best_id = id;
      }
    }
    if (best < 0) return;
    if (!fn(Ref{static_cast<uint32_t>(best), pos[best]++})) return;
  }
}

}  // namespace contacts::index
