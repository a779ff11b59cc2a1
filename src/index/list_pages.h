// Page selection over a snapshot: cursor walks, ordered limit-offset slices, field values.
// Every function merges the snapshot's parts and skips their dead rows.
#pragma once

#include <cstdint>
#include <vector>

#include "index/snapshot.h"
#include "query/reader.h"

namespace contacts::index {

// Compares rows of one segment by a list ordering (contract section 4: text by Unicode
// collation, through the ranks of the segment's dictionaries, empty text and null numbers last in both directions, ties by id in the first term's
// direction). `ordering` must not be empty; the segment must outlive this.
class RowOrder {
 public:
  RowOrder(const Segment& seg, const std::vector<OrderTerm>& ordering);
  // True when row `a` comes before row `b`.
  bool operator()(uint32_t a, uint32_t b) const;

 private:
  struct Column {
    enum Kind { kText, kNumber, kId } kind;
    const uint32_t* codes = nullptr;  // kText
    const uint32_t* rank = nullptr;   // kText
    const int64_t* values = nullptr;  // kNumber (kNullNumber sorts last)
    bool descending = false;
  };
  static int compare_on(const Column& c, uint32_t a, uint32_t b);
  std::vector<Column> columns_;
};

// The same order between rows of any parts of a snapshot, comparing values (slower than
// RowOrder: for merging rows that RowOrder sorted within their parts).
class RefOrder {
 public:
  RefOrder(const Snapshot& snap, const std::vector<OrderTerm>& ordering);
  bool operator()(const Ref& a, const Ref& b) const;

 private:
  const Snapshot& snap_;
  const std::vector<OrderTerm>& ordering_;
};

// The matching live rows of part `p`, sorted by `order`; only the first `keep` are kept (and
// sorted) when there are more. `total` receives how many rows matched.
std::vector<uint32_t> sorted_part_rows(const Snapshot& snap, const SnapshotMatcher& match,
                                       uint32_t p, const RowOrder& order, size_t keep,
                                       uint64_t& total);

// The first `keep` matching live rows of part `p` in `ordering`, sorted, and whether more
// match. Walks the part's sort order of the first key (index/segment.h) group of equal values
// by group and stops once `keep` rows and their group are in: a page costs the rows walked to
// fill it, not the part's size. Without a sort order for that key, sorts every match.
struct PartTop {
  std::vector<uint32_t> rows;
  bool more = false;
};
PartTop top_part_rows(const Snapshot& snap, const SnapshotMatcher& match, uint32_t p,
                      const std::vector<OrderTerm>& ordering, size_t keep);

ListPage cursor_page(const Snapshot& snap, const SnapshotMatcher& match, const ListQuery& q);
ListPage ordered_page(const Snapshot& snap, const SnapshotMatcher& match, const ListQuery& q);
FieldPage field_page(const Snapshot& snap, const FieldQuery& q);

}  // namespace contacts::index
