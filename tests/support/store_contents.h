// What two stores hold, compared contact by contact: for differential tests of write paths
// (bulk imports against upsert_batch).
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <span>
#include <vector>

#include "store/store.h"

namespace contacts::test_support {

// Every contact of `store`, in id order.
inline std::vector<Contact> contents(const Store& store) {
  std::vector<Contact> all;
  store.scan(0, [&](Contact&& c) { all.push_back(std::move(c)); });
  return all;
}

// The same contacts in the same id order (ids themselves may differ: an upsert that turns
// into an update may use up an id, which a bulk insert does not). meta_data is compared only
// as empty or not: PostgreSQL gives jsonb's spelling back.
inline void expect_same_contacts(const std::vector<Contact>& a, const std::vector<Contact>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    ASSERT_EQ(a[i].created_at_us, b[i].created_at_us) << i;
    ASSERT_EQ(a[i].updated_at_us, b[i].updated_at_us) << i;
    ASSERT_EQ(a[i].values.text, b[i].values.text) << i;
    ASSERT_EQ(a[i].values.numbers, b[i].values.numbers) << i;
    ASSERT_EQ(a[i].values.meta_data_json == "{}", b[i].values.meta_data_json == "{}") << i;
  }
}

// What a commit listener was told (the last row told of each id, by id) is what the store
// holds, field by field, for every contact it holds.
inline void expect_told_as_stored(const std::map<int64_t, Contact>& told,
                                  const std::vector<Contact>& stored) {
  ASSERT_EQ(told.size(), stored.size());
  for (const Contact& c : stored) {
    SCOPED_TRACE(c.values[TextField::first_name] + " " + c.values[TextField::email]);
    const auto it = told.find(c.id);
    ASSERT_NE(it, told.end());
    EXPECT_EQ(it->second.values.text, c.values.text);
    EXPECT_EQ(it->second.values.numbers, c.values.numbers);
    EXPECT_EQ(it->second.values.meta_data_json, c.values.meta_data_json);
    EXPECT_EQ(it->second.created_at_us, c.created_at_us);
    EXPECT_EQ(it->second.updated_at_us, c.updated_at_us);
  }
}

// Writes `rows` at `now` to `reference` (upsert_batch) and through `tested` (a Store or a
// BulkImport), expecting the same counts from both. Returns those of `tested`.
template <class Writer>
UpsertCounts upsert_both(Store& reference, Writer& tested, std::span<const ContactValues> rows,
                         int64_t now) {
  const UpsertCounts e = reference.upsert_batch(rows, now);
  const UpsertCounts g = tested.upsert_batch(rows, now);
  EXPECT_EQ(g.inserted, e.inserted) << "batch written at " << now;
  EXPECT_EQ(g.updated, e.updated) << "batch written at " << now;
  return g;
}

}  // namespace contacts::test_support
