// The dictionary of one column of a merged segment (merge_segments), made from the
// dictionaries of its sources without building it again from its values.
//
// The largest source (the base, in a compaction) is the primary: its values that rows still use
// keep their relative order and come first, renumbered densely; values of the other sources
// (the deltas) that the primary does not hold follow. Only the deltas' values go through a hash
// table, and only the deltas' values are folded, ordered and indexed afresh: the primary's
// folded forms and trigram postings are copied across (postings renumbered), and its collation
// order is merged with the deltas' (each delta value placed by a binary search among the
// primary's). The merged values, folded forms and postings are streamed into the segment file:
// memory holds arrays of one 32-bit number per value and per row, not the values themselves,
// so compacting a base of 10M e-mail addresses costs tens of MB, not the GB of a rebuild.
// When the primary lacks what a part needs (postings, an order), that part is built from the
// merged values in memory, as DictionaryBuilder would.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "index/segment_file.h"
#include "index/text_column.h"

namespace contacts::index {

class DictionaryMerge {
 public:
  // `sources`: the column's dictionary in each source segment (distinct dictionaries, code 0
  // the empty string); they must outlive this object.
  explicit DictionaryMerge(std::vector<const Dictionary*> sources);

  // Marks `code` of source `part` as used by a row of the merged segment.
  void use(uint32_t part, uint32_t code) { to_[part][code] = kUsed; }
  // Numbers the merged dictionary, once every use is marked.
  void number();
  // The merged code of a used `code` of source `part` (after number()).
  uint32_t code(uint32_t part, uint32_t code) const { return to_[part][code]; }
  // Number of merged values (after number()).
  uint32_t size() const { return primary_count_ + static_cast<uint32_t>(extras_.size()); }

  // Writes the merged dictionary's sections of `column`, as DictionaryBuilder::write does:
  // values, folded forms when some value differs from its own, trigram postings
  // (`with_trigrams`, at least kTrigramMinValues values), the order (`with_order`), and each
  // code's first row and row count, from `codes` (row -> merged code). Returns the rank of
  // each code (empty without `with_order`).
  std::vector<uint32_t> write(SegmentWriter& out, uint32_t column,
                              std::span<const uint32_t> codes, bool with_order,
                              bool with_trigrams);

 private:
  static constexpr uint32_t kUnused = kNoRow, kUsed = kNoRow - 1;
  struct Extra {
    uint32_t part;
    uint32_t code;  // in its source
  };
  std::string_view extra_value(size_t j) const {
    return sources_[extras_[j].part]->values.get(extras_[j].code);
  }
  std::string_view extra_folded(size_t j) const {
    return sources_[extras_[j].part]->folded.get(extras_[j].code);
  }
  // Calls f(value) for each merged value in code order: the values, or their folded forms.
  template <class F>
  void for_each_value(bool folded, F f) const;
  // Streams the merged values (or folded forms) and their offsets into two sections.
  void write_pool(SegmentWriter& out, uint32_t column, bool folded) const;
  void write_trigrams(SegmentWriter& out, uint32_t column, bool own_folded) const;
  DictionaryOrder merged_order() const;

  std::vector<const Dictionary*> sources_;
  size_t primary_ = 0;
  std::vector<std::vector<uint32_t>> to_;  // per source: code -> merged code, or kUnused
  uint32_t primary_count_ = 0;             // merged codes below it come from the primary
  std::vector<Extra> extras_;              // merged code primary_count_ + j is extras_[j]
};

}  // namespace contacts::index
