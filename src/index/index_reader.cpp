#include "index/index_reader.h"

#include <algorithm>
#include <unordered_map>

#include "index/list_pages.h"
#include "index/snapshot_stream.h"
#include "util/collation.h"
#include "util/deadline.h"

namespace contacts::index {

IndexReader::IndexReader(std::shared_ptr<const Snapshot> snapshot)
    : snapshot_(std::move(snapshot)) {}

void IndexReader::replace(std::shared_ptr<const Snapshot> snapshot) {
  {
    std::lock_guard lock(mutex_);
    snapshot_.swap(snapshot);
  }
  generation_.fetch_add(1);
  // The old snapshot (now in `snapshot`) is freed here, outside the lock, unless in use.
}

std::shared_ptr<const Snapshot> IndexReader::snapshot() const {
  std::lock_guard lock(mutex_);
  return snapshot_;
}

ListPage IndexReader::list(const ListQuery& q) const {
  const auto snap = snapshot();
  // Pages walk an order and stop once full: large dictionaries are tested row by row.
  const SnapshotMatcher match(*snap, q.filter, MatchScope::few_rows);
  return q.cursor_strategy ? cursor_page(*snap, match, q) : ordered_page(*snap, match, q);
}

uint64_t IndexReader::count(const ContactFilter& filter) const {
  const auto snap = snapshot();
  const SnapshotMatcher match(*snap, filter);
  if (match.matches_everything()) return snap->rows;
  if (match.matches_nothing()) return 0;
  uint64_t n = 0;
  for (uint32_t p = 0; p < snap->parts.size(); ++p) {
    if (!match.part_may_match(p)) continue;
    const Part& part = snap->parts[p];
    const RowMatcher& m = match.part(p);
    const uint32_t rows = part.segment->rows;
    if (const RowMatcher::Candidates c = m.candidates(*part.segment); !c.order.empty()) {
      uint32_t seen = 0;
      for (const auto& [begin, end] : c.runs) {
        for (uint32_t i = begin; i < end; ++i) {
          deadline::check_every(seen++);
          const uint32_t r = c.order[i];
          n += part.live(r) && m(r) ? 1 : 0;
        }
      }
      continue;
    }
    if (part.dead_rows) {
      for (uint32_t r = 0; r < rows; ++r) {
        deadline::check_every(r);
        n += part.live(r) && m(r) ? 1 : 0;
      }
    } else {
      for (uint32_t r = 0; r < rows; ++r) {
        deadline::check_every(r);
        n += m(r) ? 1 : 0;
      }
    }
  }
  return n;
}

std::optional<Contact> IndexReader::get(int64_t id) const {
  const auto snap = snapshot();
  const std::optional<Ref> r = snap->find(id);
  if (!r) return std::nullopt;
  return snap->segment(*r).contact(r->row, /*with_meta=*/true);
}

namespace {

// The `limit` most frequent non-empty values of `field` among live contacts; ties in
// collation order of the value (then bytes).
std::vector<ValueCount> top_values(const Snapshot& s, TextField field, uint32_t limit) {
  std::unordered_map<std::string_view, int64_t> counts;
  for (const Part& part : s.parts) {
    const TextColumn& col = part.segment->column(field);
    for (uint32_t c = 1; c < col.dict.size(); ++c) {
      if (col.dict.row_count[c] > 0) counts[col.dict.values.get(c)] += col.dict.row_count[c];
    }
    if (!part.dead_rows) continue;
    for (uint32_t row : *part.dead_rows) {
      const uint32_t c = col.codes[row];
      if (c != 0) --counts[col.dict.values.get(c)];
    }
  }
  std::vector<std::pair<std::string_view, int64_t>> values;
  for (const auto& [value, n] : counts) {
    if (n > 0) values.emplace_back(value, n);
  }
  auto better = [](const auto& a, const auto& b) {
    return a.second != b.second ? a.second > b.second
                                : collation::less_then_bytes(a.first, b.first);
  };
  const size_t k = std::min<size_t>(limit, values.size());
  std::partial_sort(values.begin(), values.begin() + k, values.end(), better);
  std::vector<ValueCount> out;
  for (size_t i = 0; i < k; ++i) {
    out.push_back({std::string(values[i].first), static_cast<uint64_t>(values[i].second)});
  }
  return out;
}

}  // namespace

AnalyticsSnapshot IndexReader::analytics(const AnalyticsQuery& q) const {
  const auto snap = snapshot();
  AnalyticsSnapshot a;
  a.total_contacts = snap->rows;
  a.top_countries = top_values(*snap, TextField::country, q.limit);
  a.top_industries = top_values(*snap, TextField::industry, q.limit);
  return a;
}

FieldPage IndexReader::field_values(const FieldQuery& q) const {
  const auto snap = snapshot();
  return field_page(*snap, q);
}

std::unique_ptr<ContactStream> IndexReader::stream(const ListQuery& q) const {
  return stream_snapshot(snapshot(), q);
}

}  // namespace contacts::index
