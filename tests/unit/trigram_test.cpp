#include "index/trigram.h"

#include <gtest/gtest.h>
#include <sys/mman.h>

#include <algorithm>
#include <functional>
#include <random>
#include <string>
#include <vector>

using namespace contacts::index;

namespace {

// A pool laid out as the dictionary lays it out: each value followed by '\0'.
struct Pool {
  std::string bytes;
  std::vector<uint64_t> offsets{0};

  explicit Pool(const std::vector<std::string>& values) {
    for (const std::string& v : values) {
      bytes += v;
      bytes.push_back('\0');
      offsets.push_back(bytes.size());
    }
  }
};

std::vector<uint32_t> brute_force(const std::vector<std::string>& values, const std::string& term) {
  std::vector<uint32_t> found;
  for (uint32_t i = 0; i < values.size(); ++i) {
    if (values[i].find(term) != std::string::npos) found.push_back(i);
  }
  return found;
}

std::vector<uint8_t> as_match(const std::vector<uint32_t>& found, size_t n) {
  std::vector<uint8_t> match(n, 0);
  for (uint32_t i : found) match[i] = 1;
  return match;
}

// Checks every entry point against std::string::find for one term.
void expect_exact(const std::vector<std::string>& values, const Pool& pool, const TrigramView& view,
                  const std::string& term) {
  const std::vector<uint32_t> expected = brute_force(values, term);
  EXPECT_EQ(values_containing(view, pool.bytes, pool.offsets, term), expected) << "term " << term;
  EXPECT_EQ(scan_values_containing(pool.bytes, pool.offsets, term), expected) << "term " << term;
  std::vector<uint8_t> match{7, 7};
  match_contains(view, pool.bytes, pool.offsets, term, match);
  EXPECT_EQ(match, as_match(expected, values.size())) << "term " << term;
}

std::string varint(uint64_t v) {
  std::string out;
  for (; v >= 0x80; v >>= 7) out.push_back(static_cast<char>(v | 0x80));
  out.push_back(static_cast<char>(v));
  return out;
}

std::vector<uint8_t> as_bytes(const std::string& s) { return {s.begin(), s.end()}; }

uint32_t trigram(const char* s) {
  const auto* b = reinterpret_cast<const unsigned char*>(s);
  return uint32_t{b[0]} << 16 | uint32_t{b[1]} << 8 | b[2];
}

}  // namespace

TEST(TrigramIndex, LayoutIsSortedKeysWithDeltaVarintPostings) {
  const std::vector<std::string> values = {"abcd", "bcd", "", "ab", "abcabc"};
  const Pool pool(values);
  const TrigramData data = build_trigrams(pool.bytes, pool.offsets);
  EXPECT_EQ(data.keys, (std::vector<uint32_t>{trigram("abc"), trigram("bca"), trigram("bcd"),
                                              trigram("cab")}));
  EXPECT_EQ(data.starts, (std::vector<uint64_t>{0, 2, 3, 5, 6}));
  // abc: values 0, 4 -> 0, gap 4; bca: 4; bcd: 0, 1 -> 0, gap 1; cab: 4.
  EXPECT_EQ(data.postings, (std::vector<uint8_t>{0, 4, 4, 0, 1, 4}));
}

TEST(TrigramIndex, EmptyPoolAndShortValuesHaveNoKeys) {
  for (const std::vector<std::string>& values :
       {std::vector<std::string>{}, std::vector<std::string>{"", "a", "ab", "ß"}}) {
    const Pool pool(values);
    const TrigramData data = build_trigrams(pool.bytes, pool.offsets);
    EXPECT_TRUE(data.keys.empty());
    EXPECT_EQ(data.starts, (std::vector<uint64_t>{0}));
    EXPECT_TRUE(data.postings.empty());
    for (const char* term : {"", "a", "ab", "abc", "ß"}) {
      expect_exact(values, pool, view_of(data), term);
    }
  }
}

TEST(TrigramIndex, MatchesUtf8ValuesExactly) {
  const std::vector<std::string> values = {
      "straße", "strasse", "σίσυφος", "", "ab", "😀 smile", "a😀b", "ßß", "σ", "jürgen.müller@x.de"};
  const Pool pool(values);
  const TrigramData data = build_trigrams(pool.bytes, pool.offsets);
  const TrigramView view = view_of(data);
  EXPECT_EQ(values_containing(view, pool.bytes, pool.offsets, "aße"), (std::vector<uint32_t>{0}));
  EXPECT_EQ(values_containing(view, pool.bytes, pool.offsets, "σ"), (std::vector<uint32_t>{2, 8}));
  EXPECT_EQ(values_containing(view, pool.bytes, pool.offsets, "😀"), (std::vector<uint32_t>{5, 6}));
  EXPECT_EQ(values_containing(view, pool.bytes, pool.offsets, "ü"), (std::vector<uint32_t>{9}));
  for (const char* term : {"", "s", "ß", "ße", "straße", "σίσυφος", "ίσυ", "😀", "\xF0\x9F", "a😀b",
                           "ü", "müller@", "strasse!", "σίσυφος and more", "x"}) {
    expect_exact(values, pool, view, term);
  }
}

TEST(TrigramIndex, TermWithRepeatedTrigramsNeedsTheWholeTerm) {
  const std::vector<std::string> values = {"aaa", "aaaa", "aaaaa", "aa", "baaab", "aaaab"};
  const Pool pool(values);
  const TrigramData data = build_trigrams(pool.bytes, pool.offsets);
  EXPECT_EQ(values_containing(view_of(data), pool.bytes, pool.offsets, "aaaa"),
            (std::vector<uint32_t>{1, 2, 5}));
  for (const char* term : {"aa", "aaa", "aaaa", "aaaaa", "aaaaaa", "aab", "baaab"}) {
    expect_exact(values, pool, view_of(data), term);
  }
}

TEST(TrigramIndex, TermWithNulOrAbsentTrigramMatchesNothing) {
  const std::vector<std::string> values = {"abc", "xyz"};
  const Pool pool(values);
  const TrigramData data = build_trigrams(pool.bytes, pool.offsets);
  const TrigramView view = view_of(data);
  const std::string with_nul("abc\0xyz", 7);
  EXPECT_TRUE(values_containing(view, pool.bytes, pool.offsets, with_nul).empty());
  EXPECT_TRUE(values_containing(view, pool.bytes, pool.offsets, std::string("c\0", 2)).empty());
  EXPECT_TRUE(values_containing(view, pool.bytes, pool.offsets, std::string("\0", 1)).empty());
  EXPECT_TRUE(values_containing(view, pool.bytes, pool.offsets, "abz").empty());
}

TEST(TrigramIndex, MatchesRandomPoolsLikeBruteForce) {
  // A small alphabet of ASCII and multibyte pieces, so trigrams repeat across many values.
  const std::vector<std::string> pieces = {"a", "b", "c", "a", "b", "ß", "σ", "😀", "é", "."};
  for (uint32_t seed = 1; seed <= 40; ++seed) {
    std::mt19937 rng(seed);
    auto random_string = [&](size_t max_pieces) {
      std::string s;
      const size_t count = rng() % (max_pieces + 1);
      for (size_t k = 0; k < count; ++k) s += pieces[rng() % pieces.size()];
      return s;
    };
    std::vector<std::string> values;
    const size_t n = 1 + rng() % 400;
    for (size_t i = 0; i < n; ++i) values.push_back(random_string(i % 7 == 0 ? 2 : 12));
    const Pool pool(values);
    const TrigramData data = build_trigrams(pool.bytes, pool.offsets);
    const TrigramView view = view_of(data);

    std::vector<std::string> terms = {"", "aaaa", "abab", std::string(200, 'a')};
    for (size_t length : {0, 1, 2, 3, 4, 10}) {
      for (int k = 0; k < 6; ++k) {
        const std::string& from = values[rng() % values.size()];  // a byte slice: often a match
        if (from.size() >= length)
          terms.push_back(from.substr(rng() % (from.size() - length + 1), length));
        std::string random = random_string(length);
        terms.push_back(random.substr(0, std::min(random.size(), length)));
      }
    }
    for (const std::string& term : terms) expect_exact(values, pool, view, term);
    if (HasFailure()) FAIL() << "seed " << seed;
  }
}

TEST(TrigramIndex, EncodesGapsBeyondTwentyOneBits) {
  // Values 3 and 3 + 2^21 + 1 hold "xyz"; all the others are empty.
  const uint32_t far = 3 + (1u << 21) + 1;
  std::vector<std::string> values(far + 2);
  values[3] = "xyz";
  values[far] = "wxyz";
  const Pool pool(values);
  const TrigramData data = build_trigrams(pool.bytes, pool.offsets);
  EXPECT_EQ(data.keys, (std::vector<uint32_t>{trigram("wxy"), trigram("xyz")}));
  EXPECT_EQ(data.postings, as_bytes(varint(far) + varint(3) + varint(far - 3)));
  EXPECT_EQ(data.postings.size(), 4u + 1u + 4u);
  EXPECT_EQ(values_containing(view_of(data), pool.bytes, pool.offsets, "xyz"),
            (std::vector<uint32_t>{3, far}));
  EXPECT_EQ(values_containing(view_of(data), pool.bytes, pool.offsets, "wxyz"),
            (std::vector<uint32_t>{far}));
}

TEST(TrigramIndex, DecodesGapsBeyondTwentyEightBits) {
  // 2^28 + 16 values: the offsets live in untouched anonymous pages (all zero, no memory), and only
  // values 5 and 5 + 2^28 + 7 are given bytes, both "xyz".
  const size_t n = (size_t{1} << 28) + 16;
  const size_t length = (n + 1) * sizeof(uint64_t);
  void* mapped = mmap(nullptr, length, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  ASSERT_NE(mapped, MAP_FAILED);
  const std::span<uint64_t> offsets(static_cast<uint64_t*>(mapped), n + 1);
  const uint32_t far = 5 + (1u << 28) + 7;
  offsets[6] = 4;
  offsets[far + 1] = 4;
  const std::string bytes("xyz", 4);  // with its NUL
  const std::vector<uint32_t> keys = {trigram("xyz")};
  const std::string encoded = varint(5) + varint(far - 5);
  ASSERT_EQ(encoded.size(), 1u + 5u);
  const std::vector<uint8_t> postings = as_bytes(encoded);
  const std::vector<uint64_t> starts = {0, postings.size()};
  const TrigramView view{keys, starts, postings};
  EXPECT_EQ(values_containing(view, bytes, offsets, "xyz"), (std::vector<uint32_t>{5, far}));
  munmap(mapped, length);
}

TEST(TrigramIndex, MalformedPostingsNeverReadOutOfBoundsNorInventMatches) {
  const std::vector<std::string> values = {"abcd", "xabcx", "bcd", "abc", "zzabcdzz", "q"};
  const Pool pool(values);
  const TrigramData good = build_trigrams(pool.bytes, pool.offsets);
  // Results stay strictly ascending and verified: damage may only lose matches.
  auto subset_of_truth = [&](const TrigramView& view, const std::string& term) {
    const std::vector<uint32_t> truth = brute_force(values, term);
    const std::vector<uint32_t> got = values_containing(view, pool.bytes, pool.offsets, term);
    EXPECT_EQ(std::adjacent_find(got.begin(), got.end(), std::greater_equal<>()), got.end());
    for (uint32_t i : got) {
      EXPECT_TRUE(std::binary_search(truth.begin(), truth.end(), i)) << i << " for " << term;
    }
  };
  const std::vector<std::string> terms = {"abc", "bcd", "abcd", "zabcd", "xabc"};

  // Continuation bits to the end, varints too long for 32 bits, indices past n, zero gaps.
  const std::vector<std::vector<uint8_t>> bad_lists = {
      {0x80}, {0xFF, 0xFF, 0xFF}, {0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01},
      {0x7F}, {0, 0, 0},          {3, 0x80}};
  for (const std::vector<uint8_t>& bad : bad_lists) {
    std::vector<uint8_t> postings;
    std::vector<uint64_t> starts{0};
    for (size_t k = 0; k < good.keys.size(); ++k) {
      postings.insert(postings.end(), bad.begin(), bad.end());
      starts.push_back(postings.size());
    }
    for (const std::string& term : terms) subset_of_truth({good.keys, starts, postings}, term);
  }

  // Random bytes, starts out of order or past the postings, starts cut short.
  std::mt19937 rng(7);
  for (int round = 0; round < 200; ++round) {
    std::vector<uint8_t> postings = good.postings;
    for (uint8_t& b : postings) b = static_cast<uint8_t>(rng());
    std::vector<uint64_t> starts = good.starts;
    if (round % 3 == 1) starts[1 + rng() % (starts.size() - 1)] = rng() % (postings.size() + 10);
    if (round % 3 == 2) starts.resize(rng() % starts.size());
    for (const std::string& term : terms) subset_of_truth({good.keys, starts, postings}, term);
  }
}

TEST(TrigramIndex, OffsetsPastTheBytesNeverReadOutOfBounds) {
  const std::vector<std::string> values = {"abcd", "abcd"};
  const Pool pool(values);
  const TrigramData data = build_trigrams(pool.bytes, pool.offsets);
  std::vector<uint64_t> offsets = pool.offsets;
  offsets[2] = 1000;
  EXPECT_EQ(values_containing(view_of(data), pool.bytes, offsets, "abc"),
            (std::vector<uint32_t>{0}));
  EXPECT_EQ(values_containing(view_of(data), pool.bytes, offsets, "ab"),
            (std::vector<uint32_t>{0, 1}));
  EXPECT_THROW(build_trigrams(pool.bytes, offsets), std::invalid_argument);
}
