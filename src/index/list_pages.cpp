#include "index/list_pages.h"

#include <algorithm>
#include <optional>
#include <unordered_map>

#include "util/collation.h"
#include "util/deadline.h"

namespace contacts::index {
namespace {

// --- cursor pagination over (created_at, id) ---------------------------------------------

struct Key {
  int64_t created;
  int64_t id;
  bool operator<(const Key& o) const { return created != o.created ? created < o.created : id < o.id; }
};

Key key_of(const Segment& s, uint32_t row) { return {s.created_at_us[row], s.ids[row]}; }
Key key_of(const Snapshot& s, const Ref& r) { return key_of(s.segment(r), r.row); }

// Where a walk of `s`'s created_order starts to visit the rows strictly after `k` in
// direction `step` (+1/-1).
int64_t start_after(const Segment& s, const Key& k, int step) {
  const auto order = s.created_order;
  if (step > 0) {
    auto it = std::upper_bound(order.begin(), order.end(), k,
                               [&](const Key& key, uint32_t row) { return key < key_of(s, row); });
    return it - order.begin();
  }
  auto it = std::lower_bound(order.begin(), order.end(), k,
                             [&](uint32_t row, const Key& key) { return key_of(s, row) < key; });
  return (it - order.begin()) - 1;
}

// Collects up to `need` matching rows in (created_at, id) order, walking by `step` from just
// after `after` (or from the first row in that direction), merging the parts.
std::vector<Ref> walk(const Snapshot& s, const SnapshotMatcher& match,
                      const std::optional<Key>& after, int step, size_t need) {
  deadline::check();
  std::vector<Ref> rows;
  std::vector<int64_t> pos(s.parts.size());
  for (uint32_t p = 0; p < s.parts.size(); ++p) {
    const Segment& seg = *s.parts[p].segment;
    if (!match.part_may_match(p)) {
      pos[p] = -1;
    } else if (after) {
      pos[p] = start_after(seg, *after, step);
    } else {
      pos[p] = step > 0 ? 0 : int64_t{seg.rows} - 1;
    }
  }
  while (rows.size() < need) {
    int best = -1;
    Key best_key{};
    for (uint32_t p = 0; p < s.parts.size(); ++p) {
      const Segment& seg = *s.parts[p].segment;
      int64_t& i = pos[p];
      while (i >= 0 && i < seg.rows && !match(Ref{p, seg.created_order[i]})) {
        deadline::check_every(static_cast<uint64_t>(i));
        i += step;
      }
      if (i < 0 || i >= seg.rows) continue;
      const Key k = key_of(seg, seg.created_order[i]);
      if (best < 0 || (step > 0 ? k < best_key : best_key < k)) {
        best = static_cast<int>(p);
        best_key = k;
      }
    }
    if (best < 0) break;
    const uint32_t p = static_cast<uint32_t>(best);
    rows.push_back({p, s.parts[p].segment->created_order[pos[p]]});
    pos[p] += step;
  }
  return rows;
}

CursorToken token(const Key& k, bool backwards) { return {k.created, k.id, backwards}; }

void copy_rows(const Snapshot& s, const std::vector<Ref>& rows, bool meta, ListPage& page) {
  page.rows.reserve(rows.size());
  for (const Ref& r : rows) page.rows.push_back(s.segment(r).contact(r.row, meta));
}

}  // namespace

ListPage cursor_page(const Snapshot& s, const SnapshotMatcher& match, const ListQuery& q) {
  ListPage page;
  if (match.matches_nothing()) return page;
  const int forward = q.ordering.front().descending ? -1 : +1;  // display direction
  const size_t size = q.page_size;
  std::vector<Ref> rows;
  if (!q.cursor) {
    rows = walk(s, match, std::nullopt, forward, size + 1);
    if (rows.size() > size) {
      rows.pop_back();
      page.next = token(key_of(s, rows.back()), false);
    }
  } else if (!q.cursor->backwards) {
    const Key at{q.cursor->created_at_us, q.cursor->id};
    rows = walk(s, match, at, forward, size + 1);
    if (rows.size() > size) {
      rows.pop_back();
      page.next = token(key_of(s, rows.back()), false);
    }
    const Key first = rows.empty() ? at : key_of(s, rows.front());
    if (!walk(s, match, first, -forward, 1).empty()) page.previous = token(first, true);
  } else {
    const Key at{q.cursor->created_at_us, q.cursor->id};
    rows = walk(s, match, at, -forward, size + 1);
    if (rows.size() > size) rows.pop_back();
    std::reverse(rows.begin(), rows.end());
    if (!rows.empty() && !walk(s, match, key_of(s, rows.front()), -forward, 1).empty()) {
      page.previous = token(key_of(s, rows.front()), true);
    }
    const Key last = rows.empty() ? at : key_of(s, rows.back());
    if (!walk(s, match, last, forward, 1).empty()) page.next = token(last, false);
  }
  copy_rows(s, rows, q.include_meta, page);
  return page;
}

// --- limit-offset over any ordering --------------------------------------------------------

RowOrder::RowOrder(const Segment& s, const std::vector<OrderTerm>& ordering) {
  for (const OrderTerm& t : ordering) {
    Column c{Column::kId};
    c.descending = t.descending;
    auto number = [&](std::span<const int64_t> v) {
      c.kind = Column::kNumber;
      c.values = v.data();
    };
    const SortColumn col = sort_column(t.key);
    switch (col.kind) {
      case SortColumn::Kind::text:
        c.kind = Column::kText;
        c.codes = s.column(col.text).codes.data();
        c.rank = s.text_rank(col.text).data();
        break;
      case SortColumn::Kind::number: number(s.numbers[static_cast<size_t>(col.number)]); break;
      case SortColumn::Kind::created_at: number(s.created_at_us); break;
      case SortColumn::Kind::updated_at: number(s.updated_at_us); break;
      case SortColumn::Kind::id: break;
    }
    columns_.push_back(c);
  }
  columns_.push_back({Column::kId, nullptr, nullptr, nullptr, ordering.front().descending});
}

bool RowOrder::operator()(uint32_t a, uint32_t b) const {
  for (const Column& c : columns_) {
    const int r = compare_on(c, a, b);
    if (r != 0) return r < 0;
  }
  return false;
}

namespace {

// -1, 0, 1 for a result `r` of comparing two values; `missing` values sort last in both
// directions (and a missing value is never equal to a present one, even a text of ignorable
// characters only, whose collation key is the empty text's).
int directed(int r, bool a_missing, bool b_missing, bool descending) {
  if (a_missing || b_missing) return a_missing == b_missing ? 0 : a_missing ? 1 : -1;
  return descending ? -r : r;
}

template <class T>
int compare_present(const T& a, const T& b, bool a_missing, bool b_missing, bool descending) {
  return directed(a < b ? -1 : b < a ? 1 : 0, a_missing, b_missing, descending);
}

}  // namespace

// -1, 0, 1 comparing rows a and b on one column; missing values last in both directions.
int RowOrder::compare_on(const Column& c, uint32_t a, uint32_t b) {
  switch (c.kind) {
    case Column::kText: {
      const uint32_t ca = c.codes[a], cb = c.codes[b];
      if (ca == cb) return 0;
      return compare_present(c.rank[ca], c.rank[cb], ca == 0, cb == 0, c.descending);
    }
    case Column::kNumber: {
      const int64_t va = c.values[a], vb = c.values[b];
      return compare_present(va, vb, va == kNullNumber, vb == kNullNumber, c.descending);
    }
    case Column::kId:
      if (a == b) return 0;
      return (a < b) != c.descending ? -1 : 1;  // rows are in id order
  }
  return 0;
}

RefOrder::RefOrder(const Snapshot& snap, const std::vector<OrderTerm>& ordering)
    : snap_(snap), ordering_(ordering) {}

bool RefOrder::operator()(const Ref& a, const Ref& b) const {
  const Segment& sa = snap_.segment(a);
  const Segment& sb = snap_.segment(b);
  for (const OrderTerm& t : ordering_) {
    const SortColumn col = sort_column(t.key);
    int r = 0;
    auto numbers = [&](std::span<const int64_t> va, std::span<const int64_t> vb) {
      const int64_t x = va[a.row], y = vb[b.row];
      return compare_present(x, y, x == kNullNumber, y == kNullNumber, t.descending);
    };
    switch (col.kind) {
      case SortColumn::Kind::text: {
        const uint32_t x = sa.column(col.text).codes[a.row];
        const uint32_t y = sb.column(col.text).codes[b.row];
        if (a.part == b.part) {  // ranks compare values within a segment
          const std::span<const uint32_t> rank = sa.text_rank(col.text);
          r = compare_present(rank[x], rank[y], x == 0, y == 0, t.descending);
        } else {
          r = directed(collation::compare(sa.column(col.text).dict.values.get(x),
                                          sb.column(col.text).dict.values.get(y)),
                       x == 0, y == 0, t.descending);
        }
        break;
      }
      case SortColumn::Kind::number: {
        const size_t f = static_cast<size_t>(col.number);
        r = numbers(sa.numbers[f], sb.numbers[f]);
        break;
      }
      case SortColumn::Kind::created_at: r = numbers(sa.created_at_us, sb.created_at_us); break;
      case SortColumn::Kind::updated_at: r = numbers(sa.updated_at_us, sb.updated_at_us); break;
      case SortColumn::Kind::id:
        r = compare_present(sa.ids[a.row], sb.ids[b.row], false, false, t.descending);
        break;
    }
    if (r != 0) return r < 0;
  }
  const int64_t x = sa.ids[a.row], y = sb.ids[b.row];
  return ordering_.front().descending ? x > y : x < y;
}

std::vector<uint32_t> sorted_part_rows(const Snapshot& s, const SnapshotMatcher& match,
                                       uint32_t p, const RowOrder& order, size_t keep,
                                       uint64_t& total) {
  std::vector<uint32_t> rows;
  total = 0;
  if (!match.part_may_match(p)) return rows;
  const Part& part = s.parts[p];
  const RowMatcher& m = match.part(p);
  const bool all = m.matches_everything() && !part.dead_rows;
  if (all) {
    rows.resize(part.segment->rows);
    for (uint32_t r = 0; r < rows.size(); ++r) rows[r] = r;
  } else {
    for (uint32_t r = 0; r < part.segment->rows; ++r) {
      deadline::check_every(r);
      if (part.live(r) && m(r)) rows.push_back(r);
    }
  }
  total = rows.size();
  const auto less = [&order](uint32_t a, uint32_t b) { return order(a, b); };
  if (rows.size() > keep) {
    std::partial_sort(rows.begin(), rows.begin() + keep, rows.end(), less);
    rows.resize(keep);
  } else {
    std::sort(rows.begin(), rows.end(), less);
  }
  return rows;
}

PartTop top_part_rows(const Snapshot& s, const SnapshotMatcher& match, uint32_t p,
                      const std::vector<OrderTerm>& ordering, size_t keep) {
  PartTop top;
  if (!match.part_may_match(p)) return top;
  const Segment& seg = *s.parts[p].segment;
  const OrderTerm first = ordering.front();
  const std::span<const uint32_t> order = seg.sort_orders[static_cast<size_t>(first.key)];
  const bool by_id = first.key == SortKey::id;
  const RowOrder row_order(seg, ordering);
  if (!by_id && order.empty()) {
    uint64_t total = 0;
    top.rows = sorted_part_rows(s, match, p, row_order, keep, total);
    top.more = total > top.rows.size();
    return top;
  }
  // What the first key compares: a text code (0 = empty) or a number (kNullNumber = null).
  const SortColumn col = sort_column(first.key);
  const uint32_t* codes = col.kind == SortColumn::Kind::text ? seg.column(col.text).codes.data() : nullptr;
  const int64_t* values = nullptr;
  if (col.kind == SortColumn::Kind::number) values = seg.numbers[static_cast<size_t>(col.number)].data();
  if (col.kind == SortColumn::Kind::created_at) values = seg.created_at_us.data();
  if (col.kind == SortColumn::Kind::updated_at) values = seg.updated_at_us.data();
  auto missing = [&](uint32_t row) {
    return codes ? codes[row] == 0 : values && values[row] == kNullNumber;
  };
  const uint32_t* rank = codes ? seg.text_rank(col.text).data() : nullptr;
  auto same_group = [&](uint32_t a, uint32_t b) {
    if (codes) {  // equal ranks are equal collation keys; an empty value is a group of its own
      return codes[a] == codes[b] ||
             (codes[a] != 0 && codes[b] != 0 && rank[codes[a]] == rank[codes[b]]);
    }
    return values ? values[a] == values[b] : a == b;
  };
  const int64_t n = seg.rows;
  auto row_at = [&](int64_t pos) { return by_id ? static_cast<uint32_t>(pos) : order[pos]; };
  // Rows with a value come first in the order, in ascending value; the others after them.
  int64_t present = n;
  if (!by_id) {
    present = std::partition_point(order.begin(), order.end(), [&](uint32_t r) { return !missing(r); }) -
              order.begin();
  }
  // Display order: ascending, or descending (values and ties reversed), then the rows without
  // a value (ties by id in the first term's direction: reversed too).
  auto position = [&](int64_t i) {
    if (!first.descending) return i;
    return i < present ? present - 1 - i : n - 1 - (i - present);
  };
  const Part& part = s.parts[p];
  const RowMatcher& m = match.part(p);
  std::optional<uint32_t> boundary;  // the first row of the group holding the keep-th match
  // With one term, the walk's order is the ordering itself (ties in row order, which is id
  // order, reversed with the values): the keep-th match ends the page, its group need not.
  const bool walk_is_order = ordering.size() == 1;
  int64_t i = 0;
  for (; i < n; ++i) {
    deadline::check_every(static_cast<uint64_t>(i));
    const uint32_t row = row_at(position(i));
    if (boundary && (walk_is_order || !same_group(row, *boundary))) break;
    if (!part.live(row) || !m(row)) continue;
    top.rows.push_back(row);
    if (!boundary && top.rows.size() >= keep) boundary = row;
  }
  for (; i < n && !top.more; ++i) {  // is there a match past the last group?
    deadline::check_every(static_cast<uint64_t>(i));
    const uint32_t row = row_at(position(i));
    top.more = part.live(row) && m(row);
  }
  // The last group may be large (a field with few values): only its head is sorted.
  const auto less = [&row_order](uint32_t a, uint32_t b) { return row_order(a, b); };
  if (top.rows.size() > keep) {
    std::partial_sort(top.rows.begin(), top.rows.begin() + keep, top.rows.end(), less);
    top.rows.resize(keep);
    top.more = true;
  } else {
    std::sort(top.rows.begin(), top.rows.end(), less);
  }
  return top;
}

ListPage ordered_page(const Snapshot& s, const SnapshotMatcher& match, const ListQuery& q) {
  ListPage page;
  if (match.matches_nothing()) return page;
  const size_t begin = q.offset >= s.rows ? s.rows : static_cast<size_t>(q.offset);
  const size_t end = begin + q.page_size;
  // The first `end` rows of each part, sorted, then merged.
  std::vector<std::vector<uint32_t>> lists(s.parts.size());
  for (uint32_t p = 0; p < s.parts.size(); ++p) {
    PartTop top = top_part_rows(s, match, p, q.ordering, end);
    page.has_more = page.has_more || top.more;
    lists[p] = std::move(top.rows);
  }
  const RefOrder before(s, q.ordering);
  std::vector<size_t> pos(lists.size(), 0);
  for (size_t i = 0; i < end; ++i) {
    std::optional<Ref> best;
    for (uint32_t p = 0; p < lists.size(); ++p) {
      if (pos[p] == lists[p].size()) continue;
      const Ref r{p, lists[p][pos[p]]};
      if (!best || (lists.size() > 1 && before(r, *best))) best = r;
    }
    if (!best) break;
    ++pos[best->part];
    if (i >= begin) page.rows.push_back(s.segment(*best).contact(best->row, q.include_meta));
  }
  for (size_t p = 0; p < lists.size(); ++p) {
    if (pos[p] < lists[p].size()) page.has_more = true;
  }
  return page;
}

// --- field endpoints ------------------------------------------------------------------------

namespace {

// Collects rows of a field page: skips `offset` accepted items, keeps `limit`, notes more.
struct PageCollector {
  const FieldQuery& q;
  FieldPage page;
  uint64_t skipped = 0;
  // Returns false when the page is full and one more item was seen.
  bool accept(int64_t id, std::string_view value) {
    if (skipped < q.offset) {
      ++skipped;
      return true;
    }
    if (page.rows.size() == q.limit) {
      page.has_more = true;
      return false;
    }
    page.rows.push_back({id, std::string(value)});
    return true;
  }
};

std::vector<uint8_t> search_match(const Dictionary& dict, const std::string& term) {
  std::vector<uint8_t> match;
  if (term.empty()) {
    match.assign(dict.size(), 1);
  } else {
    dict.match_contains(term, match);
  }
  if (!match.empty()) match[0] = 0;  // empty values are left out
  return match;
}

// The column a field endpoint lists in one segment: a text column or the keyword list.
struct FieldColumn {
  const Dictionary* dict;
  const TextColumn* text = nullptr;  // one value per row
  const ListColumn* list = nullptr;  // several values per row

  bool row_has(uint32_t row, uint32_t code) const {
    if (text) return text->codes[row] == code;
    for (uint32_t i = list->row_start[row]; i < list->row_start[row + 1]; ++i) {
      if (list->codes[i] == code) return true;
    }
    return false;
  }
  template <class Fn>
  void for_each_code(uint32_t row, Fn&& fn) const {
    if (text) {
      fn(text->codes[row]);
      return;
    }
    for (uint32_t i = list->row_start[row]; i < list->row_start[row + 1]; ++i) fn(list->codes[i]);
  }
};

FieldColumn field_column(const Segment& s, const FieldQuery& q) {
  if (q.field == FieldEndpoint::keywords && q.separated) return {&s.keyword_list.dict, nullptr, &s.keyword_list};
  const TextColumn* col = nullptr;
  if (const std::optional<TextField> field = endpoint_field(q.field)) {
    col = &s.column(*field);
  } else {
    col = q.field == FieldEndpoint::company_address ? &s.company_address : &s.contact_address;
  }
  return {&col->dict, col, nullptr};
}

// The distinct values of one part in collation order (then bytes), with their live rows.
class DistinctValues {
 public:
  DistinctValues(const Part& part, const FieldQuery& q)
      : part_(part), col_(field_column(*part.segment, q)), match_(search_match(*col_.dict, q.search_folded)) {
    if (part.dead_rows) {
      for (uint32_t row : *part.dead_rows) col_.for_each_code(row, [&](uint32_t c) { ++dead_[c]; });
    }
    settle();
  }
  bool done() const { return pos_ == col_.dict->by_rank.size(); }
  std::string_view value() const { return col_.dict->values.get(code()); }
  // The smallest id of a live row holding the current value.
  int64_t first_id() const {
    const Segment& seg = *part_.segment;
    uint32_t row = col_.dict->first_row[code()];
    while (!part_.live(row) || !col_.row_has(row, code())) ++row;  // a live one exists
    return seg.ids[row];
  }
  void advance() {
    ++pos_;
    settle();
  }

 private:
  uint32_t code() const { return col_.dict->by_rank[pos_]; }
  uint32_t live_count(uint32_t c) const {
    auto it = dead_.find(c);
    return col_.dict->row_count[c] - (it == dead_.end() ? 0 : it->second);
  }
  void settle() {
    while (!done() && (!match_[code()] || live_count(code()) == 0)) ++pos_;
  }
  const Part& part_;
  FieldColumn col_;
  std::vector<uint8_t> match_;
  std::unordered_map<uint32_t, uint32_t> dead_;  // code -> dead rows holding it
  size_t pos_ = 0;
};

void distinct_values(const Snapshot& s, PageCollector& out) {
  std::vector<DistinctValues> parts;
  parts.reserve(s.parts.size());
  for (const Part& part : s.parts) parts.emplace_back(part, out.q);
  for (;;) {
    std::optional<std::string_view> least;
    for (const DistinctValues& d : parts) {
      if (!d.done() && (!least || collation::less_then_bytes(d.value(), *least))) least = d.value();
    }
    if (!least) return;
    int64_t id = INT64_MAX;
    std::string value(*least);
    for (DistinctValues& d : parts) {
      if (d.done() || d.value() != value) continue;
      id = std::min(id, d.first_id());
      d.advance();
    }
    if (!out.accept(id, value)) return;
  }
}

}  // namespace

FieldPage field_page(const Snapshot& s, const FieldQuery& q) {
  PageCollector out{q, {}};
  if (q.distinct) {
    distinct_values(s, out);
    return std::move(out.page);
  }
  std::vector<FieldColumn> cols;
  std::vector<std::vector<uint8_t>> matches;
  for (const Part& part : s.parts) {
    cols.push_back(field_column(*part.segment, q));
    matches.push_back(search_match(*cols.back().dict, q.search_folded));
  }
  bool full = false;
  uint64_t visited = 0;
  for_each_live_in_id_order(s, [&](const Ref& r) {
    deadline::check_every(visited++);
    const FieldColumn& col = cols[r.part];
    const int64_t id = s.id(r);
    col.for_each_code(r.row, [&](uint32_t code) {
      if (!full && matches[r.part][code] && !out.accept(id, col.dict->values.get(code))) {
        full = true;
      }
    });
    return !full;
  });
  return std::move(out.page);
}

}  // namespace contacts::index
