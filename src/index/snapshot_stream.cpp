#include "index/snapshot_stream.h"

#include <algorithm>
#include <optional>
#include <vector>

#include "index/list_pages.h"
#include "index/row_matcher.h"

namespace contacts::index {
namespace {

// Rows looked at per next() at most, so that a filter matching few rows still returns to
// the caller (and lets the server serve other connections) every few milliseconds.
constexpr size_t kRowsScannedPerCall = 64 * 1024;

class SnapshotStream final : public ContactStream {
 public:
  SnapshotStream(std::shared_ptr<const Snapshot> snapshot, const ListQuery& q)
      : snap_(std::move(snapshot)),
        match_(*snap_, q.filter),
        ordering_(q.ordering),
        include_meta_(q.include_meta) {
    const OrderTerm first = ordering_.front();
    descending_ = first.descending;
    if (ordering_.size() == 1 && first.key == SortKey::created_at) walk_ = Walk::created;
    if (ordering_.size() == 1 && first.key == SortKey::id) walk_ = Walk::id;
  }

  bool next(std::vector<Contact>& out, size_t max_rows) override {
    size_t produced = 0;
    if (match_.matches_nothing()) {
      out.clear();
      return false;
    }
    if (walk_ == Walk::sorted && !sorted_) sort_matching_rows();
    const size_t total = walk_ == Walk::sorted ? sorted_->size() : snap_->rows;
    const bool check = walk_ != Walk::sorted && !match_.matches_everything();
    for (size_t scanned = 0;
         position_ < total && produced < max_rows && scanned < kRowsScannedPerCall; ++scanned) {
      const uint32_t row = row_at(position_++, total);
      if (check && !match_(row)) continue;
      if (produced == out.size()) out.emplace_back();
      snap_->copy_contact(row, include_meta_, out[produced++]);
    }
    out.resize(produced);
    return position_ < total;
  }

 private:
  enum class Walk { created, id, sorted };

  uint32_t row_at(size_t position, size_t total) const {
    if (walk_ == Walk::sorted) return (*sorted_)[position];  // already in display order
    const size_t i = descending_ ? total - 1 - position : position;
    return walk_ == Walk::created ? snap_->created_order[i] : static_cast<uint32_t>(i);
  }

  void sort_matching_rows() {
    sorted_.emplace();
    for (uint32_t r = 0; r < snap_->rows; ++r) {
      if (match_.matches_everything() || match_(r)) sorted_->push_back(r);
    }
    const RowOrder order(*snap_, ordering_);
    std::sort(sorted_->begin(), sorted_->end(),
              [&order](uint32_t a, uint32_t b) { return order(a, b); });
  }

  const std::shared_ptr<const Snapshot> snap_;
  const RowMatcher match_;  // points into *snap_
  const std::vector<OrderTerm> ordering_;
  const bool include_meta_;
  Walk walk_ = Walk::sorted;
  bool descending_ = false;  // Walk::created and Walk::id: walk the order backwards
  std::optional<std::vector<uint32_t>> sorted_;  // Walk::sorted: matching rows in order
  size_t position_ = 0;
};

}  // namespace

std::unique_ptr<ContactStream> stream_snapshot(std::shared_ptr<const Snapshot> snapshot,
                                               const ListQuery& q) {
  return std::make_unique<SnapshotStream>(std::move(snapshot), q);
}

}  // namespace contacts::index
