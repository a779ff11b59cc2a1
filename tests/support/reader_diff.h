// Differential checks between two ContactReaders that hold the same rows: the same query to
// both, the same answer expected to the byte. Used to test the read index against SQL
// (tests/conformance/pg_reader_test.cpp) and an incrementally refreshed index against a fresh
// build (tests/unit/index_snapshot_test.cpp).
#pragma once

#include <gtest/gtest.h>

#include <optional>
#include <random>
#include <string>
#include <vector>

#include "query/params.h"
#include "query/parse.h"
#include "query/reader.h"
#include "util/text.h"

namespace contacts::testing_support {

inline bool same_contact(const Contact& a, const Contact& b) {
  return a.id == b.id && a.created_at_us == b.created_at_us && a.updated_at_us == b.updated_at_us &&
         a.values.text == b.values.text && a.values.numbers == b.values.numbers &&
         a.values.meta_data_json == b.values.meta_data_json;
}

inline std::string describe(const std::optional<CursorToken>& t) {
  if (!t) return "none";
  return std::to_string(t->created_at_us) + "/" + std::to_string(t->id) +
         (t->backwards ? "/back" : "/fwd");
}

inline std::string ids(const ListPage& p) {
  std::string s;
  for (const Contact& c : p.rows) s += std::to_string(c.id) + " ";
  return s;
}

// Fails with `context` unless both pages are identical.
inline void expect_same(const ListPage& want, const ListPage& got, const std::string& context) {
  ASSERT_EQ(ids(want), ids(got)) << context;
  for (size_t i = 0; i < want.rows.size(); ++i) {
    ASSERT_TRUE(same_contact(want.rows[i], got.rows[i])) << context << " row " << i;
  }
  EXPECT_EQ(describe(want.next), describe(got.next)) << context;
  EXPECT_EQ(describe(want.previous), describe(got.previous)) << context;
  EXPECT_EQ(want.has_more, got.has_more) << context;
}

inline std::string rows_text(const FieldPage& p) {
  std::string s;
  for (const FieldRow& r : p.rows) s += std::to_string(r.id) + ":" + r.value + "|";
  return s + (p.has_more ? " more" : " end");
}

inline std::string values_text(const std::vector<ValueCount>& v) {
  std::string s;
  for (const ValueCount& c : v) s += c.value + "=" + std::to_string(c.total) + "|";
  return s;
}

// Every ordering field (contract section 4).
inline const std::vector<std::string>& sort_names() {
  static const std::vector<std::string> kNames = [] {
    std::vector<std::string> names;
    for (std::string_view f : text::split_trimmed(valid_ordering_list(), ',')) names.emplace_back(f);
    return names;
  }();
  return kNames;
}

inline const std::vector<std::string>& endpoint_names() {
  static const std::vector<std::string> kNames = {
      "title",           "company",         "industry",       "keywords", "technologies",
      "company_address", "contact_address", "city",           "state",    "country",
      "company_city",    "company_state",   "company_country"};
  return kNames;
}

// The same queries to `want` (the reference) and `got`.
struct ReaderDiff {
  const ContactReader& want;
  const ContactReader& got;

  static ListQuery list_query(const std::string& q) {
    return parse_list_query(QueryParams::parse(q));
  }

  // One list query; with cursors, walks up to `pages` pages forward, then back.
  void check_list(const std::string& query, int pages = 4) const {
    ListQuery q = list_query(query);
    ListPage a = want.list(q);
    ListPage b = got.list(q);
    ASSERT_NO_FATAL_FAILURE(expect_same(a, b, query));
    if (!q.cursor_strategy) return;
    for (int i = 1; i < pages && a.next; ++i) {
      q.cursor = a.next;
      a = want.list(q);
      b = got.list(q);
      ASSERT_NO_FATAL_FAILURE(expect_same(a, b, query + " page " + std::to_string(i)));
    }
    for (int i = 0; i < pages && a.previous; ++i) {
      q.cursor = a.previous;
      a = want.list(q);
      b = got.list(q);
      ASSERT_NO_FATAL_FAILURE(expect_same(a, b, query + " back " + std::to_string(i)));
    }
  }

  void check_count(const std::string& query) const {
    const ContactFilter f = parse_filter(QueryParams::parse(query));
    EXPECT_EQ(want.count(f), got.count(f)) << query;
  }

  void check_field(const std::string& endpoint, const std::string& query) const {
    const FieldQuery q =
        parse_field_query(*field_endpoint_named(endpoint), QueryParams::parse(query));
    EXPECT_EQ(rows_text(want.field_values(q)), rows_text(got.field_values(q)))
        << endpoint << "?" << query;
  }

  void check_analytics(uint32_t limit) const {
    const AnalyticsSnapshot a = want.analytics({limit});
    const AnalyticsSnapshot b = got.analytics({limit});
    EXPECT_EQ(a.total_contacts, b.total_contacts);
    EXPECT_EQ(values_text(a.top_countries), values_text(b.top_countries)) << limit;
    EXPECT_EQ(values_text(a.top_industries), values_text(b.top_industries)) << limit;
  }

  void check_get(int64_t id) const {
    const auto a = want.get(id);
    const auto b = got.get(id);
    ASSERT_EQ(a.has_value(), b.has_value()) << id;
    if (a) {
      EXPECT_TRUE(same_contact(*a, *b)) << id;
    }
  }

  // Every contact of a stream, in order.
  static std::string stream_text(const ContactReader& r, const std::string& query) {
    const auto stream = r.stream(list_query(query));
    std::vector<Contact> batch;
    std::string s;
    bool more = true;
    while (more) {
      more = stream->next(batch, 100);
      for (const Contact& c : batch) s += std::to_string(c.id) + " ";
    }
    return s;
  }
  void check_stream(const std::string& query) const {
    EXPECT_EQ(stream_text(want, query), stream_text(got, query)) << query;
  }

  // `rounds` random queries (filters, search, ranges, orderings, pages, field endpoints),
  // with values cut from `samples` (contacts of the data set).
  void random_queries(std::mt19937_64& rng, const std::vector<Contact>& samples,
                      int rounds) const {
    auto pick = [&](size_t n) { return static_cast<size_t>(rng() % n); };
    auto sample = [&]() -> const Contact& { return samples[pick(samples.size())]; };
    // A piece of a stored value of `field`, cut at code point boundaries, maybe upper-cased.
    auto piece = [&](TextField field) {
      const std::string v(sample().values[field]);
      if (v.empty()) return std::string("e");
      auto boundary = [&](size_t i) {
        while (i < v.size() && (static_cast<unsigned char>(v[i]) & 0xC0) == 0x80) ++i;
        return i;
      };
      const size_t b = boundary(pick(v.size()));
      const size_t e = boundary(b + 1 + pick(6));
      std::string s = v.substr(b, e - b);
      if (s.empty()) s = v;
      if (rng() % 2) {
        for (char& ch : s) ch = static_cast<char>(toupper(static_cast<unsigned char>(ch)));
      }
      return s;
    };
    std::vector<TextField> filterable;
    for (const TextFieldInfo& f : text_fields()) filterable.push_back(f.field);
    for (int i = 0; i < rounds; ++i) {
      std::string q;
      auto add = [&](const std::string& name, const std::string& value) {
        q += (q.empty() ? "" : "&") + name + "=" + url_encode(value);
      };
      const size_t filters = pick(3);
      for (size_t k = 0; k < filters; ++k) {
        const TextField f = filterable[pick(filterable.size())];
        const bool exact = info(f).exact_filter;
        std::string value = exact ? sample().values[f] : piece(f);
        if (exact && rng() % 2) {
          for (char& ch : value) ch = static_cast<char>(toupper(static_cast<unsigned char>(ch)));
        }
        add(std::string(info(f).name), value);
      }
      if (rng() % 3 == 0) {
        const NumberField f = static_cast<NumberField>(pick(kNumberFieldCount));
        const int64_t lo = static_cast<int64_t>(pick(3)) * static_cast<int64_t>(pick(1'000'000));
        if (rng() % 2) add(std::string(info(f).name) + "_min", std::to_string(lo));
        if (rng() % 2)
          add(std::string(info(f).name) + "_max", std::to_string(lo + pick(1'000'000'000)));
      }
      if (rng() % 3 == 0) {
        std::string s = piece(TextField::title);
        if (rng() % 2) s += " " + piece(TextField::company);
        if (rng() % 2) s += "," + piece(TextField::keywords);
        add("search", s);
      }
      if (rng() % 4 == 0)
        add("created_at_after",
            std::to_string(2023) + "-11-14T22:13:2" + std::to_string(1 + pick(5)) + "Z");
      SCOPED_TRACE(q);
      check_count(q);
      if (rng() % 2) {
        std::string order;
        const size_t terms = 1 + pick(3);
        for (size_t t = 0; t < terms; ++t) {
          order += std::string(order.empty() ? "" : ",") + (rng() % 2 ? "-" : "") +
                   sort_names()[pick(sort_names().size())];
        }
        check_list(q + "&ordering=" + order + "&limit=" + std::to_string(1 + pick(100)) +
                   "&offset=" + std::to_string(pick(3) ? pick(50) : pick(5000)));
      } else {
        check_list(q + "&page_size=" + std::to_string(1 + pick(30)) +
                       (rng() % 2 ? "&ordering=-created_at" : ""),
                   5);
      }
      const std::string& endpoint = endpoint_names()[pick(endpoint_names().size())];
      std::string fq =
          "limit=" + std::to_string(1 + pick(100)) + "&offset=" + std::to_string(pick(60));
      if (rng() % 2) fq += "&distinct=true";
      if (rng() % 2) fq += "&separated=true";
      if (rng() % 2) fq += "&search=" + url_encode(piece(TextField::keywords));
      check_field(endpoint, fq);
    }
  }
};

}  // namespace contacts::testing_support
