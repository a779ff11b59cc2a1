#include "index/text_column.h"

#include <algorithm>
#include <stdexcept>

#include <xxhash.h>

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

}  // namespace

DictionaryBuilder::DictionaryBuilder(bool distinct) : distinct_(distinct) {
  offsets_.push_back(0);
  if (distinct_) slots_.resize_zeroed(1024);
  add("", kNoRow);
}

void DictionaryBuilder::grow() {
  PodBuffer<uint32_t> bigger;
  bigger.resize_zeroed(slots_.size() * 2);
  const size_t mask = bigger.size() - 1;
  for (uint32_t code = 0; code < hashes_.size(); ++code) {
    size_t i = hashes_[code] & mask;
    while (bigger[i] != 0) i = (i + 1) & mask;
    bigger[i] = code + 1;
  }
  slots_ = std::move(bigger);
}

uint32_t DictionaryBuilder::add(std::string_view value, uint32_t row) {
  const uint32_t size = static_cast<uint32_t>(first_row_.size());
  uint32_t h = 0;
  size_t i = 0;
  if (!distinct_) {
    if (value.empty() && size > 0) {
      count(0, row);
      return 0;
    }
  } else {
    h = hash_bytes(value);
    const size_t mask = slots_.size() - 1;
    i = h & mask;
    while (slots_[i] != 0) {
      const uint32_t code = slots_[i] - 1;
      if (hashes_[code] == h && entry(code) == value) {
        if (row != kNoRow) count(code, row);
        return code;
      }
      i = (i + 1) & mask;
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
    hashes_.push_back(h);
    slots_[i] = code + 1;
    if (hashes_.size() * 2 > slots_.size()) grow();
  }
  return code;
}

std::vector<uint32_t> DictionaryBuilder::write(SegmentWriter& out, uint32_t column,
                                               bool with_order, bool with_trigrams) {
  const uint32_t n = static_cast<uint32_t>(first_row_.size());
  slots_.release();
  hashes_.release();
  const std::string_view bytes(bytes_.data(), bytes_.size());
  // Folded forms, kept only when some value differs from its own.
  PodBuffer<char> folded;
  PodBuffer<uint64_t> folded_offsets;
  if (distinct_) {
    folded.reserve(bytes_.size());
    folded_offsets.reserve(offsets_.size());
    folded_offsets.push_back(0);
    for (uint32_t c = 0; c < n; ++c) {
      append(folded, text::fold(entry(c)));
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
  std::vector<uint32_t> by_rank, rank;
  if (with_order) {
    by_rank.resize(n);
    for (uint32_t c = 0; c < n; ++c) by_rank[c] = c;
    std::sort(by_rank.begin(), by_rank.end(),
              [&](uint32_t a, uint32_t b) { return entry(a) < entry(b); });
    rank.resize(n);
    for (uint32_t r = 0; r < n; ++r) rank[by_rank[r]] = r;
  }
  out.add(section_id(column, ColumnPart::by_rank), by_rank);
  out.add(section_id(column, ColumnPart::rank), rank);
  out.add(section_id(column, ColumnPart::first_row), first_row_.span());
  out.add(section_id(column, ColumnPart::row_count), row_count_.span());
  *this = DictionaryBuilder(distinct_);
  return rank;
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
