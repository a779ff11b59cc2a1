// Dictionary-encoded text columns of the read index.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace contacts::index {

inline constexpr uint32_t kNoRow = UINT32_MAX;

// Append-only pool of strings, each followed by a '\0' so that the whole pool can be searched
// at once. Entry i is bytes [offsets[i], offsets[i+1] - 1).
class StringPool {
 public:
  StringPool() { offsets_.push_back(0); }
  uint32_t add(std::string_view s);
  std::string_view get(uint32_t i) const {
    return {bytes_.data() + offsets_[i], offsets_[i + 1] - offsets_[i] - 1};
  }
  uint32_t size() const { return static_cast<uint32_t>(offsets_.size() - 1); }
  const std::string& bytes() const { return bytes_; }
  // Index of the entry holding byte position `pos`.
  uint32_t entry_at(size_t pos) const;
  void shrink_to_fit() {
    bytes_.shrink_to_fit();
    offsets_.shrink_to_fit();
  }
  size_t memory_bytes() const { return bytes_.capacity() + offsets_.capacity() * 8; }

 private:
  std::string bytes_;
  std::vector<uint64_t> offsets_;
};

// The distinct values of one field, with their folded forms and code-point order.
// Code 0 is always the empty string.
struct Dictionary {
  StringPool values;
  StringPool folded;
  std::vector<uint32_t> by_rank;    // codes in code-point order of their value
  std::vector<uint32_t> rank;       // code -> position in by_rank
  std::vector<uint32_t> first_row;  // code -> smallest row having it (kNoRow when unused)
  std::vector<uint32_t> row_count;  // code -> rows having it

  uint32_t size() const { return values.size(); }
  // Marks (match[code] = 1) every code whose folded value contains `folded_term`.
  void match_contains(std::string_view folded_term, std::vector<uint8_t>& match) const;
  // Marks every code whose folded value equals `folded_term`.
  void match_exact(std::string_view folded_term, std::vector<uint8_t>& match) const;
};

// One value per row.
struct TextColumn {
  Dictionary dict;
  std::vector<uint32_t> codes;  // row -> code
};

// Several values per row (keywords split on ','), in their order in the row.
struct ListColumn {
  Dictionary dict;
  std::vector<uint32_t> row_start;  // row -> first index in `codes`; size rows + 1
  std::vector<uint32_t> codes;
};

// Builds a Dictionary from values seen in row order.
class DictionaryBuilder {
 public:
  DictionaryBuilder();
  // Code of `value`, adding it when new; records `row` as a user of it.
  uint32_t add(std::string_view value, uint32_t row);
  // Folds values and computes the order. Leaves the builder empty.
  Dictionary finish(bool with_order);

 private:
  void grow();
  Dictionary dict_;
  std::vector<uint32_t> slots_;  // open addressing: code + 1, 0 = empty
  std::vector<uint32_t> hashes_;  // code -> hash
};

}  // namespace contacts::index
