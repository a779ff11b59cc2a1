// An immutable, in-memory, column-wise copy of every contact: what the API reads from.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <vector>

#include "index/text_column.h"
#include "model/contact.h"
#include "store/store.h"

namespace contacts::index {

inline constexpr int64_t kNullNumber = INT64_MIN;

// Rows are numbered 0..rows-1 in ascending id order. Immutable once built; share it through
// std::shared_ptr<const Snapshot> between threads.
struct Snapshot {
  uint64_t data_version = 0;  // the store's data_version this snapshot reflects (at least)
  uint32_t rows = 0;
  std::vector<int64_t> ids;
  std::vector<int64_t> created_at_us;
  std::vector<int64_t> updated_at_us;
  std::array<TextColumn, kTextFieldCount> text;
  std::array<std::vector<int64_t>, kNumberFieldCount> numbers;  // kNullNumber = null
  TextColumn meta_data;
  TextColumn company_address;  // derived: address, city, state, country joined with ", "
  TextColumn contact_address;  // derived: city, state, country joined with ", "
  ListColumn keyword_list;     // keywords split on ','
  std::vector<uint32_t> created_order;  // rows sorted by (created_at, id) ascending

  const TextColumn& column(TextField f) const { return text[static_cast<size_t>(f)]; }
  // Row of `id`, or kNoRow.
  uint32_t row_of(int64_t id) const;
  Contact contact(uint32_t row, bool with_meta) const;
  // The same into `out`, reusing its strings' memory (meta_data "{}" without `with_meta`).
  void copy_contact(uint32_t row, bool with_meta, Contact& out) const;
};

// Reads every contact from `store` and builds a snapshot. Throws what the store throws.
std::shared_ptr<const Snapshot> build_snapshot(const Store& store);

}  // namespace contacts::index
