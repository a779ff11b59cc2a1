#include "index/snapshot.h"

#include <algorithm>

namespace contacts::index {

std::optional<Ref> Snapshot::find(int64_t id) const {
  for (size_t p = parts.size(); p-- > 0;) {
    const uint32_t row = parts[p].segment->row_of(id);
    if (row != kNoRow && parts[p].live(row)) return Ref{static_cast<uint32_t>(p), row};
  }
  return std::nullopt;
}

Contact Snapshot::contact(uint32_t i, bool with_meta) const {
  if (parts.size() == 1 && !parts[0].dead_rows) return parts[0].segment->contact(i, with_meta);
  Contact c;
  uint32_t seen = 0;
  for_each_live_in_id_order(*this, [&](const Ref& r) {
    if (seen++ < i) return true;
    segment(r).copy_contact(r.row, with_meta, c);
    return false;
  });
  return c;
}

uint64_t Snapshot::delta_rows() const {
  uint64_t n = 0;
  for (size_t p = 1; p < parts.size(); ++p) n += parts[p].segment->rows;
  return n;
}

std::shared_ptr<const Snapshot> snapshot_of(std::shared_ptr<const Segment> segment) {
  auto snap = std::make_shared<Snapshot>();
  snap->data_version = segment->data_version;
  snap->rows = segment->rows;
  snap->parts.push_back({std::move(segment), 0, nullptr, nullptr});
  return snap;
}

std::shared_ptr<const Snapshot> stack(const Snapshot& older, std::shared_ptr<const Segment> delta,
                                      std::optional<uint64_t> since) {
  auto snap = std::make_shared<Snapshot>();
  snap->data_version = std::max(older.data_version, delta->data_version);
  snap->parts = older.parts;
  uint64_t rows = older.rows;
  if (delta->rows > 0) {
    for (Part& part : snap->parts) {
      const Segment& seg = *part.segment;
      std::vector<uint32_t> newly_dead;
      for (int64_t id : delta->ids) {
        const uint32_t row = seg.row_of(id);
        if (row != kNoRow && part.live(row)) newly_dead.push_back(row);
      }
      if (newly_dead.empty()) continue;
      std::sort(newly_dead.begin(), newly_dead.end());
      rows -= newly_dead.size();
      auto bits = part.dead_bits ? std::make_shared<std::vector<uint64_t>>(*part.dead_bits)
                                 : std::make_shared<std::vector<uint64_t>>((seg.rows + 63) / 64, 0);
      for (uint32_t row : newly_dead) (*bits)[row >> 6] |= uint64_t{1} << (row & 63);
      auto dead_rows = std::make_shared<std::vector<uint32_t>>();
      const std::vector<uint32_t> none;
      const std::vector<uint32_t>& old_dead = part.dead_rows ? *part.dead_rows : none;
      dead_rows->reserve(old_dead.size() + newly_dead.size());
      std::merge(old_dead.begin(), old_dead.end(), newly_dead.begin(), newly_dead.end(),
                 std::back_inserter(*dead_rows));
      part.dead_bits = std::move(bits);
      part.dead_rows = std::move(dead_rows);
    }
    rows += delta->rows;
    snap->parts.push_back({std::move(delta), since.value_or(older.data_version), nullptr, nullptr});
  }
  snap->rows = static_cast<uint32_t>(rows);
  return snap;
}

std::shared_ptr<const Snapshot> build_snapshot(const Store& store) {
  const uint64_t version = store.data_version();
  SegmentBuilder builder;
  store.scan(0, [&](Contact&& c) { builder.add(c); });
  return snapshot_of(builder.finish("", {store.store_id(), version, 0}));
}

SnapshotMatcher::SnapshotMatcher(const Snapshot& snap, const ContactFilter& filter,
                                 MatchScope scope)
    : snap_(snap), everything_(filter.empty()) {
  parts_.reserve(snap.parts.size());
  for (const Part& part : snap.parts) {
    parts_.emplace_back(*part.segment, filter, scope);
    if (!parts_.back().matches_nothing() && part.live_rows() > 0) nothing_ = false;
  }
}

}  // namespace contacts::index
