// Compiles a ContactFilter against a snapshot into per-row tests.
#pragma once

#include <cstdint>
#include <vector>

#include "index/segment.h"
#include "query/contact_query.h"

namespace contacts::index {

// Cheap to call per row; holds pointers into the snapshot, which must outlive it.
class RowMatcher {
 public:
  RowMatcher(const Segment& snap, const ContactFilter& filter);
  // True when no row can match (a text filter or search term matches no stored value).
  bool matches_nothing() const { return nothing_; }
  // True when every row matches (no filter).
  bool matches_everything() const { return everything_; }
  bool operator()(uint32_t row) const;

 private:
  struct CodeTest {
    const uint32_t* codes;
    std::vector<uint8_t> match;  // by code
  };
  struct RangeTest {
    const int64_t* values;
    int64_t min, max;  // inclusive; nulls (kNullNumber) are below any min
  };
  struct SearchTerm {
    std::vector<CodeTest> fields;  // the term matches when any field does
  };
  std::vector<CodeTest> text_;
  std::vector<RangeTest> ranges_;
  std::vector<SearchTerm> terms_;
  bool nothing_ = false;
  bool everything_ = false;
};

}  // namespace contacts::index
