#include "index/index_reader.h"

#include <algorithm>

#include "index/list_pages.h"
#include "index/row_matcher.h"
#include "index/snapshot_stream.h"

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
  const RowMatcher match(*snap, q.filter);
  return q.cursor_strategy ? cursor_page(*snap, match, q) : ordered_page(*snap, match, q);
}

uint64_t IndexReader::count(const ContactFilter& filter) const {
  const auto snap = snapshot();
  const RowMatcher match(*snap, filter);
  if (match.matches_everything()) return snap->rows;
  if (match.matches_nothing()) return 0;
  uint64_t n = 0;
  for (uint32_t r = 0; r < snap->rows; ++r) n += match(r) ? 1 : 0;
  return n;
}

std::optional<Contact> IndexReader::get(int64_t id) const {
  const auto snap = snapshot();
  const uint32_t row = snap->row_of(id);
  if (row == kNoRow) return std::nullopt;
  return snap->contact(row, /*with_meta=*/true);
}

namespace {

std::vector<ValueCount> top_values(const Dictionary& dict, uint32_t limit) {
  std::vector<uint32_t> codes;
  for (uint32_t c = 1; c < dict.size(); ++c) {
    if (dict.row_count[c] > 0) codes.push_back(c);
  }
  auto better = [&](uint32_t a, uint32_t b) {
    if (dict.row_count[a] != dict.row_count[b]) return dict.row_count[a] > dict.row_count[b];
    return dict.rank[a] < dict.rank[b];
  };
  const size_t k = std::min<size_t>(limit, codes.size());
  std::partial_sort(codes.begin(), codes.begin() + k, codes.end(), better);
  std::vector<ValueCount> out;
  for (size_t i = 0; i < k; ++i) {
    out.push_back({std::string(dict.values.get(codes[i])), dict.row_count[codes[i]]});
  }
  return out;
}

}  // namespace

AnalyticsSnapshot IndexReader::analytics(const AnalyticsQuery& q) const {
  const auto snap = snapshot();
  AnalyticsSnapshot a;
  a.total_contacts = snap->rows;
  a.top_countries = top_values(snap->column(TextField::country).dict, q.limit);
  a.top_industries = top_values(snap->column(TextField::industry).dict, q.limit);
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
