#include "index/text_column.h"

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include <xxhash.h>

#include "util/collation.h"
#include "util/text.h"

namespace contacts::index {

Pool::Pool(std::span<const char> bytes, std::span<const uint64_t> offsets)
    : bytes_(bytes), offsets_(offsets) {}

void Dictionary::match_contains(std::string_view term, std::vector<uint8_t>& match) const {
  if (!trigrams.keys.empty()) {
    index::match_contains(trigrams, folded.bytes(), folded.offsets(), term, match);
    return;
  }
  match.assign(size(), 0);
  for (const uint32_t code : scan_values_containing(folded.bytes(), folded.offsets(), term)) {
    match[code] = 1;
  }
}

void Dictionary::match_exact(std::string_view term, std::vector<uint8_t>& match) const {
  match.assign(size(), 0);
  for (uint32_t c = 0; c < size(); ++c) {
    if (folded.get(c) == term) match[c] = 1;
  }
}

namespace {

uint32_t hash_bytes(std::string_view s) {
  const uint64_t h = XXH3_64bits(s.data(), s.size());
  return static_cast<uint32_t>(h ^ (h >> 32));
}

// A code with 8 bytes of its value, as a big-endian number: comparing keys compares those
// bytes (unsigned, zero-padded past the end: values hold no NUL).
struct Keyed {
  uint64_t prefix;
  uint32_t code;
};

uint64_t bytes_at(std::string_view v, size_t depth) {
  unsigned char head[8] = {};
  if (depth < v.size()) std::memcpy(head, v.data() + depth, std::min<size_t>(v.size() - depth, 8));
  uint64_t prefix = 0;
  for (unsigned char b : head) prefix = prefix << 8 | b;
  return prefix;
}

// Sorts `keyed` (distinct values) by value from byte `depth` on, in code-point order: by 8
// bytes at a time, each run of equal bytes refined with the next 8 (a multikey sort). Each
// value is read once per level it ties at, never compared whole against another: sorting
// 10M e-mail addresses, many alike in their first 8 bytes, stays a sort of numbers.
template <class ValueOf>
void sort_by_value(std::span<Keyed> keyed, size_t depth, const ValueOf& value_of) {
  for (Keyed& k : keyed) k.prefix = bytes_at(value_of(k.code), depth);
  std::sort(keyed.begin(), keyed.end(), [](const Keyed& a, const Keyed& b) {
    return a.prefix != b.prefix ? a.prefix < b.prefix : a.code < b.code;
  });
  for (size_t i = 0; i < keyed.size();) {
    size_t j = i + 1;
    while (j < keyed.size() && keyed[j].prefix == keyed[i].prefix) ++j;
    // Equal 8 bytes ending in a zero: the values ended there, equal (a plain dictionary's
    // duplicates): left in code order.
    if (j - i > 1 && (keyed[i].prefix & 0xFF) != 0) {
      sort_by_value(keyed.subspan(i, j - i), depth + 8, value_of);
    }
    i = j;
  }
}

// Appends text::fold(v): ASCII values (most) lower-cased in place, without a string.
void append_folded(PodBuffer<char>& out, std::string_view v) {
  if (!text::is_ascii(v)) {
    append(out, text::fold(v));
    return;
  }
  char* to = out.extend(v.size());
  for (char ch : v) *to++ = ch >= 'A' && ch <= 'Z' ? static_cast<char>(ch - 'A' + 'a') : ch;
}

}  // namespace

template <class ValueOf>
DictionaryOrder collation_order(uint32_t n, const ValueOf& value_of) {
  // The values' collation keys, in one pool; sorted as bytes (keys hold no zero byte, so the
  // pool's terminators end them), then runs of equal keys by the values' own bytes.
  PodBuffer<char> keys;
  PodBuffer<uint64_t> offsets;
  offsets.reserve(n + 1);
  offsets.push_back(0);
  std::string key;
  for (uint32_t c = 0; c < n; ++c) {
    key.clear();
    collation::append_sort_key(key, value_of(c));
    keys.append(key.data(), key.size());
    keys.push_back('\0');
    offsets.push_back(keys.size());
  }
  auto key_of = [&](uint32_t code) {
    return std::string_view(keys.data() + offsets[code], offsets[code + 1] - offsets[code] - 1);
  };
  std::vector<Keyed> keyed(n);
  for (uint32_t c = 0; c < n; ++c) keyed[c] = {0, c};
  sort_by_value(keyed, 0, key_of);
  DictionaryOrder order;
  order.by_rank.resize(n);
  order.rank.resize(n);
  uint32_t rank = 0;
  for (uint32_t i = 0; i < n;) {
    uint32_t j = i + 1;
    while (j < n && key_of(keyed[j].code) == key_of(keyed[i].code)) ++j;
    if (j - i > 1) {
      std::sort(keyed.begin() + i, keyed.begin() + j, [&](const Keyed& a, const Keyed& b) {
        return value_of(a.code) < value_of(b.code);
      });
    }
    for (uint32_t k = i; k < j; ++k) {
      order.by_rank[k] = keyed[k].code;
      order.rank[keyed[k].code] = rank;
    }
    ++rank;
    i = j;
  }
  return order;
}

DictionaryOrder collation_order(const Pool& values) {
  return collation_order(values.size(), [&](uint32_t code) { return values.get(code); });
}

DictionaryBuilder::DictionaryBuilder(bool distinct) : distinct_(distinct) {
  offsets_.push_back(0);
  if (distinct_) slots_.resize_zeroed(1024);
  add("", kNoRow);
}

void DictionaryBuilder::grow() {
  PodBuffer<uint64_t> bigger;
  bigger.resize_zeroed(slots_.size() * 2);
  const size_t mask = bigger.size() - 1;
  for (size_t s = 0; s < slots_.size(); ++s) {
    const uint64_t slot = slots_[s];
    if (slot == 0) continue;
    size_t i = (slot >> 32) & mask;
    while (bigger[i] != 0) i = (i + 1) & mask;
    bigger[i] = slot;
  }
  slots_ = std::move(bigger);
}

uint32_t DictionaryBuilder::find_or_add(std::string_view value, uint32_t h, uint32_t row) {
  const uint32_t size = static_cast<uint32_t>(first_row_.size());
  size_t i = 0;
  if (!distinct_) {
    if (value.empty() && size > 0) {
      count(0, row);
      return 0;
    }
  } else {
    const size_t mask = slots_.size() - 1;
    i = h & mask;
    for (uint64_t slot; (slot = slots_[i]) != 0; i = (i + 1) & mask) {
      if (slot >> 32 != h) continue;
      const uint32_t code = static_cast<uint32_t>(slot) - 1;
      if (entry(code) == value) {
        if (row != kNoRow) count(code, row);
        return code;
      }
    }
  }
  if (size >= UINT32_MAX - 1) throw std::length_error("dictionary full");
  const uint32_t code = size;
  append(bytes_, value);
  bytes_.push_back('\0');
  offsets_.push_back(bytes_.size());
  first_row_.push_back(row);
  row_count_.push_back(row == kNoRow ? 0 : 1);
  if (distinct_) {
    slots_[i] = uint64_t{h} << 32 | (code + 1);
    if (uint64_t{size + 1} * 2 > slots_.size()) grow();
  }
  return code;
}

uint32_t DictionaryBuilder::add(std::string_view value, uint32_t row) {
  return find_or_add(value, distinct_ ? hash_bytes(value) : 0, row);
}

void DictionaryBuilder::add_many(std::span<const std::string_view> values, const uint32_t* rows,
                                 uint32_t* codes) {
  const size_t n = values.size();
  if (!distinct_) {
    for (size_t i = 0; i < n; ++i) codes[i] = find_or_add(values[i], 0, rows[i]);
    return;
  }
  hash_scratch_.resize(n);
  uint32_t* hashes = hash_scratch_.data();
  for (size_t i = 0; i < n; ++i) hashes[i] = hash_bytes(values[i]);
  // Three steps ahead of the value being added: its slot is fetched 16 values ahead; 8 ahead,
  // a slot holding its hash has that code's offset fetched; 4 ahead, that value's bytes and
  // row counts.
  // Prefetches are hints: the table may grow meanwhile, the lookup itself decides.
  constexpr size_t kSlotAhead = 16, kOffsetAhead = 8, kBytesAhead = 4;
  auto candidate = [&](size_t j) -> int64_t {
    const uint64_t slot = slots_[hashes[j] & (slots_.size() - 1)];
    return slot != 0 && slot >> 32 == hashes[j] ? static_cast<int64_t>(static_cast<uint32_t>(slot) - 1) : -1;
  };
  for (size_t i = 0; i < n; ++i) {
    if (i + kSlotAhead < n) {
      __builtin_prefetch(&slots_[hashes[i + kSlotAhead] & (slots_.size() - 1)]);
    }
    if (i + kOffsetAhead < n) {
      if (const int64_t code = candidate(i + kOffsetAhead); code >= 0) {
        __builtin_prefetch(&offsets_[static_cast<size_t>(code)]);
      }
    }
    if (i + kBytesAhead < n) {
      if (const int64_t code = candidate(i + kBytesAhead); code >= 0) {
        const char* value = bytes_.data() + offsets_[static_cast<size_t>(code)];
        __builtin_prefetch(value);
        if (values[i + kBytesAhead].size() > 48) __builtin_prefetch(value + 64);
        __builtin_prefetch(&first_row_[static_cast<size_t>(code)]);
        __builtin_prefetch(&row_count_[static_cast<size_t>(code)]);
      }
    }
    codes[i] = find_or_add(values[i], hashes[i], rows[i]);
  }
}

std::vector<uint32_t> DictionaryBuilder::write(SegmentWriter& out, uint32_t column,
                                               bool with_order, bool with_trigrams) {
  const uint32_t n = static_cast<uint32_t>(first_row_.size());
  slots_.release();
  std::vector<uint32_t>().swap(hash_scratch_);
  const std::string_view bytes(bytes_.data(), bytes_.size());
  // Folded forms, kept only when some value differs from its own.
  PodBuffer<char> folded;
  PodBuffer<uint64_t> folded_offsets;
  // A value is its own folded form when it is ASCII without capitals: when all are, one pass
  // over the bytes says so.
  const bool all_folded = std::none_of(bytes.begin(), bytes.end(), [](char ch) {
    const auto b = static_cast<unsigned char>(ch);
    return b >= 0x80 || (b >= 'A' && b <= 'Z');
  });
  if (distinct_ && !all_folded) {
    folded.reserve(bytes_.size());
    folded_offsets.reserve(offsets_.size());
    folded_offsets.push_back(0);
    for (uint32_t c = 0; c < n; ++c) {
      append_folded(folded, entry(c));
      folded.push_back('\0');
      folded_offsets.push_back(folded.size());
    }
    if (std::string_view(folded.data(), folded.size()) == bytes) {
      folded.release();
      folded_offsets.release();
    }
  }
  const bool own_folded = !folded_offsets.empty();
  if (with_trigrams && n >= kTrigramMinValues) {
    const TrigramData t =
        own_folded ? build_trigrams({folded.data(), folded.size()}, folded_offsets.span())
                   : build_trigrams(bytes, offsets_.span());
    out.add(section_id(column, ColumnPart::trigram_keys), t.keys);
    out.add(section_id(column, ColumnPart::trigram_starts), t.starts);
    out.add(section_id(column, ColumnPart::trigram_postings), t.postings);
  }
  out.add_bytes(section_id(column, ColumnPart::values_bytes), bytes.data(), bytes.size());
  out.add(section_id(column, ColumnPart::values_offsets), offsets_.span());
  if (own_folded) {
    out.add_bytes(section_id(column, ColumnPart::folded_bytes), folded.data(), folded.size());
    out.add(section_id(column, ColumnPart::folded_offsets), folded_offsets.span());
    folded.release();
    folded_offsets.release();
  }
  DictionaryOrder order;
  if (with_order) order = collation_order(n, [&](uint32_t code) { return entry(code); });
  out.add(section_id(column, ColumnPart::by_rank), order.by_rank);
  out.add(section_id(column, ColumnPart::rank), order.rank);
  out.add(section_id(column, ColumnPart::first_row), first_row_.span());
  out.add(section_id(column, ColumnPart::row_count), row_count_.span());
  *this = DictionaryBuilder(distinct_);
  return std::move(order.rank);
}

Dictionary load_dictionary(const SegmentBytes& bytes, uint32_t column) {
  Dictionary d;
  auto pool = [&](ColumnPart b, ColumnPart o) {
    const auto chars = bytes.section<char>(section_id(column, b));
    const auto offsets = bytes.section<uint64_t>(section_id(column, o));
    if (offsets.empty() || offsets.front() != 0 || offsets.back() != chars.size() ||
        !std::is_sorted(offsets.begin(), offsets.end())) {
      throw SegmentFileError("index segment column " + std::to_string(column) +
                             " has inconsistent string offsets");
    }
    // Checked once, read later only where a query looks: not kept resident for the check
    // (8 bytes a distinct value: most of a freshly opened 10M-row base's memory otherwise).
    SegmentBytes::release_range(offsets.data(), offsets.size_bytes());
    return Pool(chars, offsets);
  };
  d.values = pool(ColumnPart::values_bytes, ColumnPart::values_offsets);
  d.folded = bytes.has(section_id(column, ColumnPart::folded_offsets))
                 ? pool(ColumnPart::folded_bytes, ColumnPart::folded_offsets)
                 : d.values;
  d.by_rank = bytes.section<uint32_t>(section_id(column, ColumnPart::by_rank));
  d.rank = bytes.section<uint32_t>(section_id(column, ColumnPart::rank));
  d.first_row = bytes.section<uint32_t>(section_id(column, ColumnPart::first_row));
  d.row_count = bytes.section<uint32_t>(section_id(column, ColumnPart::row_count));
  if (bytes.has(section_id(column, ColumnPart::trigram_keys))) {
    d.trigrams.keys = bytes.section<uint32_t>(section_id(column, ColumnPart::trigram_keys));
    d.trigrams.starts = bytes.section<uint64_t>(section_id(column, ColumnPart::trigram_starts));
    d.trigrams.postings =
        bytes.section<uint8_t>(section_id(column, ColumnPart::trigram_postings));
    if (d.trigrams.starts.size() != d.trigrams.keys.size() + 1 ||
        d.trigrams.starts.back() != d.trigrams.postings.size()) {
      throw SegmentFileError("index segment column " + std::to_string(column) +
                             " has inconsistent trigram postings");
    }
  }
  const size_t n = d.values.size();
  const bool ordered = d.by_rank.size() == n && d.rank.size() == n;
  const bool unordered = d.by_rank.empty() && d.rank.empty();
  if (d.folded.size() != n || d.first_row.size() != n || d.row_count.size() != n ||
      !(ordered || unordered) || n == 0) {
    throw SegmentFileError("index segment column " + std::to_string(column) +
                           " has inconsistent dictionary sizes");
  }
  return d;
}

}  // namespace contacts::index
