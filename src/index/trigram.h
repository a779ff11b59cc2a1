// Trigram index over a pool of folded dictionary values, for sublinear substring search.
//
// For each distinct 3-byte sequence (trigram) occurring in some value, the index keeps the
// ascending list of the values containing it, delta-encoded as LEB128 varints. A term of 3 bytes
// or more is looked up by intersecting the lists of its trigrams, rarest first, and verifying each
// candidate with a real substring test; shorter terms fall back to one memmem pass over the pool.
//
// Cost: building walks the pool twice (counting, then filling lists of exact size) with tables
// that grow with the distinct trigrams, not the values: peak memory is the output plus a few MB.
// Postings take about 1.1 bytes per (value, distinct trigram) pair: about as many bytes as the
// pool itself for e-mail addresses. A query decodes the lists of the term's trigrams and reads
// only the candidate values; terms under 3 bytes cost a scan of the pool.
// Every function only reads its inputs: concurrent queries on one view are safe.
// Byte trigrams are exact on UTF-8: a byte substring of valid UTF-8 is a code-point substring.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace contacts::index {

// The index as built. keys: sorted distinct trigrams, b0 << 16 | b1 << 8 | b2. The postings of
// keys[k] are postings[starts[k], starts[k+1]): value indices, the first as is, then the gaps.
struct TrigramData {
  std::vector<uint32_t> keys;
  std::vector<uint64_t> starts;  // keys.size() + 1 entries
  std::vector<uint8_t> postings;
};

// The same layout over memory owned elsewhere (a TrigramData or a mapped snapshot file).
struct TrigramView {
  std::span<const uint32_t> keys;
  std::span<const uint64_t> starts;
  std::span<const uint8_t> postings;
};

// The pool: value i is bytes[offsets[i], offsets[i+1] - 1), each value followed by a '\0' and
// holding none itself; offsets has n + 1 entries.

// Indexes every value of the pool. Throws std::invalid_argument when offsets decrease or pass the
// end of bytes, std::length_error when n >= 2^32 - 1.
TrigramData build_trigrams(std::string_view bytes, std::span<const uint64_t> offsets);

// The postings of a dictionary merged from two (index/dictionary_merge.h): value i of `first`
// becomes map[i] (kDropped: gone; the kept ones in increasing order), value j of `second`
// becomes second_base + j (above every mapped value). For each trigram of either, in key order,
// the list is first's mapped values then second's; empty lists are left out. The postings go
// to `write` in pieces, in order; keys and starts are returned (postings empty). `release`,
// when given, is called with each stretch of first's postings once read (about every 32 MiB):
// a merge of mapped postings gives their pages back as it goes.
inline constexpr uint32_t kDropped = UINT32_MAX;
using ReleaseFn = void (*)(const void* data, size_t size);
template <class Write>
TrigramData merge_trigrams(const TrigramView& first, std::span<const uint32_t> map,
                           const TrigramView& second, uint32_t second_base, uint32_t second_count,
                           Write write, ReleaseFn release = nullptr);

// A view of `data`, valid while `data` lives unchanged.
TrigramView view_of(const TrigramData& data);

// Ascending indices of the values containing `term` as a byte substring (every value for an empty
// term, none for a term holding '\0'). Malformed postings or offsets never read out of bounds:
// a damaged list ends early, which may only lose matches.
std::vector<uint32_t> values_containing(const TrigramView& index, std::string_view bytes,
                                        std::span<const uint64_t> offsets, std::string_view term);

// An upper bound, in posting bytes, of the work values_containing does for `term`: the size
// of its rarest trigram's list (0 when some trigram is absent: nothing matches). UINT64_MAX
// for terms under 3 bytes, which need a scan of the whole pool.
uint64_t lookup_cost(const TrigramView& index, std::string_view term);

// Sets match to n zeros, then match[i] = 1 for each value i containing `term`.
void match_contains(const TrigramView& index, std::string_view bytes,
                    std::span<const uint64_t> offsets, std::string_view term,
                    std::vector<uint8_t>& match);

// Ascending indices of the values containing `term`, by one memmem pass over the whole pool (the
// path values_containing takes for terms under 3 bytes).
std::vector<uint32_t> scan_values_containing(std::string_view bytes,
                                             std::span<const uint64_t> offsets,
                                             std::string_view term);

namespace detail {
// merge_trigrams without the template: `write` gets each finished list.
TrigramData merge_trigrams(const TrigramView& first, std::span<const uint32_t> map,
                           const TrigramView& second, uint32_t second_base, uint32_t second_count,
                           void (*write)(void*, const uint8_t*, size_t), void* context,
                           ReleaseFn release);
}  // namespace detail

template <class Write>
TrigramData merge_trigrams(const TrigramView& first, std::span<const uint32_t> map,
                           const TrigramView& second, uint32_t second_base, uint32_t second_count,
                           Write write, ReleaseFn release) {
  return detail::merge_trigrams(
      first, map, second, second_base, second_count,
      [](void* context, const uint8_t* data, size_t size) {
        (*static_cast<Write*>(context))(data, size);
      },
      &write, release);
}

}  // namespace contacts::index
