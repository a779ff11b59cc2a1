#include "index/snapshot_stream.h"

#include <algorithm>
#include <optional>
#include <vector>

#include "index/list_pages.h"

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
        include_meta_(q.include_meta),
        ref_order_(*snap_, ordering_),
        pos_(snap_->parts.size(), 0) {
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
    if (walk_ == Walk::sorted && sorted_.empty()) sort_matching_rows();
    size_t scanned = 0;
    bool more = true;
    while (produced < max_rows && scanned < kRowsScannedPerCall) {
      std::optional<Ref> best;
      for (uint32_t p = 0; p < pos_.size(); ++p) {
        const size_t size = part_size(p);
        while (pos_[p] < size && scanned < kRowsScannedPerCall && !accepted(p, pos_[p])) {
          ++pos_[p];
          ++scanned;
        }
        if (pos_[p] == size) continue;
        if (scanned == kRowsScannedPerCall) break;
        const Ref r{p, row_at(p, pos_[p])};
        if (!best || before(r, *best)) best = r;
      }
      if (scanned == kRowsScannedPerCall) break;
      if (!best) {
        more = false;
        break;
      }
      ++pos_[best->part];
      ++scanned;
      if (produced == out.size()) out.emplace_back();
      snap_->segment(*best).copy_contact(best->row, include_meta_, out[produced++]);
    }
    out.resize(produced);
    return more;
  }

 private:
  enum class Walk { created, id, sorted };

  size_t part_size(uint32_t p) const {
    return walk_ == Walk::sorted ? sorted_[p].size() : snap_->parts[p].segment->rows;
  }
  uint32_t row_at(uint32_t p, size_t position) const {
    if (walk_ == Walk::sorted) return sorted_[p][position];  // already in display order
    const Segment& seg = *snap_->parts[p].segment;
    const size_t i = descending_ ? seg.rows - 1 - position : position;
    return walk_ == Walk::created ? seg.created_order[i] : static_cast<uint32_t>(i);
  }
  bool accepted(uint32_t p, size_t position) const {
    return walk_ == Walk::sorted || match_(Ref{p, row_at(p, position)});
  }
  bool before(const Ref& a, const Ref& b) const {
    if (walk_ == Walk::sorted) return ref_order_(a, b);
    const Segment& sa = snap_->segment(a);
    const Segment& sb = snap_->segment(b);
    auto key = [](const Segment& s, uint32_t row, bool created) {
      return std::pair(created ? s.created_at_us[row] : s.ids[row], s.ids[row]);
    };
    const bool created = walk_ == Walk::created;
    const auto ka = key(sa, a.row, created), kb = key(sb, b.row, created);
    return descending_ ? kb < ka : ka < kb;
  }

  void sort_matching_rows() {
    sorted_.resize(snap_->parts.size());
    for (uint32_t p = 0; p < snap_->parts.size(); ++p) {
      uint64_t total = 0;
      sorted_[p] = sorted_part_rows(*snap_, match_, p, RowOrder(*snap_->parts[p].segment, ordering_),
                                    SIZE_MAX, total);
    }
  }

  const std::shared_ptr<const Snapshot> snap_;
  const SnapshotMatcher match_;  // points into *snap_
  const std::vector<OrderTerm> ordering_;
  const bool include_meta_;
  const RefOrder ref_order_;  // refers to snap_ and ordering_
  Walk walk_ = Walk::sorted;
  bool descending_ = false;  // Walk::created and Walk::id: walk the orders backwards
  std::vector<std::vector<uint32_t>> sorted_;  // Walk::sorted: matching rows of each part, in order
  std::vector<size_t> pos_;                    // next position in each part
};

}  // namespace

std::unique_ptr<ContactStream> stream_snapshot(std::shared_ptr<const Snapshot> snapshot,
                                               const ListQuery& q) {
  return std::make_unique<SnapshotStream>(std::move(snapshot), q);
}

}  // namespace contacts::index
