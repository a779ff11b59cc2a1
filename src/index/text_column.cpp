#include "index/text_column.h"

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include "util/text.h"

namespace contacts::index {

uint32_t StringPool::add(std::string_view s) {
  if (offsets_.size() >= UINT32_MAX) throw std::length_error("string pool full");
  bytes_.append(s);
  bytes_.push_back('\0');
  offsets_.push_back(bytes_.size());
  return static_cast<uint32_t>(offsets_.size() - 2);
}

uint32_t StringPool::entry_at(size_t pos) const {
  auto it = std::upper_bound(offsets_.begin(), offsets_.end(), pos);
  return static_cast<uint32_t>(it - offsets_.begin() - 1);
}

void Dictionary::match_contains(std::string_view term, std::vector<uint8_t>& match) const {
  match.assign(size(), 0);
  if (term.find('\0') != std::string_view::npos) return;  // stored values never hold NUL
  // One pass of memmem over the whole pool; each hit marks its entry and jumps past it.
  const std::string& hay = folded.bytes();
  const char* base = hay.data();
  size_t pos = 0;
  while (pos < hay.size()) {
    const void* hit = memmem(base + pos, hay.size() - pos, term.data(), term.size());
    if (!hit) break;
    const size_t at = static_cast<const char*>(hit) - base;
    const uint32_t code = folded.entry_at(at);
    match[code] = 1;
    pos = at + 1;
    // Skip to the next entry: the terminating NUL of this one.
    const void* nul = memchr(base + at, '\0', hay.size() - at);
    if (nul) pos = static_cast<const char*>(nul) - base + 1;
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
  // FNV-1a, 64-bit, folded to 32.
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return static_cast<uint32_t>(h ^ (h >> 32));
}

}  // namespace

DictionaryBuilder::DictionaryBuilder() {
  slots_.assign(1024, 0);
  add("", kNoRow);
}

void DictionaryBuilder::grow() {
  std::vector<uint32_t> bigger(slots_.size() * 2, 0);
  const size_t mask = bigger.size() - 1;
  for (uint32_t code = 0; code < dict_.values.size(); ++code) {
    size_t i = hashes_[code] & mask;
    while (bigger[i] != 0) i = (i + 1) & mask;
    bigger[i] = code + 1;
  }
  slots_.swap(bigger);
}

uint32_t DictionaryBuilder::add(std::string_view value, uint32_t row) {
  const uint32_t h = hash_bytes(value);
  const size_t mask = slots_.size() - 1;
  size_t i = h & mask;
  while (slots_[i] != 0) {
    const uint32_t code = slots_[i] - 1;
    if (hashes_[code] == h && dict_.values.get(code) == value) {
      if (row != kNoRow) {
        if (dict_.first_row[code] == kNoRow) dict_.first_row[code] = row;
        ++dict_.row_count[code];
      }
      return code;
    }
    i = (i + 1) & mask;
  }
  const uint32_t code = dict_.values.add(value);
  hashes_.push_back(h);
  dict_.first_row.push_back(row);
  dict_.row_count.push_back(row == kNoRow ? 0 : 1);
  slots_[i] = code + 1;
  if (dict_.values.size() * 2 > slots_.size()) grow();
  return code;
}

Dictionary DictionaryBuilder::finish(bool with_order) {
  Dictionary d = std::move(dict_);
  for (uint32_t c = 0; c < d.values.size(); ++c) d.folded.add(text::fold(d.values.get(c)));
  if (with_order) {
    d.by_rank.resize(d.values.size());
    for (uint32_t c = 0; c < d.by_rank.size(); ++c) d.by_rank[c] = c;
    std::sort(d.by_rank.begin(), d.by_rank.end(),
              [&](uint32_t a, uint32_t b) { return d.values.get(a) < d.values.get(b); });
    d.rank.resize(d.by_rank.size());
    for (uint32_t r = 0; r < d.by_rank.size(); ++r) d.rank[d.by_rank[r]] = r;
  }
  d.values.shrink_to_fit();
  d.folded.shrink_to_fit();
  dict_ = Dictionary();
  slots_.assign(1024, 0);
  hashes_.clear();
  return d;
}

}  // namespace contacts::index
