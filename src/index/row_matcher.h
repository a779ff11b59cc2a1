// Compiles a ContactFilter against a segment into per-row tests.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "index/segment.h"
#include "query/contact_query.h"

namespace contacts::index {

// How many rows a matcher will be asked about: decides whether a substring test on a large
// dictionary is worked out for every value once (every_row: counts, exports) or, when that
// costs more than a page needs, tested on each visited row's value (few_rows: pages, which
// walk an order and stop once full).
enum class MatchScope { every_row, few_rows };

// A dictionary is tested row by row (MatchScope::few_rows) when it has at least
// `min_values` values and finding every value holding the term costs at least
// `min_posting_bytes` of trigram postings (any term, without usable postings). Defaults:
inline constexpr uint32_t kLazyMinValues = 1 << 16;
inline constexpr uint64_t kLazyMinPostingBytes = 64 * 1024;
// Changes them for the whole process (tests: 0, 0 makes every page test rows one by one).
void set_lazy_thresholds(uint32_t min_values, uint64_t min_posting_bytes);

// Cheap to call per row; holds pointers into the segment, which must outlive it.
class RowMatcher {
 public:
  RowMatcher(const Segment& seg, const ContactFilter& filter,
             MatchScope scope = MatchScope::every_row);
  // True when no row can match (a text filter or search term matches no stored value).
  bool matches_nothing() const { return nothing_; }
  // True when every row matches (no filter).
  bool matches_everything() const { return everything_; }
  bool operator()(uint32_t row) const;

  // The rows of `seg` (the segment this matcher was made for) that may match, when a text
  // filter narrows them to under 1/kNarrowFraction of it: the rows of its matching values are
  // contiguous runs of the field's presorted order (rows by collation rank), found by binary
  // search. `order` is empty otherwise (every row is a candidate). A candidate still needs
  // operator() (a run holds every row of its rank, and the other filters are not applied).
  // Worked out on each call, for a pass over every matching row (counts); pages stop early.
  struct Candidates {
    std::span<const uint32_t> order;
    std::vector<std::pair<uint32_t, uint32_t>> runs;  // [begin, end) positions in `order`
  };
  static constexpr uint64_t kNarrowFraction = 16;
  Candidates candidates(const Segment& seg) const;

 private:
  struct CodeTest {
    TextField field{};  // of a text filter (candidates())
    const uint32_t* codes;
    std::vector<uint8_t> match;  // by code, unless `lazy`
    const Pool* lazy = nullptr;  // folded values to search for `term` row by row
    std::string term;
    bool operator()(uint32_t row) const {
      if (!lazy) return match[codes[row]];
      return lazy->get(codes[row]).find(term) != std::string_view::npos;
    }
  };
  struct RangeTest {
    const int64_t* values;
    int64_t min, max;  // inclusive; nulls (kNullNumber) are below any min
  };
  struct SearchTerm {
    std::vector<CodeTest> fields;  // the term matches when any field does; lazy ones last
    bool lazy = false;             // some field is
  };
  // A contains test of `folded_term` on `col`; false when it can match no row.
  bool contains_test(const TextColumn& col, const std::string& folded_term, MatchScope scope,
                     CodeTest& test) const;
  std::vector<CodeTest> text_;  // lazy ones last
  std::vector<RangeTest> ranges_;
  std::vector<SearchTerm> terms_;  // lazy ones last
  bool nothing_ = false;
  bool everything_ = false;
};

}  // namespace contacts::index
