// Dictionary-encoded text columns of the read index: read-only views over a segment's bytes
// (index/segment_file.h), and the builders that write them.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "index/pod_buffer.h"
#include "index/segment_file.h"
#include "index/trigram.h"

namespace contacts::index {

inline constexpr uint32_t kNoRow = UINT32_MAX;

// Strings, each followed by a '\0' so that the whole pool can be searched at once. Entry i is
// bytes [offsets[i], offsets[i+1] - 1). A view: the bytes live in a segment.
class Pool {
 public:
  Pool() = default;
  Pool(std::span<const char> bytes, std::span<const uint64_t> offsets);
  std::string_view get(uint32_t i) const {
    return {bytes_.data() + offsets_[i], offsets_[i + 1] - offsets_[i] - 1};
  }
  uint32_t size() const { return offsets_.empty() ? 0 : static_cast<uint32_t>(offsets_.size() - 1); }
  std::string_view bytes() const { return {bytes_.data(), bytes_.size()}; }
  std::span<const uint64_t> offsets() const { return offsets_; }

 private:
  std::span<const char> bytes_;
  std::span<const uint64_t> offsets_;
};

// The distinct values of one field in one segment, with their folded forms and code-point
// order. Code 0 is always the empty string. `folded` views the values themselves when every
// value is its own folded form (no folded sections in the segment).
struct Dictionary {
  Pool values;
  Pool folded;
  // Codes in collation order of their values (util/collation.h), values with equal collation
  // keys in byte order; and each code's rank in that order, equal for equal collation keys
  // (so comparing ranks compares values). Empty for dictionaries written without an order.
  std::span<const uint32_t> by_rank;
  std::span<const uint32_t> rank;
  std::span<const uint32_t> first_row;  // code -> smallest row having it (kNoRow when unused)
  std::span<const uint32_t> row_count;  // code -> rows having it
  // Trigram postings over `folded` (index/trigram.h), for dictionaries of searched fields
  // with many values; empty otherwise (a pass of memmem over `folded` is as fast).
  TrigramView trigrams;

  uint32_t size() const { return values.size(); }
  // Marks (match[code] = 1) every code whose folded value contains `folded_term`.
  void match_contains(std::string_view folded_term, std::vector<uint8_t>& match) const;
  // Marks every code whose folded value equals `folded_term`.
  void match_exact(std::string_view folded_term, std::vector<uint8_t>& match) const;
};

// One value per row.
struct TextColumn {
  Dictionary dict;
  std::span<const uint32_t> codes;  // row -> code
};

// Several values per row (keywords split on ','), in their order in the row.
struct ListColumn {
  Dictionary dict;
  std::span<const uint32_t> row_start;  // row -> first index in `codes`; size rows + 1
  std::span<const uint32_t> codes;
};

// Section numbers of a column's parts in a segment (segment_file.h): column c uses
// kColumnSections + c * 16 + part.
enum class ColumnPart : uint32_t {
  codes, values_bytes, values_offsets, folded_bytes, folded_offsets, by_rank, rank, first_row,
  row_count, row_start, trigram_keys, trigram_starts, trigram_postings,
};
inline constexpr uint32_t kColumnSections = 0x1000;
constexpr uint32_t section_id(uint32_t column, ColumnPart part) {
  return kColumnSections + column * 16 + static_cast<uint32_t>(part);
}

// Dictionaries with fewer values are searched with memmem alone.
inline constexpr uint32_t kTrigramMinValues = 1024;

struct DictionaryOrder {
  std::vector<uint32_t> by_rank;
  std::vector<uint32_t> rank;
};
// The order of Dictionary::by_rank and rank, computed for `values`.
DictionaryOrder collation_order(const Pool& values);

// Builds a dictionary from values seen in row order.
class DictionaryBuilder {
 public:
  // A `distinct` dictionary gives equal values one code. A plain one (a column only ever
  // returned, never compared, searched or ordered: meta_data) appends every non-empty value
  // under a new code, skipping the hash table, and has no folded forms.
  explicit DictionaryBuilder(bool distinct = true);
  // Code of `value`, adding it when new; records `row` as a user of it.
  uint32_t add(std::string_view value, uint32_t row);
  // add(values[i], rows[i]) into codes[i] for each i, in order: the same result, but the
  // hash table and the values are fetched a few values ahead, so that their cache misses
  // overlap instead of following one another (most of the time of a large build).
  void add_many(std::span<const std::string_view> values, const uint32_t* rows, uint32_t* codes);
  // Records `row` as one more user of `code` (a code add() returned).
  void count(uint32_t code, uint32_t row) {
    if (first_row_[code] == kNoRow) first_row_[code] = row;
    ++row_count_[code];
  }
  // Folds the values (their folded sections are left out when every value is its own folded
  // form: the reader uses the values), computes their order (`with_order`) and their trigram
  // postings (`with_trigrams`, when there are at least kTrigramMinValues values) and writes
  // the dictionary's sections of `column`; leaves the builder empty. Returns the rank of each
  // code (empty without `with_order`).
  std::vector<uint32_t> write(SegmentWriter& out, uint32_t column, bool with_order,
                              bool with_trigrams = false);

 private:
  void grow();
  uint32_t find_or_add(std::string_view value, uint32_t h, uint32_t row);
  std::string_view entry(uint32_t code) const {
    return {bytes_.data() + offsets_[code], offsets_[code + 1] - offsets_[code] - 1};
  }
  bool distinct_;
  PodBuffer<char> bytes_;
  PodBuffer<uint64_t> offsets_;
  PodBuffer<uint32_t> first_row_;
  PodBuffer<uint32_t> row_count_;
  // Open addressing: hash << 32 | (code + 1); 0 = empty. The hash beside the code spares a
  // look at the value for all but true matches.
  PodBuffer<uint64_t> slots_;
  std::vector<uint32_t> hash_scratch_;  // add_many's
};

// The dictionary of `column` in `bytes` (sections written by DictionaryBuilder::write).
// Throws SegmentFileError when a section is missing or inconsistent.
Dictionary load_dictionary(const SegmentBytes& bytes, uint32_t column);

}  // namespace contacts::index
