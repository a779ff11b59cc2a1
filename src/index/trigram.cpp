#include "index/trigram.h"

#include <algorithm>
#include <cstring>
#include <stdexcept>

namespace contacts::index {

namespace {

// Verifying a candidate costs a random read of its value, about as much as decoding this many
// bytes of postings: past that ratio, intersecting with a longer list is not worth it.
constexpr size_t kVerifyCostInPostingBytes = 32;

size_t varint_size(uint32_t v) {
  size_t size = 1;
  for (; v >= 0x80; v >>= 7) ++size;
  return size;
}

uint8_t* put_varint(uint8_t* out, uint32_t v) {
  for (; v >= 0x80; v >>= 7) *out++ = static_cast<uint8_t>(v | 0x80);
  *out++ = static_cast<uint8_t>(v);
  return out;
}

uint32_t value_count(std::span<const uint64_t> offsets) {
  if (offsets.empty()) return 0;
  if (offsets.size() - 1 >= UINT32_MAX) throw std::length_error("too many values for a uint32");
  return static_cast<uint32_t>(offsets.size() - 1);
}

// The distinct trigrams met so far, each with a dense id in order of first appearance. Two
// levels: the first two bytes pick a block of 256 slots, allocated when first used, so memory
// follows the distinct 2-byte prefixes (a few hundred KB for text, 64 MB at most).
class TrigramIds {
 public:
  // The id of `trigram`, added when new.
  uint32_t id(uint32_t trigram) {
    uint32_t& block = block_of_prefix_[trigram >> 8];
    if (block == 0) {
      slots_.resize(slots_.size() + 256, 0);
      block = static_cast<uint32_t>(slots_.size() / 256);
    }
    uint32_t& slot = slots_[(block - 1) * size_t{256} + (trigram & 0xFF)];
    if (slot == 0) {
      trigrams_.push_back(trigram);
      slot = static_cast<uint32_t>(trigrams_.size());
    }
    return slot - 1;
  }
  // id -> trigram.
  const std::vector<uint32_t>& trigrams() const { return trigrams_; }

 private:
  std::vector<uint32_t> block_of_prefix_ = std::vector<uint32_t>(65536, 0);  // 1 + block, 0: none
  std::vector<uint32_t> slots_;                                              // 1 + id, 0: none
  std::vector<uint32_t> trigrams_;
};

// Calls visit(id, value, previous) once per distinct trigram of each value, in value order;
// previous is 1 + the last value visited with that trigram, or 0. `last` is indexed by id.
template <class Visit>
void for_each_distinct_trigram(std::string_view bytes, std::span<const uint64_t> offsets,
                               TrigramIds& ids, std::vector<uint32_t>& last, Visit visit) {
  const auto* data = reinterpret_cast<const unsigned char*>(bytes.data());
  const uint32_t n = value_count(offsets);
  for (uint32_t i = 0; i < n; ++i) {
    const uint64_t begin = offsets[i];
    const uint64_t end = offsets[i + 1] - 1;  // the value's NUL
    uint32_t trigram = 0;
    for (uint64_t p = begin; p < end; ++p) {
      trigram = ((trigram << 8) | data[p]) & 0xFFFFFF;
      if (p < begin + 2) continue;
      const uint32_t id = ids.id(trigram);
      if (id == last.size()) last.push_back(0);
      const uint32_t previous = last[id];
      if (previous == i + 1) continue;  // already seen in this value
      last[id] = i + 1;
      visit(id, i, previous);
    }
  }
}

uint32_t gap(uint32_t value, uint32_t previous) {
  return previous == 0 ? value : value - (previous - 1);
}

// Reads one posting list: strictly ascending value indices below `limit`. A varint running past
// the list, too long for 32 bits, a zero gap or an index past the limit ends the list.
class PostingCursor {
 public:
  PostingCursor(std::span<const uint8_t> list, uint32_t limit)
      : p_(list.data()), end_(list.data() + list.size()), limit_(limit) {}

  bool next(uint32_t& value) {
    uint64_t delta = 0;
    for (int shift = 0;; shift += 7) {
      if (p_ == end_ || shift > 28) return stop();
      const uint8_t byte = *p_++;
      delta |= uint64_t{byte & 0x7Fu} << shift;
      if (byte < 0x80) break;
    }
    if (started_ && delta == 0) return stop();
    const uint64_t next_value = started_ ? uint64_t{value_} + delta : delta;
    if (next_value >= limit_) return stop();
    started_ = true;
    value_ = static_cast<uint32_t>(next_value);
    value = value_;
    return true;
  }

 private:
  bool stop() {
    p_ = end_;
    return false;
  }
  const uint8_t* p_;
  const uint8_t* end_;
  uint32_t limit_;
  uint32_t value_ = 0;
  bool started_ = false;
};

// The postings of `trigram`, empty when absent or when starts is out of range.
std::span<const uint8_t> postings_of(const TrigramView& index, uint32_t trigram) {
  const auto it = std::lower_bound(index.keys.begin(), index.keys.end(), trigram);
  if (it == index.keys.end() || *it != trigram) return {};
  const size_t k = static_cast<size_t>(it - index.keys.begin());
  if (k + 1 >= index.starts.size()) return {};
  const uint64_t begin = index.starts[k];
  const uint64_t end = index.starts[k + 1];
  if (begin > end || end > index.postings.size()) return {};
  return index.postings.subspan(begin, end - begin);
}

// Keeps the candidates that also appear in `list`.
void intersect(std::vector<uint32_t>& candidates, std::span<const uint8_t> list, uint32_t limit) {
  PostingCursor cursor(list, limit);
  uint32_t posted = 0;
  bool more = cursor.next(posted);
  size_t kept = 0;
  for (const uint32_t candidate : candidates) {
    while (more && posted < candidate) more = cursor.next(posted);
    if (!more) break;
    if (posted == candidate) candidates[kept++] = candidate;
  }
  candidates.resize(kept);
}

bool value_contains(std::string_view bytes, std::span<const uint64_t> offsets, uint32_t i,
                    std::string_view term) {
  const uint64_t begin = offsets[i];
  const uint64_t end = offsets[i + 1];
  if (end <= begin || end > bytes.size()) return false;
  return bytes.substr(begin, end - 1 - begin).find(term) != std::string_view::npos;
}

// The value holding byte `at`, searched from value `from` on: the last i with offsets[i] <= at,
// or n when there is none past `from`.
size_t value_at(std::span<const uint64_t> offsets, size_t from, uint64_t at) {
  const size_t n = offsets.size() - 1;
  if (from >= n || offsets[from] > at) return n;
  size_t step = 1;
  size_t low = from;  // offsets[low] <= at
  while (low + step < n && offsets[low + step] <= at) {
    low += step;
    step *= 2;
  }
  const size_t high = std::min(low + step, n);  // offsets[high] > at, or high == n
  const auto it = std::upper_bound(offsets.begin() + low, offsets.begin() + high, at);
  return static_cast<size_t>(it - offsets.begin()) - 1;
}

}  // namespace

TrigramData build_trigrams(std::string_view bytes, std::span<const uint64_t> offsets) {
  const uint32_t n = value_count(offsets);
  for (uint32_t i = 0; i < n; ++i) {
    if (offsets[i + 1] <= offsets[i] || offsets[i + 1] > bytes.size()) {
      throw std::invalid_argument("trigram pool: offsets out of order or past the bytes");
    }
  }
  // Counting pass: the distinct trigrams and the exact byte size of each one's postings.
  TrigramIds ids;
  std::vector<uint32_t> last;
  std::vector<uint32_t> sizes;  // by id
  auto count = [&](uint32_t id, uint32_t i, uint32_t previous) {
    if (id == sizes.size()) sizes.push_back(0);
    const size_t size = varint_size(gap(i, previous));
    if (sizes[id] > UINT32_MAX - size) throw std::length_error("trigram posting list too long");
    sizes[id] += static_cast<uint32_t>(size);
  };
  for_each_distinct_trigram(bytes, offsets, ids, last, count);

  std::vector<uint32_t> by_trigram(ids.trigrams().size());
  for (uint32_t id = 0; id < by_trigram.size(); ++id) by_trigram[id] = id;
  std::sort(by_trigram.begin(), by_trigram.end(),
            [&](uint32_t a, uint32_t b) { return ids.trigrams()[a] < ids.trigrams()[b]; });
  TrigramData data;
  data.keys.reserve(by_trigram.size());
  data.starts.reserve(by_trigram.size() + 1);
  data.starts.push_back(0);
  std::vector<uint64_t> cursor(by_trigram.size());  // by id: where its next gap goes
  for (const uint32_t id : by_trigram) {
    data.keys.push_back(ids.trigrams()[id]);
    cursor[id] = data.starts.back();
    data.starts.push_back(data.starts.back() + sizes[id]);
  }
  std::vector<uint32_t>().swap(sizes);
  std::vector<uint32_t>().swap(by_trigram);

  // Fill pass: the same walk, writing each gap at its list's cursor.
  data.postings.resize(data.starts.back());
  std::fill(last.begin(), last.end(), 0);
  uint8_t* const out = data.postings.data();
  auto write = [&](uint32_t id, uint32_t i, uint32_t previous) {
    cursor[id] = put_varint(out + cursor[id], gap(i, previous)) - out;
  };
  for_each_distinct_trigram(bytes, offsets, ids, last, write);
  return data;
}

namespace detail {

TrigramData merge_trigrams(const TrigramView& first, std::span<const uint32_t> map,
                           const TrigramView& second, uint32_t second_base, uint32_t second_count,
                           void (*write)(void*, const uint8_t*, size_t), void* context,
                           ReleaseFn release) {
  constexpr uint64_t kReleaseEvery = 32 << 20;  // as SegmentBytes::kReleaseEvery
  uint64_t released = 0;  // first's postings before this offset were given to `release`
  TrigramData out;
  out.starts.push_back(0);
  std::vector<uint8_t> list;
  auto list_of = [](const TrigramView& index, size_t k) -> std::span<const uint8_t> {
    if (k + 1 >= index.starts.size()) return {};
    const uint64_t begin = index.starts[k], end = index.starts[k + 1];
    if (begin > end || end > index.postings.size()) return {};
    return index.postings.subspan(begin, end - begin);
  };
  const uint32_t first_limit = static_cast<uint32_t>(map.size());
  size_t a = 0, b = 0;
  while (a < first.keys.size() || b < second.keys.size()) {
    const uint32_t key = b == second.keys.size() || (a < first.keys.size() && first.keys[a] <= second.keys[b])
                             ? first.keys[a]
                             : second.keys[b];
    list.clear();
    uint32_t previous = 0;  // 1 + the last value written, 0 before the first
    auto put = [&](uint32_t value) {
      const uint32_t g = gap(value, previous);
      const size_t at = list.size();
      list.resize(at + varint_size(g));
      put_varint(list.data() + at, g);
      previous = value + 1;
    };
    if (a < first.keys.size() && first.keys[a] == key) {
      PostingCursor cursor(list_of(first, a), first_limit);
      for (uint32_t v = 0; cursor.next(v);) {
        if (map[v] != kDropped) put(map[v]);
      }
      ++a;
      if (release && a < first.starts.size() && first.starts[a] <= first.postings.size() &&
          first.starts[a] > released && first.starts[a] - released >= kReleaseEvery) {
        release(first.postings.data() + released, first.starts[a] - released);
        released = first.starts[a];
      }
    }
    if (b < second.keys.size() && second.keys[b] == key) {
      PostingCursor cursor(list_of(second, b), second_count);
      for (uint32_t v = 0; cursor.next(v);) put(second_base + v);
      ++b;
    }
    if (list.empty()) continue;
    write(context, list.data(), list.size());
    out.keys.push_back(key);
    out.starts.push_back(out.starts.back() + list.size());
  }
  return out;
}

}  // namespace detail

TrigramView view_of(const TrigramData& data) { return {data.keys, data.starts, data.postings}; }

uint64_t lookup_cost(const TrigramView& index, std::string_view term) {
  if (term.size() < 3) return UINT64_MAX;
  uint64_t rarest = UINT64_MAX;
  const auto* t = reinterpret_cast<const unsigned char*>(term.data());
  for (size_t p = 0; p + 3 <= term.size(); ++p) {
    const uint32_t trigram = uint32_t{t[p]} << 16 | uint32_t{t[p + 1]} << 8 | t[p + 2];
    rarest = std::min<uint64_t>(rarest, postings_of(index, trigram).size());
  }
  return rarest;
}

std::vector<uint32_t> values_containing(const TrigramView& index, std::string_view bytes,
                                        std::span<const uint64_t> offsets, std::string_view term) {
  if (term.size() < 3) return scan_values_containing(bytes, offsets, term);
  if (term.find('\0') != std::string_view::npos) return {};  // values never hold NUL
  const uint32_t n = value_count(offsets);
  std::vector<uint32_t> trigrams;
  const auto* t = reinterpret_cast<const unsigned char*>(term.data());
  for (size_t p = 0; p + 3 <= term.size(); ++p) {
    trigrams.push_back(uint32_t{t[p]} << 16 | uint32_t{t[p + 1]} << 8 | t[p + 2]);
  }
  std::sort(trigrams.begin(), trigrams.end());
  trigrams.erase(std::unique(trigrams.begin(), trigrams.end()), trigrams.end());

  std::vector<std::span<const uint8_t>> lists;
  for (const uint32_t trigram : trigrams) {
    lists.push_back(postings_of(index, trigram));
    if (lists.back().empty()) return {};  // a trigram no value has
  }
  std::sort(lists.begin(), lists.end(),
            [](const auto& a, const auto& b) { return a.size() < b.size(); });

  std::vector<uint32_t> candidates;
  candidates.reserve(lists.front().size());  // at least one byte per posting
  PostingCursor rarest(lists.front(), n);
  for (uint32_t value = 0; rarest.next(value);) candidates.push_back(value);
  for (size_t l = 1; l < lists.size() && !candidates.empty(); ++l) {
    if (candidates.size() * kVerifyCostInPostingBytes < lists[l].size()) break;
    intersect(candidates, lists[l], n);
  }

  size_t kept = 0;
  for (const uint32_t i : candidates) {
    if (value_contains(bytes, offsets, i, term)) candidates[kept++] = i;
  }
  candidates.resize(kept);
  return candidates;
}

void match_contains(const TrigramView& index, std::string_view bytes,
                    std::span<const uint64_t> offsets, std::string_view term,
                    std::vector<uint8_t>& match) {
  match.assign(value_count(offsets), 0);
  for (const uint32_t i : values_containing(index, bytes, offsets, term)) match[i] = 1;
}

std::vector<uint32_t> scan_values_containing(std::string_view bytes,
                                             std::span<const uint64_t> offsets,
                                             std::string_view term) {
  const uint32_t n = value_count(offsets);
  std::vector<uint32_t> found;
  if (term.find('\0') != std::string_view::npos) return found;  // values never hold NUL
  if (term.empty()) {
    found.resize(n);
    for (uint32_t i = 0; i < n; ++i) found[i] = i;
    return found;
  }
  // One memmem pass over the pool; each hit marks its value and jumps past the value's NUL. Hits
  // come in pool order, so the value holding one is found by galloping on from the last.
  const size_t size = n == 0 ? 0 : std::min<uint64_t>(bytes.size(), offsets[n]);
  const char* base = bytes.data();
  size_t pos = n == 0 ? 0 : offsets[0];
  size_t next = 0;  // first value that may hold the next hit
  while (pos < size) {
    const void* hit = memmem(base + pos, size - pos, term.data(), term.size());
    if (!hit) break;
    const size_t at = static_cast<const char*>(hit) - base;
    const size_t i = value_at(offsets, next, at);
    if (i >= n) break;  // offsets out of order: nothing sound to report further
    found.push_back(static_cast<uint32_t>(i));
    next = i + 1;
    pos = std::max<uint64_t>(offsets[next], at + 1);
  }
  return found;
}

}  // namespace contacts::index
