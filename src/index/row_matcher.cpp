#include "index/row_matcher.h"

#include <algorithm>

namespace contacts::index {

RowMatcher::RowMatcher(const Segment& snap, const ContactFilter& filter) {
  everything_ = filter.empty();
  for (const TextFilter& f : filter.text) {
    const TextColumn& col = snap.column(f.field);
    CodeTest test{col.codes.data(), {}};
    if (f.exact) {
      col.dict.match_exact(f.folded, test.match);
    } else {
      col.dict.match_contains(f.folded, test.match);
    }
    if (std::find(test.match.begin(), test.match.end(), 1) == test.match.end()) nothing_ = true;
    text_.push_back(std::move(test));
  }
  for (const NumberRange& r : filter.numbers) {
    ranges_.push_back({snap.numbers[static_cast<size_t>(r.field)].data(),
                       r.min.value_or(kNullNumber + 1), r.max.value_or(INT64_MAX)});
  }
  auto add_time = [&](std::span<const int64_t> col, const std::optional<int64_t>& after,
                      const std::optional<int64_t>& before) {
    if (after || before) {
      ranges_.push_back({col.data(), after.value_or(INT64_MIN), before.value_or(INT64_MAX)});
    }
  };
  add_time(snap.created_at_us, filter.created_after_us, filter.created_before_us);
  add_time(snap.updated_at_us, filter.updated_after_us, filter.updated_before_us);
  for (const std::string& term : filter.search_terms) {
    SearchTerm st;
    for (const TextFieldInfo& info : text_fields()) {
      if (!info.in_search) continue;
      const TextColumn& col = snap.column(info.field);
      CodeTest test{col.codes.data(), {}};
      col.dict.match_contains(term, test.match);
      if (std::find(test.match.begin(), test.match.end(), 1) != test.match.end()) {
        st.fields.push_back(std::move(test));
      }
    }
    if (st.fields.empty()) nothing_ = true;
    terms_.push_back(std::move(st));
  }
}

bool RowMatcher::operator()(uint32_t row) const {
  for (const CodeTest& t : text_) {
    if (!t.match[t.codes[row]]) return false;
  }
  for (const RangeTest& r : ranges_) {
    const int64_t v = r.values[row];
    if (v < r.min || v > r.max) return false;
  }
  for (const SearchTerm& term : terms_) {
    bool any = false;
    for (const CodeTest& t : term.fields) {
      if (t.match[t.codes[row]]) {
        any = true;
        break;
      }
    }
    if (!any) return false;
  }
  return true;
}

}  // namespace contacts::index
