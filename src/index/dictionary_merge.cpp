#include "index/dictionary_merge.h"

#include <xxhash.h>

#include <algorithm>
#include <stdexcept>

#include "index/pod_buffer.h"
#include "index/trigram.h"
#include "util/collation.h"

namespace contacts::index {
namespace {

// A long pass over a source's bytes gives back what it read every this many bytes.
constexpr size_t kReleaseEvery = SegmentBytes::kReleaseEvery;

uint64_t hash_of(std::string_view s) { return XXH3_64bits(s.data(), s.size()); }

// The bytes of entries [from, to) of `pool`, each with its '\0'.
std::string_view entries(const Pool& pool, uint32_t from, uint32_t to) {
  const auto offsets = pool.offsets();
  return pool.bytes().substr(offsets[from], offsets[to] - offsets[from]);
}

// Values gathered in memory, laid out as a Pool.
struct PoolInMemory {
  PodBuffer<char> bytes;
  PodBuffer<uint64_t> offsets;
  PoolInMemory() { offsets.push_back(0); }
  void add(std::string_view v) {
    append(bytes, v);
    bytes.push_back('\0');
    offsets.push_back(bytes.size());
  }
  Pool pool() const { return Pool({bytes.data(), bytes.size()}, offsets.span()); }
};

// Gives back the pages of values [from, to) of a mapped `pool` and of their offsets.
void release_values(const Pool& pool, uint32_t from, uint32_t to) {
  if (to <= from) return;
  const std::string_view run = entries(pool, from, to);
  SegmentBytes::release_range(run.data(), run.size());
  const auto offsets = pool.offsets().subspan(from, to - from);
  SegmentBytes::release_range(offsets.data(), offsets.size_bytes());
}

}  // namespace

DictionaryMerge::DictionaryMerge(std::vector<const Dictionary*> sources)
    : sources_(std::move(sources)), to_(sources_.size()) {
  if (sources_.empty()) throw std::invalid_argument("a dictionary merge needs a source");
  for (size_t p = 0; p < sources_.size(); ++p) {
    to_[p].assign(sources_[p]->size(), kUnused);
    if (sources_[p]->size() > sources_[primary_]->size()) primary_ = p;
  }
}

void DictionaryMerge::number() {
  std::vector<uint32_t>& primary = to_[primary_];
  primary[0] = kUsed;  // the empty string keeps code 0

  // The other sources' used values, each distinct value once (an open-addressing table of
  // hash << 32 | 1 + index into extras_), their to_ holding that index for now.
  size_t used = 0;
  for (size_t p = 0; p < sources_.size(); ++p) {
    if (p == primary_) continue;
    used += static_cast<size_t>(std::count(to_[p].begin(), to_[p].end(), kUsed));
  }
  std::vector<uint64_t> slots;
  std::vector<uint32_t> in_primary;  // extras_ index -> the primary's code of that value
  if (used > 0) {
    size_t slots_size = 16;
    while (slots_size < used * 2) slots_size *= 2;
    slots.assign(slots_size, 0);
    const size_t mask = slots_size - 1;
    // The slot of `value` (hash h): empty, or holding it.
    auto slot_of = [&](std::string_view value, uint64_t h) -> uint64_t& {
      const uint32_t tag = static_cast<uint32_t>(h >> 32);
      for (size_t i = h & mask;; i = (i + 1) & mask) {
        uint64_t& slot = slots[i];
        if (slot == 0) return slot;
        if (static_cast<uint32_t>(slot >> 32) == tag &&
            extra_value(static_cast<uint32_t>(slot) - 1) == value) {
          return slot;
        }
      }
    };
    for (size_t p = 0; p < sources_.size(); ++p) {
      if (p == primary_) continue;
      const Pool& values = sources_[p]->values;
      for (uint32_t c = 0; c < to_[p].size(); ++c) {
        if (to_[p][c] != kUsed) continue;
        const std::string_view value = values.get(c);
        const uint64_t h = hash_of(value);
        uint64_t& slot = slot_of(value, h);
        if (slot == 0) {
          extras_.push_back({static_cast<uint32_t>(p), c});
          slot = (h >> 32) << 32 | extras_.size();
        }
        to_[p][c] = static_cast<uint32_t>(slot) - 1;
      }
    }
    // Values the primary holds take its codes, used there or not: an update leaves its old
    // row's value unused in the base and brings it back in a delta, and the value keeps its
    // place in the base's order and postings instead of being placed and indexed afresh. The
    // primary's values (hundreds of MB for the e-mails at 10M contacts) are read once here
    // and given back as the pass goes, like write_pool's.
    in_primary.assign(extras_.size(), kUnused);
    const Pool& values = sources_[primary_]->values;
    const auto offsets = values.offsets();
    uint32_t released = 0;  // values before this one were given back
    for (uint32_t c = 0; c < primary.size(); ++c) {
      const std::string_view value = values.get(c);
      if (const uint64_t slot = slot_of(value, hash_of(value)); slot != 0) {
        in_primary[static_cast<uint32_t>(slot) - 1] = c;
        primary[c] = kUsed;
      }
      if (offsets[c + 1] - offsets[released] >= kReleaseEvery) {
        release_values(values, released, c + 1);
        released = c + 1;
      }
    }
    release_values(values, released, primary.size());
  }
  uint32_t next = 0;
  for (uint32_t& to : primary) {
    if (to == kUsed) to = next++;
  }
  primary_count_ = next;
  if (used == 0) return;
  // The others are numbered after the primary's.
  std::vector<uint32_t> merged(extras_.size());
  std::vector<Extra> kept;
  for (size_t j = 0; j < extras_.size(); ++j) {
    if (in_primary[j] != kUnused) {
      merged[j] = primary[in_primary[j]];
    } else {
      merged[j] = primary_count_ + static_cast<uint32_t>(kept.size());
      kept.push_back(extras_[j]);
    }
  }
  if (size_t{primary_count_} + kept.size() >= kNoRow - 1) throw std::length_error("dictionary full");
  extras_ = std::move(kept);
  for (size_t p = 0; p < sources_.size(); ++p) {
    if (p == primary_) continue;
    for (uint32_t& to : to_[p]) {
      if (to != kUnused) to = merged[to];
    }
  }
}

template <class F>
void DictionaryMerge::for_each_value(bool folded, F f) const {
  const Dictionary& primary = *sources_[primary_];
  const Pool& pool = folded ? primary.folded : primary.values;
  const std::vector<uint32_t>& to = to_[primary_];
  for (uint32_t c = 0; c < to.size(); ++c) {
    if (to[c] != kUnused) f(pool.get(c));
  }
  for (size_t j = 0; j < extras_.size(); ++j) f(folded ? extra_folded(j) : extra_value(j));
}

void DictionaryMerge::write_pool(SegmentWriter& out, uint32_t column, bool folded) const {
  const Dictionary& primary = *sources_[primary_];
  const Pool& pool = folded ? primary.folded : primary.values;
  const std::vector<uint32_t>& to = to_[primary_];
  const auto bytes_part = folded ? ColumnPart::folded_bytes : ColumnPart::values_bytes;
  const auto offsets_part = folded ? ColumnPart::folded_offsets : ColumnPart::values_offsets;
  // The primary's bytes go across in runs of used values (each value with its '\0').
  out.begin_section(section_id(column, bytes_part));
  const uint32_t n = static_cast<uint32_t>(to.size());
  uint64_t released = 0;
  for (uint32_t c = 0; c < n;) {
    if (to[c] == kUnused) {
      ++c;
      continue;
    }
    uint32_t end = c + 1;
    // A run stops at a value not used, or after kReleaseEvery bytes: what it wrote is given
    // back below (when every value is used, the run would otherwise be the whole pool).
    const uint64_t run_start = pool.offsets()[c];
    while (end < n && to[end] != kUnused && pool.offsets()[end] - run_start < kReleaseEvery) ++end;
    const std::string_view run = entries(pool, c, end);
    out.append(run.data(), run.size());
    c = end;
    if (pool.offsets()[c] - released >= kReleaseEvery) {
      SegmentBytes::release_range(pool.bytes().data() + released, pool.offsets()[c] - released);
      released = pool.offsets()[c];
    }
  }
  for (size_t j = 0; j < extras_.size(); ++j) {
    const std::string_view v = folded ? extra_folded(j) : extra_value(j);
    out.append(v.data(), v.size());
    out.append("", 1);
  }
  out.end_section();
  SegmentBytes::release_range(pool.bytes().data(), pool.bytes().size());

  out.begin_section(section_id(column, offsets_part));
  uint64_t at = 0;
  out.append_value(at);
  const auto offsets = pool.offsets();
  for (uint32_t c = 0; c < n; ++c) {
    if (to[c] == kUnused) continue;
    at += offsets[c + 1] - offsets[c];
    out.append_value(at);
  }
  for (size_t j = 0; j < extras_.size(); ++j) {
    at += (folded ? extra_folded(j) : extra_value(j)).size() + 1;
    out.append_value(at);
  }
  out.end_section();
  SegmentBytes::release_range(offsets.data(), offsets.size_bytes());
}

void DictionaryMerge::write_trigrams(SegmentWriter& out, uint32_t column, bool own_folded) const {
  const Dictionary& primary = *sources_[primary_];
  auto add_data = [&](const TrigramData& t) {
    out.add(section_id(column, ColumnPart::trigram_keys), t.keys);
    out.add(section_id(column, ColumnPart::trigram_starts), t.starts);
  };
  if (primary.trigrams.keys.empty()) {
    // No postings to copy: the merged folded forms in memory, indexed afresh.
    PoolInMemory all;
    for_each_value(own_folded, [&](std::string_view v) { all.add(v); });
    const TrigramData t = build_trigrams(all.pool().bytes(), all.pool().offsets());
    out.add(section_id(column, ColumnPart::trigram_postings), t.postings);
    add_data(t);
    return;
  }
  PoolInMemory extras;
  for (size_t j = 0; j < extras_.size(); ++j) extras.add(extra_folded(j));
  const TrigramData extra = build_trigrams(extras.pool().bytes(), extras.pool().offsets());
  out.begin_section(section_id(column, ColumnPart::trigram_postings));
  const TrigramData merged = merge_trigrams(
      primary.trigrams, to_[primary_], view_of(extra), primary_count_,
      static_cast<uint32_t>(extras_.size()),
      [&out](const uint8_t* data, size_t size) { out.append(data, size); },
      &SegmentBytes::release_range);
  out.end_section();
  add_data(merged);
  SegmentBytes::release_range(primary.trigrams.postings.data(), primary.trigrams.postings.size());
}

DictionaryOrder DictionaryMerge::merged_order() const {
  const Dictionary& primary = *sources_[primary_];
  if (primary.rank.size() != primary.size() || primary.by_rank.size() != primary.size()) {
    // No order to merge with: the merged values in memory, ordered afresh.
    PoolInMemory all;
    for_each_value(false, [&](std::string_view v) { all.add(v); });
    return collation_order(all.pool());
  }
  // The deltas' values in their own order, each placed among the primary's: position[k] is the
  // index in primary.by_rank of the first primary value after the k-th delta value.
  PoolInMemory extras;
  for (size_t j = 0; j < extras_.size(); ++j) extras.add(extra_value(j));
  const Pool extra_pool = extras.pool();
  const DictionaryOrder extra = collation_order(extra_pool);
  const uint32_t m = extra_pool.size();
  std::vector<uint32_t> position(m);
  const auto by_rank = primary.by_rank;
  auto from = by_rank.begin();
  for (uint32_t k = 0; k < m; ++k) {
    const std::string_view v = extra_pool.get(extra.by_rank[k]);
    from = std::upper_bound(from, by_rank.end(), v, [&](std::string_view value, uint32_t code) {
      return collation::less_then_bytes(value, primary.values.get(code));
    });
    position[k] = static_cast<uint32_t>(from - by_rank.begin());
  }
  // Walk both orders together; a new rank starts where the collation key changes.
  DictionaryOrder order;
  const uint32_t n = size();
  order.by_rank.reserve(n);
  order.rank.assign(n, 0);
  const std::vector<uint32_t>& to = to_[primary_];
  struct Last {
    bool any = false, from_primary = false;
    uint32_t code = 0;  // in its source (the primary, or extra_pool)
  } last;
  uint32_t rank = 0;
  auto emit = [&](bool from_primary, uint32_t source_code, uint32_t merged) {
    if (last.any) {
      bool same;
      if (from_primary && last.from_primary) {
        same = primary.rank[source_code] == primary.rank[last.code];
      } else if (!from_primary && !last.from_primary) {
        same = extra.rank[source_code] == extra.rank[last.code];
      } else {
        const std::string_view a = from_primary ? primary.values.get(source_code) : extra_pool.get(source_code);
        const std::string_view b = last.from_primary ? primary.values.get(last.code) : extra_pool.get(last.code);
        same = collation::compare(a, b) == 0;
      }
      if (!same) ++rank;
    }
    last = {true, from_primary, source_code};
    order.by_rank.push_back(merged);
    order.rank[merged] = rank;
  };
  uint32_t k = 0;
  for (uint32_t i = 0; i <= by_rank.size(); ++i) {
    for (; k < m && position[k] == i; ++k) {
      emit(false, extra.by_rank[k], primary_count_ + extra.by_rank[k]);
    }
    if (i == by_rank.size()) break;
    const uint32_t c = by_rank[i];
    if (to[c] != kUnused) emit(true, c, to[c]);
  }
  SegmentBytes::release_range(by_rank.data(), by_rank.size_bytes());
  SegmentBytes::release_range(primary.rank.data(), primary.rank.size_bytes());
  return order;
}

std::vector<uint32_t> DictionaryMerge::write(SegmentWriter& out, uint32_t column,
                                             std::span<const uint32_t> codes, bool with_order,
                                             bool with_trigrams) {
  const uint32_t n = size();
  const Dictionary& primary = *sources_[primary_];
  // Folded forms are kept when some merged value differs from its own: the primary had them,
  // or a delta value has them.
  bool own_folded = primary.folded.bytes().data() != primary.values.bytes().data();
  for (size_t j = 0; j < extras_.size() && !own_folded; ++j) {
    own_folded = extra_folded(j) != extra_value(j);
  }
  if (with_trigrams && n >= kTrigramMinValues) write_trigrams(out, column, own_folded);
  write_pool(out, column, false);
  if (own_folded) write_pool(out, column, true);
  {
    DictionaryOrder order;
    if (with_order) order = merged_order();
    out.add(section_id(column, ColumnPart::by_rank), order.by_rank);
    out.add(section_id(column, ColumnPart::rank), order.rank);
    std::vector<uint32_t> first_row(n, kNoRow), row_count(n, 0);
    for (uint32_t row = 0; row < codes.size(); ++row) {
      const uint32_t c = codes[row];
      if (first_row[c] == kNoRow) first_row[c] = row;
      ++row_count[c];
    }
    out.add(section_id(column, ColumnPart::first_row), first_row);
    out.add(section_id(column, ColumnPart::row_count), row_count);
    return std::move(order.rank);
  }
}

}  // namespace contacts::index
