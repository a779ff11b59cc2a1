// merge_segments' dictionaries (index/dictionary_merge.h) against a segment built afresh from
// the same rows: same value in every row, same collation order of rows, same substring matches
// of the folded values.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "index/segment.h"
#include "util/text.h"

namespace contacts {
namespace {

// Values alike in many ways: case, accents (composed and decomposed: equal collation keys,
// different bytes), shared prefixes, the empty string, and enough distinct ones for trigram
// postings (more than index::kTrigramMinValues).
std::string random_value(std::mt19937_64& rng, int n_distinct) {
  static const char* const kStems[] = {"anna", "Anna", "\xC3\xA9lan", "e\xCC\x81lan", "elan",
                                       "Zo\xC3\xAB", "zoe", "o'brien", "OBrien", "\xC3\x9F",
                                       "ss", "\xE6\x97\xA5\xE6\x9C\xAC", ""};
  const size_t stem = rng() % std::size(kStems);
  if (rng() % 4 == 0) return kStems[stem];
  return std::string(kStems[stem]) + "." + std::to_string(rng() % n_distinct) + "@x" +
         std::to_string(rng() % 7) + ".com";
}

Contact random_contact(std::mt19937_64& rng, int64_t id, int n_distinct) {
  Contact c;
  c.id = id;
  c.created_at_us = 1'700'000'000'000'000 + id % 97;
  c.values[TextField::email] = random_value(rng, n_distinct);
  c.values[TextField::title] = random_value(rng, 40);
  c.values[TextField::person_linkedin_url] = random_value(rng, n_distinct);
  c.values[TextField::mobile_phone] = std::to_string(rng() % 3000);
  c.values[TextField::country] = random_value(rng, 5);
  if (rng() % 5 != 0) c.values.numbers[0] = static_cast<int64_t>(rng() % 50) - 10;
  if (rng() % 2 != 0) c.values.numbers[1] = static_cast<int64_t>(rng() % 4);
  c.updated_at_us = c.created_at_us + static_cast<int64_t>(rng() % 100);
  c.created_at_us -= static_cast<int64_t>(rng() % 3) * 1000;
  return c;
}

int sign(int64_t v) { return (v > 0) - (v < 0); }

class DictionaryMergeTest : public ::testing::TestWithParam<int> {};

TEST_P(DictionaryMergeTest, MergedColumnsMatchAFreshBuild) {
  std::mt19937_64 rng(GetParam());
  // A base, two deltas replacing some of its rows (an upsert: the base's row is dropped) and
  // adding others.
  std::vector<std::vector<Contact>> parts(3);
  for (int64_t id = 1; id <= 3000; ++id) parts[0].push_back(random_contact(rng, id, 2500));
  for (size_t p = 1; p < parts.size(); ++p) {
    for (int64_t id = 1; id <= 3400; id += 1 + static_cast<int64_t>(rng() % 9)) {
      parts[p].push_back(random_contact(rng, id, 2500));
    }
  }
  std::vector<std::shared_ptr<const index::Segment>> segments;
  for (const auto& contacts : parts) {
    index::SegmentBuilder builder;
    for (const Contact& c : contacts) builder.add(c);
    segments.push_back(builder.finish("", {1, 1, 0}));
  }
  // The newest part holding an id has its row.
  std::map<int64_t, index::Ref> newest;
  for (uint32_t p = 0; p < parts.size(); ++p) {
    for (uint32_t row = 0; row < parts[p].size(); ++row) newest[parts[p][row].id] = {p, row};
  }
  std::vector<index::Ref> rows;
  index::SegmentBuilder fresh_builder;
  for (const auto& [id, ref] : newest) {
    rows.push_back(ref);
    fresh_builder.add(parts[ref.part][ref.row]);
  }
  std::vector<const index::Segment*> sources;
  for (const auto& s : segments) sources.push_back(s.get());
  const auto merged = index::merge_segments(sources, rows, "", {1, 2, 0});
  const auto fresh = fresh_builder.finish("", {1, 2, 0});
  ASSERT_EQ(merged->rows, fresh->rows);
  // Presorted row orders, merged from the sources' orders, are exactly a fresh build's.
  for (size_t k = 0; k < kSortKeyCount; ++k) {
    const auto m = merged->sort_orders[k];
    const auto x = fresh->sort_orders[k];
    ASSERT_EQ(std::vector<uint32_t>(m.begin(), m.end()), std::vector<uint32_t>(x.begin(), x.end()))
        << "sort key " << k;
  }

  for (TextField f : {TextField::email, TextField::title, TextField::person_linkedin_url,
                      TextField::mobile_phone}) {
    SCOPED_TRACE("field " + std::to_string(static_cast<int>(f)));
    const index::TextColumn& m = merged->column(f);
    const index::TextColumn& x = fresh->column(f);
    EXPECT_EQ(m.dict.size(), x.dict.size()) << "each distinct value once";
    EXPECT_EQ(m.dict.values.get(0), "");
    const auto m_rank = merged->text_rank(f);
    const auto x_rank = fresh->text_rank(f);
    std::vector<uint32_t> m_count(m.dict.size()), x_count(x.dict.size());
    for (uint32_t row = 0; row < merged->rows; ++row) {
      ASSERT_EQ(m.dict.values.get(m.codes[row]), x.dict.values.get(x.codes[row])) << row;
      ASSERT_EQ(m.dict.folded.get(m.codes[row]), x.dict.folded.get(x.codes[row])) << row;
      ASSERT_EQ(m.dict.first_row[m.codes[row]], x.dict.first_row[x.codes[row]]) << row;
      ASSERT_EQ(m.dict.row_count[m.codes[row]], x.dict.row_count[x.codes[row]]) << row;
    }
    for (int i = 0; i < 20000; ++i) {
      const uint32_t a = static_cast<uint32_t>(rng() % merged->rows);
      const uint32_t b = static_cast<uint32_t>(rng() % merged->rows);
      ASSERT_EQ(sign(int64_t{m_rank[m.codes[a]]} - m_rank[m.codes[b]]),
                sign(int64_t{x_rank[x.codes[a]]} - x_rank[x.codes[b]]))
          << m.dict.values.get(m.codes[a]) << " / " << m.dict.values.get(m.codes[b]);
    }
    if (!m.dict.by_rank.empty()) {  // by_rank lists the codes in rank order
      ASSERT_EQ(m.dict.by_rank.size(), m.dict.size());
      for (size_t i = 1; i < m.dict.by_rank.size(); ++i) {
        ASSERT_LE(m.dict.rank[m.dict.by_rank[i - 1]], m.dict.rank[m.dict.by_rank[i]]);
      }
    }
    EXPECT_EQ(m.dict.trigrams.keys.empty(), x.dict.trigrams.keys.empty());
    for (const char* term : {"ann", "lan", "@x3", ".12", "\xC3\xA9l", "obr", "ss.", "zz", "a",
                             "nna.1", "1@x"}) {
      std::vector<uint8_t> m_match, x_match;
      m.dict.match_contains(term, m_match);
      x.dict.match_contains(term, x_match);
      for (uint32_t row = 0; row < merged->rows; ++row) {
        ASSERT_EQ(m_match[m.codes[row]], x_match[x.codes[row]]) << term << " row " << row;
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Seeds, DictionaryMergeTest, ::testing::Values(1, 2, 3));

}  // namespace
}  // namespace contacts
