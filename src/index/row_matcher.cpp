#include "index/row_matcher.h"

#include <algorithm>
#include <atomic>

namespace contacts::index {
namespace {

std::atomic<uint32_t> lazy_min_values{kLazyMinValues};
std::atomic<uint64_t> lazy_min_posting_bytes{kLazyMinPostingBytes};

}  // namespace

void set_lazy_thresholds(uint32_t min_values, uint64_t min_posting_bytes) {
  lazy_min_values = min_values;
  lazy_min_posting_bytes = min_posting_bytes;
}

bool RowMatcher::contains_test(const TextColumn& col, const std::string& term, MatchScope scope,
                               CodeTest& test) const {
  test.codes = col.codes.data();
  const Dictionary& dict = col.dict;
  if (scope == MatchScope::few_rows && dict.size() >= lazy_min_values.load() &&
      term.find('\0') == std::string::npos) {
    const uint64_t cost =
        dict.trigrams.keys.empty() ? UINT64_MAX : lookup_cost(dict.trigrams, term);
    if (cost == 0) return false;  // a trigram no value has
    if (cost >= lazy_min_posting_bytes.load()) {
      test.lazy = &dict.folded;
      test.term = term;
      return true;
    }
  }
  dict.match_contains(term, test.match);
  return std::find(test.match.begin(), test.match.end(), 1) != test.match.end();
}

RowMatcher::RowMatcher(const Segment& seg, const ContactFilter& filter, MatchScope scope) {
  everything_ = filter.empty();
  for (const TextFilter& f : filter.text) {
    const TextColumn& col = seg.column(f.field);
    CodeTest test{};
    test.field = f.field;
    test.codes = col.codes.data();
    bool any = false;
    if (f.exact) {
      col.dict.match_exact(f.folded, test.match);
      any = std::find(test.match.begin(), test.match.end(), 1) != test.match.end();
    } else {
      any = contains_test(col, f.folded, scope, test);
    }
    if (!any) nothing_ = true;
    text_.push_back(std::move(test));
  }
  std::stable_partition(text_.begin(), text_.end(), [](const CodeTest& t) { return !t.lazy; });
  for (const NumberRange& r : filter.numbers) {
    ranges_.push_back({seg.numbers[static_cast<size_t>(r.field)].data(),
                       r.min.value_or(kNullNumber + 1), r.max.value_or(INT64_MAX)});
  }
  auto add_time = [&](std::span<const int64_t> col, const std::optional<int64_t>& after,
                      const std::optional<int64_t>& before) {
    if (after || before) {
      ranges_.push_back({col.data(), after.value_or(INT64_MIN), before.value_or(INT64_MAX)});
    }
  };
  add_time(seg.created_at_us, filter.created_after_us, filter.created_before_us);
  add_time(seg.updated_at_us, filter.updated_after_us, filter.updated_before_us);
  for (const std::string& term : filter.search_terms) {
    SearchTerm st;
    for (const TextFieldInfo& info : text_fields()) {
      if (!info.in_search) continue;
      CodeTest test{};
      if (contains_test(seg.column(info.field), term, scope, test)) {
        st.lazy = st.lazy || test.lazy;
        st.fields.push_back(std::move(test));
      }
    }
    std::stable_partition(st.fields.begin(), st.fields.end(),
                          [](const CodeTest& t) { return !t.lazy; });
    if (st.fields.empty()) nothing_ = true;
    terms_.push_back(std::move(st));
  }
  std::stable_partition(terms_.begin(), terms_.end(), [](const SearchTerm& t) { return !t.lazy; });
}

RowMatcher::Candidates RowMatcher::candidates(const Segment& seg) const {
  // The text filter whose values hold the fewest rows, if under 1/kNarrowFraction of them.
  const CodeTest* best = nullptr;
  uint64_t best_rows = seg.rows / kNarrowFraction;
  for (const CodeTest& t : text_) {
    // Code 0 is the empty value, whose rows the order keeps last, outside the rank order.
    if (t.lazy || t.match.empty() || t.match[0]) continue;
    if (seg.sort_orders[static_cast<size_t>(sort_key_of(t.field))].size() != seg.rows) continue;
    const Dictionary& dict = seg.column(t.field).dict;
    uint64_t rows = 0;
    for (uint32_t c = 1; c < t.match.size(); ++c) {
      if (t.match[c]) rows += dict.row_count[c];
    }
    if (rows < best_rows) {
      best = &t;
      best_rows = rows;
    }
  }
  Candidates out;
  if (!best) return out;
  out.order = seg.sort_orders[static_cast<size_t>(sort_key_of(best->field))];
  const std::span<const uint32_t> rank = seg.text_rank(best->field);
  std::vector<uint32_t> ranks;
  for (uint32_t c = 1; c < best->match.size(); ++c) {
    if (best->match[c]) ranks.push_back(rank[c]);
  }
  std::sort(ranks.begin(), ranks.end());
  ranks.erase(std::unique(ranks.begin(), ranks.end()), ranks.end());
  // The rank of a row: ascending along the order, the empty value's rows last.
  auto rank_of = [&](uint32_t row) {
    const uint32_t code = best->codes[row];
    return code == 0 ? UINT32_MAX : rank[code];
  };
  for (const uint32_t k : ranks) {
    const auto begin = std::partition_point(out.order.begin(), out.order.end(),
                                            [&](uint32_t row) { return rank_of(row) < k; });
    const auto end = std::partition_point(begin, out.order.end(),
                                          [&](uint32_t row) { return rank_of(row) <= k; });
    if (begin < end) {
      out.runs.emplace_back(static_cast<uint32_t>(begin - out.order.begin()),
                            static_cast<uint32_t>(end - out.order.begin()));
    }
  }
  return out;
}

bool RowMatcher::operator()(uint32_t row) const {
  for (const CodeTest& t : text_) {
    if (!t(row)) return false;
  }
  for (const RangeTest& r : ranges_) {
    const int64_t v = r.values[row];
    if (v < r.min || v > r.max) return false;
  }
  for (const SearchTerm& term : terms_) {
    bool any = false;
    for (const CodeTest& t : term.fields) {
      if (t(row)) {
        any = true;
        break;
      }
    }
    if (!any) return false;
  }
  return true;
}

}  // namespace contacts::index
