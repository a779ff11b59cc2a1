// Page selection over a snapshot: cursor walks and ordered limit-offset slices.
#pragma once

#include <cstdint>
#include <vector>

#include "index/row_matcher.h"
#include "index/snapshot.h"
#include "query/reader.h"

namespace contacts::index {

// Compares rows of a snapshot by a list ordering (contract section 4: text by code point,
// empty text and null numbers last in both directions, ties by id in the first term's
// direction). `ordering` must not be empty; the snapshot must outlive this.
class RowOrder {
 public:
  RowOrder(const Snapshot& snap, const std::vector<OrderTerm>& ordering);
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

ListPage cursor_page(const Snapshot& snap, const RowMatcher& match, const ListQuery& q);
ListPage ordered_page(const Snapshot& snap, const RowMatcher& match, const ListQuery& q);
FieldPage field_page(const Snapshot& snap, const FieldQuery& q);

}  // namespace contacts::index
