#include "index/list_pages.h"

#include <algorithm>

namespace contacts::index {
namespace {

// --- cursor pagination over (created_at, id) ---------------------------------------------

struct Key {
  int64_t created;
  int64_t id;
  bool operator<(const Key& o) const { return created != o.created ? created < o.created : id < o.id; }
};

Key key_of(const Snapshot& s, uint32_t row) { return {s.created_at_us[row], s.ids[row]}; }

// First position in created_order whose key is >= k (lower) or > k (upper).
int64_t lower_pos(const Snapshot& s, const Key& k) {
  auto it = std::lower_bound(s.created_order.begin(), s.created_order.end(), k,
                             [&](uint32_t row, const Key& key) { return key_of(s, row) < key; });
  return it - s.created_order.begin();
}
int64_t upper_pos(const Snapshot& s, const Key& k) {
  auto it = std::upper_bound(s.created_order.begin(), s.created_order.end(), k,
                             [&](const Key& key, uint32_t row) { return key < key_of(s, row); });
  return it - s.created_order.begin();
}

// Collects up to `need` matching rows walking created_order from `pos` by `step` (+1/-1).
std::vector<uint32_t> walk(const Snapshot& s, const RowMatcher& match, int64_t pos, int step,
                           size_t need) {
  std::vector<uint32_t> rows;
  const int64_t n = s.rows;
  for (; pos >= 0 && pos < n && rows.size() < need; pos += step) {
    const uint32_t row = s.created_order[pos];
    if (match(row)) rows.push_back(row);
  }
  return rows;
}

// Where a walk starts to visit the rows strictly after `k` in direction `step`.
int64_t start_after(const Snapshot& s, const Key& k, int step) {
  return step > 0 ? upper_pos(s, k) : lower_pos(s, k) - 1;
}

CursorToken token(const Key& k, bool backwards) { return {k.created, k.id, backwards}; }

}  // namespace

ListPage cursor_page(const Snapshot& s, const RowMatcher& match, const ListQuery& q) {
  ListPage page;
  if (match.matches_nothing()) return page;
  const int forward = q.ordering.front().descending ? -1 : +1;  // display direction
  const size_t size = q.page_size;
  std::vector<uint32_t> rows;
  if (!q.cursor) {
    rows = walk(s, match, forward > 0 ? 0 : int64_t{s.rows} - 1, forward, size + 1);
    if (rows.size() > size) {
      rows.pop_back();
      page.next = token(key_of(s, rows.back()), false);
    }
  } else if (!q.cursor->backwards) {
    const Key at{q.cursor->created_at_us, q.cursor->id};
    rows = walk(s, match, start_after(s, at, forward), forward, size + 1);
    if (rows.size() > size) {
      rows.pop_back();
      page.next = token(key_of(s, rows.back()), false);
    }
    const Key first = rows.empty() ? at : key_of(s, rows.front());
    if (!walk(s, match, start_after(s, first, -forward), -forward, 1).empty()) {
      page.previous = token(first, true);
    }
  } else {
    const Key at{q.cursor->created_at_us, q.cursor->id};
    rows = walk(s, match, start_after(s, at, -forward), -forward, size + 1);
    if (rows.size() > size) rows.pop_back();
    std::reverse(rows.begin(), rows.end());
    if (!rows.empty() &&
        !walk(s, match, start_after(s, key_of(s, rows.front()), -forward), -forward, 1).empty()) {
      page.previous = token(key_of(s, rows.front()), true);
    }
    const Key last = rows.empty() ? at : key_of(s, rows.back());
    if (!walk(s, match, start_after(s, last, forward), forward, 1).empty()) {
      page.next = token(last, false);
    }
  }
  page.rows.reserve(rows.size());
  for (uint32_t r : rows) page.rows.push_back(s.contact(r, q.include_meta));
  return page;
}

// --- limit-offset over any ordering --------------------------------------------------------

RowOrder::RowOrder(const Snapshot& s, const std::vector<OrderTerm>& ordering) {
  for (const OrderTerm& t : ordering) {
    Column c{Column::kId};
    c.descending = t.descending;
    auto number = [&](const std::vector<int64_t>& v) {
      c.kind = Column::kNumber;
      c.values = v.data();
    };
    const SortColumn col = sort_column(t.key);
    switch (col.kind) {
      case SortColumn::Kind::text:
        c.kind = Column::kText;
        c.codes = s.column(col.text).codes.data();
        c.rank = s.column(col.text).dict.rank.data();
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

// -1, 0, 1 comparing rows a and b on one column; missing values last in both directions.
int RowOrder::compare_on(const Column& c, uint32_t a, uint32_t b) {
  switch (c.kind) {
    case Column::kText: {
      const uint32_t ca = c.codes[a], cb = c.codes[b];
      if (ca == cb) return 0;
      if (ca == 0) return 1;
      if (cb == 0) return -1;
      const int r = c.rank[ca] < c.rank[cb] ? -1 : 1;
      return c.descending ? -r : r;
    }
    case Column::kNumber: {
      const int64_t va = c.values[a], vb = c.values[b];
      if (va == vb) return 0;
      if (va == kNullNumber) return 1;
      if (vb == kNullNumber) return -1;
      const int r = va < vb ? -1 : 1;
      return c.descending ? -r : r;
    }
    case Column::kId:
      if (a == b) return 0;
      return (a < b) != c.descending ? -1 : 1;  // rows are in id order
  }
  return 0;
}

ListPage ordered_page(const Snapshot& s, const RowMatcher& match, const ListQuery& q) {
  ListPage page;
  if (match.matches_nothing()) return page;
  const RowOrder order(s, q.ordering);
  const auto less = [&order](uint32_t a, uint32_t b) { return order(a, b); };  // cheap copies
  std::vector<uint32_t> rows;
  if (match.matches_everything()) {
    rows.resize(s.rows);
    for (uint32_t r = 0; r < s.rows; ++r) rows[r] = r;
  } else {
    for (uint32_t r = 0; r < s.rows; ++r) {
      if (match(r)) rows.push_back(r);
    }
  }
  if (q.offset >= rows.size()) return page;
  const size_t begin = q.offset;
  const size_t end = std::min<size_t>(rows.size(), begin + q.page_size);
  page.has_more = rows.size() > end;
  if (begin > 0) std::nth_element(rows.begin(), rows.begin() + begin, rows.end(), less);
  std::partial_sort(rows.begin() + begin, rows.begin() + end, rows.end(), less);
  for (size_t i = begin; i < end; ++i) page.rows.push_back(s.contact(rows[i], q.include_meta));
  return page;
}

// --- field endpoints ------------------------------------------------------------------------

namespace {

const TextColumn& field_column(const Snapshot& s, FieldEndpoint f) {
  if (const std::optional<TextField> field = endpoint_field(f)) return s.column(*field);
  return f == FieldEndpoint::company_address ? s.company_address : s.contact_address;
}

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

void distinct_values(const Snapshot& s, const Dictionary& dict, PageCollector& out) {
  const std::vector<uint8_t> match = search_match(dict, out.q.search_folded);
  for (uint32_t code : dict.by_rank) {
    if (!match[code] || dict.row_count[code] == 0) continue;
    if (!out.accept(s.ids[dict.first_row[code]], dict.values.get(code))) return;
  }
}

}  // namespace

FieldPage field_page(const Snapshot& s, const FieldQuery& q) {
  PageCollector out{q, {}};
  if (q.field == FieldEndpoint::keywords && q.separated) {
    const ListColumn& list = s.keyword_list;
    if (q.distinct) {
      distinct_values(s, list.dict, out);
    } else {
      const std::vector<uint8_t> match = search_match(list.dict, q.search_folded);
      for (uint32_t row = 0; row < s.rows; ++row) {
        for (uint32_t i = list.row_start[row]; i < list.row_start[row + 1]; ++i) {
          const uint32_t code = list.codes[i];
          if (match[code] && !out.accept(s.ids[row], list.dict.values.get(code))) {
            return std::move(out.page);
          }
        }
      }
    }
    return std::move(out.page);
  }
  const TextColumn& col = field_column(s, q.field);
  if (q.distinct) {
    distinct_values(s, col.dict, out);
  } else {
    const std::vector<uint8_t> match = search_match(col.dict, q.search_folded);
    for (uint32_t row = 0; row < s.rows; ++row) {
      const uint32_t code = col.codes[row];
      if (match[code] && !out.accept(s.ids[row], col.dict.values.get(code))) break;
    }
  }
  return std::move(out.page);
}

}  // namespace contacts::index
