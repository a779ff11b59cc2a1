// Differential test of contract section 4 (revision 2): random orderings (1-3 fields, mixed
// directions, any field) of the read index against a model written here from the contract,
// with ICU's C++ collator as the independent text order, over data rich in accents, case
// variants, empties, duplicates and other scripts (Greek, Cyrillic, CJK). Limit-offset and
// cursor walks must cover every row exactly once, in that order; on a base alone and on a
// base with a delta (rows of two segments compared with each other).
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <random>
#include <set>
#include <sstream>

#include "index/index_reader.h"
#include "index/refresher.h"
#include "query/params.h"
#include "query/parse.h"
#include "store/sqlite/sqlite_store.h"
#include "support/icu_collation.h"

using namespace contacts;

namespace {

using testing_support::icu_compare;

// Values that collation orders differently from code points, or ties: accents, case,
// fullwidth forms, ignorable characters, digits, punctuation, other scripts, duplicates.
const std::vector<std::string>& tricky_values() {
  static const std::vector<std::string> kValues = {
      "", "", "", "élan", "Élan", "elan", "Elan", "ELAN", "apple", "Apple", "Banana", "banana",
      "Zoe", "Zoë", "zoe", "Ａｌｉｃｅ", "alice", "Alice", "résumé", "resume", "Resume",
      "Straße", "strasse", "Ωμέγα", "ωμέγα", "Άλφα", "Жанна", "жанна", "Ёлка", "王", "中国",
      "東京", "とうきょう", "10", "9", "-dash", "_under", " lead", "a\x7f", "a", "e\xcc\x81lan",
      "Ölfirma", "Oelfirma", "zürich", "Zurich", "Łódź", "lodz", "ǅemal", "Ǆemal", "12 Main St",
      "#1", "@home", "🚀 rocket", "rocket"};
  return kValues;
}

std::vector<std::string> ordering_fields() {
  std::vector<std::string> fields;
  std::stringstream list(valid_ordering_list());
  for (std::string f; std::getline(list, f, ',');) fields.push_back(f.substr(f.find_first_not_of(' ')));
  return fields;
}

// The contract's order of two contacts for one ordering: each term (text by collation, empty
// text and null numbers last in both directions), then id in the first term's direction.
bool model_before(const Contact& a, const Contact& b, const std::vector<OrderTerm>& ordering) {
  for (const OrderTerm& t : ordering) {
    const SortColumn col = sort_column(t.key);
    int r = 0;
    bool a_missing = false, b_missing = false;
    switch (col.kind) {
      case SortColumn::Kind::text: {
        const std::string& x = a.values[col.text];
        const std::string& y = b.values[col.text];
        a_missing = x.empty();
        b_missing = y.empty();
        if (!a_missing && !b_missing) r = icu_compare(x, y);
        break;
      }
      case SortColumn::Kind::number: {
        const auto& x = a.values[col.number];
        const auto& y = b.values[col.number];
        a_missing = !x;
        b_missing = !y;
        if (x && y) r = *x < *y ? -1 : *x > *y ? 1 : 0;
        break;
      }
      case SortColumn::Kind::created_at:
        r = a.created_at_us < b.created_at_us ? -1 : a.created_at_us > b.created_at_us ? 1 : 0;
        break;
      case SortColumn::Kind::updated_at:
        r = a.updated_at_us < b.updated_at_us ? -1 : a.updated_at_us > b.updated_at_us ? 1 : 0;
        break;
      case SortColumn::Kind::id: r = a.id < b.id ? -1 : a.id > b.id ? 1 : 0; break;
    }
    if (a_missing != b_missing) return b_missing;
    if (r != 0) return t.descending ? r > 0 : r < 0;
  }
  return ordering.front().descending ? a.id > b.id : a.id < b.id;
}

class OrderingDifferential : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("contacts_ordering_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    store_ = std::make_unique<SqliteStore>(dir_.string());
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  ContactValues random_contact(std::mt19937_64& rng, int serial) {
    const auto& pool = tricky_values();
    auto pick = [&] { return pool[rng() % pool.size()]; };
    ContactValues v;
    for (size_t f = 0; f < kTextFieldCount; ++f) v.text[f] = pick();
    // E-mails are the upsert key: unique (or empty), but sharing their tricky prefixes.
    v[TextField::email] = rng() % 8 == 0 ? "" : pick() + "." + std::to_string(serial) + "@x.io";
    for (size_t f = 0; f < kNumberFieldCount; ++f) {
      if (rng() % 4 != 0) v.numbers[f] = static_cast<int64_t>(rng() % 7) - 2;  // ties, negatives
    }
    return v;
  }

  // Adds `rows` contacts in batches of a few rows (created_at ties within a batch).
  void add(std::mt19937_64& rng, int rows, int64_t& now) {
    for (int done = 0; done < rows;) {
      std::vector<ContactValues> batch;
      const int n = std::min<int>(rows - done, 1 + static_cast<int>(rng() % 9));
      for (int i = 0; i < n; ++i) batch.push_back(random_contact(rng, serial_++));
      if (rng() % 3 != 0) now += 1000;
      store_->upsert_batch(batch, now);
      done += n;
    }
  }

  std::vector<Contact> all_contacts() {
    std::vector<Contact> all;
    store_->scan(0, [&](Contact&& c) { all.push_back(std::move(c)); });
    return all;
  }

  // Walks `ordering` both ways the rule allows and compares with the model.
  void check(const ContactReader& reader, const std::vector<Contact>& all,
             const std::string& ordering) {
    const ListQuery parsed = parse_export_query(QueryParams::parse("ordering=" + ordering));
    std::vector<Contact> expected = all;
    std::stable_sort(expected.begin(), expected.end(), [&](const Contact& a, const Contact& b) {
      return model_before(a, b, parsed.ordering);
    });
    std::vector<int64_t> want;
    for (const Contact& c : expected) want.push_back(c.id);
    // Limit-offset pages.
    std::vector<int64_t> got;
    const uint32_t limit = 1 + static_cast<uint32_t>(want.size() % 97);
    for (uint64_t offset = 0; offset < want.size() + limit; offset += limit) {
      const ListQuery q = parse_list_query(QueryParams::parse(
          "ordering=" + ordering + "&limit=" + std::to_string(limit) + "&offset=" + std::to_string(offset)));
      ASSERT_FALSE(q.cursor_strategy);
      const ListPage page = reader.list(q);
      for (const Contact& c : page.rows) got.push_back(c.id);
      ASSERT_EQ(page.has_more, offset + limit < want.size()) << ordering << " offset " << offset;
    }
    ASSERT_EQ(got, want) << "ordering=" << ordering << " limit " << limit;
    // Cursor pages, where the rule gives them.
    if (ordering != "created_at" && ordering != "-created_at") return;
    got.clear();
    ListQuery q = parse_list_query(QueryParams::parse("ordering=" + ordering + "&page_size=23"));
    ASSERT_TRUE(q.cursor_strategy);
    for (int guard = 0; guard < 1000; ++guard) {
      const ListPage page = reader.list(q);
      for (const Contact& c : page.rows) got.push_back(c.id);
      if (!page.next) break;
      q.cursor = page.next;
    }
    ASSERT_EQ(got, want) << "cursor walk of ordering=" << ordering;
  }

  void check_random_orderings(const ContactReader& reader, std::mt19937_64& rng, int count) {
    const std::vector<Contact> all = all_contacts();
    const std::vector<std::string> fields = ordering_fields();
    ASSERT_EQ(fields.size(), 41u);
    for (const std::string& f : fields) {  // every field alone, both directions
      ASSERT_NO_FATAL_FAILURE(check(reader, all, f));
      ASSERT_NO_FATAL_FAILURE(check(reader, all, "-" + f));
    }
    for (int i = 0; i < count; ++i) {
      std::string ordering;
      const int terms = 1 + static_cast<int>(rng() % 3);
      for (int t = 0; t < terms; ++t) {
        if (!ordering.empty()) ordering += ",";
        if (rng() % 2) ordering += "-";
        ordering += fields[rng() % fields.size()];
      }
      ASSERT_NO_FATAL_FAILURE(check(reader, all, ordering));
    }
  }

  std::filesystem::path dir_;
  std::unique_ptr<SqliteStore> store_;
  int serial_ = 0;
};

TEST_F(OrderingDifferential, RandomOrderingsOfOneSegmentFollowTheCollation) {
  std::mt19937_64 rng(2026);
  int64_t now = 1'800'000'000'000'000;
  add(rng, 400, now);
  index::IndexReader reader(index::build_snapshot(*store_));
  ASSERT_EQ(reader.snapshot()->parts.size(), 1u);
  check_random_orderings(reader, rng, 150);
}

TEST_F(OrderingDifferential, RandomOrderingsAcrossBaseAndDeltaFollowTheCollation) {
  std::mt19937_64 rng(4051);
  int64_t now = 1'800'000'000'000'000;
  add(rng, 300, now);
  index::IndexReader reader(index::build_snapshot(*store_));
  index::RefreshOptions options;
  options.interval = std::chrono::hours(1);
  options.compact_min_rows = 1'000'000;  // keep the delta
  index::Refresher refresher(*store_, reader, options);
  add(rng, 120, now);
  // Updates by e-mail: the delta replaces rows of the base (tombstones).
  std::vector<Contact> all = all_contacts();
  std::vector<ContactValues> updates;
  for (int i = 0; i < 30; ++i) {
    const Contact& c = all[rng() % all.size()];
    if (c.values[TextField::email].empty()) continue;
    ContactValues v = random_contact(rng, 0);
    v[TextField::email] = c.values[TextField::email];
    updates.push_back(v);
  }
  store_->upsert_batch(updates, now += 1000);
  refresher.refresh_now();
  ASSERT_GE(reader.snapshot()->parts.size(), 2u);
  check_random_orderings(reader, rng, 150);
}

}  // namespace
