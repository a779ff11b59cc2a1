// The embedded store's bulk import (Store::begin_bulk_import): into an empty table it loads
// without the e-mail index and builds it at the end, yet it writes exactly what upsert_batch
// writes (same contacts, ids, counts), whatever the duplicates, the batches, other writers
// meanwhile, or an import that stops before its end.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <filesystem>
#include <random>

#include "store/sqlite/sqlite_store.h"
#include "support/store_contents.h"

using namespace contacts;
namespace fs = std::filesystem;

namespace {

class BulkImportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("contacts_bulk_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string dir(const char* name) const { return (dir_ / name).string(); }

  // Rows with e-mails drawn from a small pool (so many repeat, in any case), some without.
  static std::vector<std::vector<ContactValues>> batches(unsigned seed, size_t count,
                                                         size_t size) {
    std::mt19937 rng(seed);
    std::vector<std::vector<ContactValues>> out(count);
    int n = 0;
    for (auto& batch : out) {
      for (size_t i = 0; i < size; ++i, ++n) {
        ContactValues v;
        v[TextField::first_name] = "P" + std::to_string(n);
        const unsigned e = rng() % 400;
        if (e >= 20) {
          std::string email = "person" + std::to_string(e) + "@example.com";
          if (rng() % 3 == 0) email[0] = 'P';  // the same contact, in another case
          v[TextField::email] = email;
        }
        v[NumberField::employees] = static_cast<int64_t>(rng() % 1000);
        batch.push_back(std::move(v));
      }
    }
    return out;
  }



  static bool has_email_index(const SqliteStore& store) {
    sqlite3* db = nullptr;
    sqlite3_open_v2(store.path().c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
    sqlite3_stmt* st = nullptr;
    sqlite3_prepare_v2(db,
                       "SELECT count(*) FROM sqlite_master WHERE name = 'contacts_email_key'",
                       -1, &st, nullptr);
    sqlite3_step(st);
    const bool has = sqlite3_column_int(st, 0) == 1;
    sqlite3_finalize(st);
    sqlite3_close(db);
    return has;
  }



  fs::path dir_;
};

TEST_F(BulkImportTest, WritesWhatUpsertBatchWritesAndBuildsTheIndexAtTheEnd) {
  const auto input = batches(1, 6, 300);
  SqliteStore plain(dir("plain")), bulk(dir("bulk"));
  UpsertCounts got;
  auto import = bulk.begin_bulk_import();
  EXPECT_FALSE(has_email_index(bulk)) << "an empty table loads without the e-mail index";
  for (size_t b = 0; b < input.size(); ++b) {
    const int64_t now = 1000 + static_cast<int64_t>(b);
    got.updated += test_support::upsert_both(plain, *import, input[b], now).updated;
  }
  EXPECT_GT(got.updated, 0u) << "the input repeats e-mails";
  import->finish();
  EXPECT_TRUE(has_email_index(bulk));
  test_support::expect_same_contacts(test_support::contents(bulk), test_support::contents(plain));
  EXPECT_EQ(bulk.data_version(), plain.data_version());
  // Later writes go through the index and still find the bulk-loaded rows.
  const auto more = batches(2, 1, 200);
  test_support::upsert_both(plain, bulk, more[0], 5000);
  test_support::expect_same_contacts(test_support::contents(bulk), test_support::contents(plain));
}

TEST_F(BulkImportTest, ANonEmptyTableKeepsItsIndex) {
  SqliteStore store(dir("store"));
  store.upsert_batch(batches(3, 1, 10)[0], 100);
  auto import = store.begin_bulk_import();
  EXPECT_TRUE(has_email_index(store));
  import->upsert_batch(batches(4, 1, 50)[0], 200);
  EXPECT_TRUE(has_email_index(store));
}

TEST_F(BulkImportTest, AnotherWriterMeanwhileRebuildsTheIndexAndTheImportGoesOnThroughIt) {
  const auto input = batches(5, 4, 250);
  const auto other = batches(6, 2, 100);
  SqliteStore plain(dir("plain")), bulk(dir("bulk"));
  SqliteStore bulk_other(dir("bulk"));  // a second connection: another process's writes
  auto import = bulk.begin_bulk_import();
  for (size_t b = 0; b < input.size(); ++b) {
    const int64_t now = 1000 + static_cast<int64_t>(b);
    test_support::upsert_both(plain, *import, input[b], now);
    if (b == 1) {
      for (const auto& batch : other) test_support::upsert_both(plain, bulk_other, batch, 1500);
      EXPECT_TRUE(has_email_index(bulk));
    }
  }
  import->finish();
  test_support::expect_same_contacts(test_support::contents(bulk), test_support::contents(plain));
}

TEST_F(BulkImportTest, AnImportThatStopsEarlyLeavesTheIndexToTheNextOpening) {
  const auto input = batches(7, 3, 200);
  SqliteStore plain(dir("plain"));
  for (size_t b = 0; b < input.size(); ++b) plain.upsert_batch(input[b], 1000 + b);
  {
    SqliteStore bulk(dir("bulk"));
    auto import = bulk.begin_bulk_import();
    for (size_t b = 0; b < 2; ++b) import->upsert_batch(input[b], 1000 + b);
    EXPECT_FALSE(has_email_index(bulk));
    // No finish(): the process stops here.
  }
  SqliteStore reopened(dir("bulk"));
  EXPECT_TRUE(has_email_index(reopened));
  reopened.upsert_batch(input[2], 1002);
  test_support::expect_same_contacts(test_support::contents(reopened), test_support::contents(plain));
}

TEST_F(BulkImportTest, AFailedBatchIsRolledBackAndTheImportGoesOnThroughTheIndex) {
  const auto input = batches(8, 3, 200);
  SqliteStore plain(dir("plain")), bulk(dir("bulk"));
  auto import = bulk.begin_bulk_import();
  plain.upsert_batch(input[0], 1000);
  import->upsert_batch(input[0], 1000);
  // A checkpoint of a job that does not exist: the batch's transaction is rolled back.
  JobCheckpoint lost;
  lost.job_id = 12345;
  lost.worker = "nobody";
  EXPECT_THROW(import->upsert_batch(input[1], 1001, &lost), LeaseLostError);
  for (size_t b = 1; b < input.size(); ++b) {
    plain.upsert_batch(input[b], 1000 + b);
    import->upsert_batch(input[b], 1000 + b);
  }
  import->finish();
  EXPECT_TRUE(has_email_index(bulk));
  test_support::expect_same_contacts(test_support::contents(bulk), test_support::contents(plain));
}

}  // namespace
