// What only the PostgreSQL store has: migrations, the connection pool, bulk upsert speed.
#include "store/postgres/postgres_store.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <thread>

#include "store/postgres/pg_handle.h"
#include "store/postgres/pg_pool.h"
#include "store_backend.h"

using namespace contacts;

namespace {

class PostgresOnly : public ::testing::Test {
 protected:
  void SetUp() override {
    try {
      url_ = conformance::postgres_test_url();
      backend_ = conformance::make_backend("postgres", "");
    } catch (const std::exception& e) {
      FAIL() << "postgres unavailable: " << e.what();
    }
  }
  std::string url_;
  std::unique_ptr<conformance::StoreBackend> backend_;
};

}  // namespace

TEST_F(PostgresOnly, AnUnreachableServerIsStoreUnavailable) {
  // A port nobody listens on: bind one, then close it.
  const std::string url = "postgresql://contacts@127.0.0.1:1/contacts?connect_timeout=2";
  EXPECT_THROW(PostgresStore(url, 1), StoreUnavailable);
  pg::PgPool pool(url, 1);
  EXPECT_THROW(pool.acquire(), StoreUnavailable);
}

TEST_F(PostgresOnly, APooledConnectionClosedByTheServerIsReplacedNotReported) {
  PostgresStore store(url_, 1);  // one connection: the one the server will close
  store.count();
  // Terminate every other connection to this database, as a server restart would.
  pg::ConnHandle admin = pg::connect(url_);
  const pg::Result terminated = pg::exec(
      admin.get(),
      "SELECT pid, pg_terminate_backend(pid) FROM pg_stat_activity "
      "WHERE datname = current_database() AND pid <> pg_backend_pid()");
  ASSERT_GT(terminated.rows(), 0);
  // Until the terminated backends are gone (the store's connection among them).
  const std::string still_there =
      "SELECT count(*) FROM pg_stat_activity WHERE pid = ANY('{" +
      [&] {
        std::string pids;
        for (int i = 0; i < terminated.rows(); ++i) {
          pids += (i ? "," : "") + std::string(terminated.text(i, 0));
        }
        return pids;
      }() + "}'::int[])";
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (pg::exec(admin.get(), still_there).int64(0, 0) > 0) {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "backends not terminated";
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_NO_THROW(store.count());
}

TEST_F(PostgresOnly, MigrationsRunOnceWhenSeveralProcessesStartTogether) {
  std::vector<std::future<void>> starts;
  for (int i = 0; i < 4; ++i) {
    starts.push_back(std::async(std::launch::async, [&] { PostgresStore store(url_, 1); }));
  }
  for (auto& s : starts) EXPECT_NO_THROW(s.get());
  PostgresStore store(url_, 2);
  store.migrate();
  auto conn = pg::connect(url_);
  const pg::Result r = pg::exec(conn.get(), "SELECT version FROM schema_migrations ORDER BY 1");
  ASSERT_EQ(r.rows(), 4);
  for (int i = 0; i < r.rows(); ++i) EXPECT_EQ(r.int64(i, 0), i + 1);
  EXPECT_EQ(pg::exec(conn.get(), "SELECT count(*) FROM store_meta WHERE key = 'store_id'")
                .int64(0, 0),
            1);
  const pg::Result idx =
      pg::exec(conn.get(),
               "SELECT count(*) FROM pg_indexes WHERE tablename = 'contacts' AND indexdef LIKE "
               "'%gin_trgm_ops%'");
  EXPECT_EQ(idx.int64(0, 0), 1);  // search_folded (migration 2 replaced migration 1's five)
}

TEST_F(PostgresOnly, PoolReopensABrokenConnection) {
  pg::PgPool pool(url_, 1);
  int64_t first_pid = 0;
  {
    auto lease = pool.acquire();
    first_pid = pg::exec(lease.get(), "SELECT pg_backend_pid()").int64(0, 0);
    auto killer = pg::connect(url_);
    pg::exec(killer.get(), "SELECT pg_terminate_backend($1::integer)", pg::Params().add(first_pid));
    EXPECT_THROW(pg::exec(lease.get(), "SELECT 1"), std::runtime_error);
  }
  auto lease = pool.acquire();
  EXPECT_EQ(PQstatus(lease.get()), CONNECTION_OK);
  EXPECT_NE(pg::exec(lease.get(), "SELECT pg_backend_pid()").int64(0, 0), first_pid);
}

TEST_F(PostgresOnly, PoolNeverOpensMoreThanItsSize) {
  pg::PgPool pool(url_, 2);
  auto a = pool.acquire();
  auto b = pool.acquire();
  std::atomic<bool> got_third{false};
  std::thread waiter([&] {
    auto c = pool.acquire();
    got_third = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_FALSE(got_third) << "a third connection while two are leased";
  { auto released = std::move(a); }
  waiter.join();
  EXPECT_TRUE(got_third);
}

TEST_F(PostgresOnly, AFailedStatementLeavesThePooledConnectionUsable) {
  PostgresStore store(url_, 1);
  EXPECT_THROW(store.upsert_batch(std::vector<ContactValues>{[] {
                                    ContactValues v;
                                    v.meta_data_json = "not json";
                                    return v;
                                  }()},
                                  1),
               std::runtime_error);
  ContactValues nul;
  nul[TextField::first_name] = std::string("a\0b", 3);  // PostgreSQL text cannot hold NUL
  EXPECT_THROW(store.upsert_batch(std::vector<ContactValues>{nul}, 2), std::runtime_error);
  EXPECT_EQ(store.count(), 0u);
  EXPECT_EQ(store.data_version(), 0u);
  store.upsert_batch(std::vector<ContactValues>(2), 3);
  EXPECT_EQ(store.count(), 2u);
}

// Run by hand: store_conformance_tests --gtest_also_run_disabled_tests
//   --gtest_filter='*Upsert100k*'
TEST_F(PostgresOnly, DISABLED_Upsert100kRowsInBatchesOf5000) {
  PostgresStore store(url_);
  constexpr int kRows = 100'000;
  constexpr int kBatch = 5'000;
  const auto start = std::chrono::steady_clock::now();
  for (int b = 0; b < kRows / kBatch; ++b) {
    std::vector<ContactValues> rows(kBatch);
    for (int i = 0; i < kBatch; ++i) {
      const int n = b * kBatch + i;
      ContactValues& v = rows[i];
      v[TextField::first_name] = "First" + std::to_string(n);
      v[TextField::last_name] = "Last" + std::to_string(n % 977);
      v[TextField::email] =
          "person" + std::to_string(n) + "@company" + std::to_string(n % 5000) + ".example.com";
      v[TextField::title] = n % 3 ? "Senior Sales Manager" : "VP Engineering";
      v[TextField::company] = "Company " + std::to_string(n % 5000) + " GmbH";
      v[TextField::city] = "Berlin";
      v[TextField::country] = "Germany";
      v[TextField::industry] = "information technology & services";
      v[TextField::keywords] = "saas, cloud, b2b, analytics";
      v[TextField::person_linkedin_url] = "http://www.linkedin.com/in/person" + std::to_string(n);
      v[TextField::website] = "http://www.company" + std::to_string(n % 5000) + ".example.com";
      v[TextField::technologies] = "Salesforce, Google Analytics, AWS, Slack, Zendesk";
      v[NumberField::employees] = n % 10'000;
      v[NumberField::annual_revenue] = int64_t{n} * 1000;
      v.meta_data_json = R"({"Source": "bench"})";
    }
    store.upsert_batch(rows, 1'000'000 + b);
  }
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(store.count(), static_cast<uint64_t>(kRows));
  std::printf("upserted %d rows in batches of %d: %.2f s, %.0f rows/s\n", kRows, kBatch, secs,
              kRows / secs);
}

// A bulk import into an empty table leaves the search index out until finish(), writes what
// upsert_batch writes, and an import that stops early gets its index back at the next opening.
TEST_F(PostgresOnly, BulkImportBuildsTheSearchIndexAtTheEnd) {
  auto has_index = [&] {
    auto conn = pg::connect(url_);
    return pg::exec(conn.get(), "SELECT to_regclass('contacts_search_trgm') IS NOT NULL")
               .text(0, 0) == "t";
  };
  auto rows = [](int from, int count) {
    std::vector<ContactValues> out(count);
    for (int i = 0; i < count; ++i) {
      out[i][TextField::first_name] = "Bulk" + std::to_string(from + i);
      out[i][TextField::email] = "bulk" + std::to_string((from + i) % 150) + "@x.com";
    }
    return out;
  };
  {
    PostgresStore store(url_, 2);
    ASSERT_TRUE(has_index());
    auto bulk = store.begin_bulk_import();
    EXPECT_FALSE(has_index()) << "an empty table loads without the search index";
    const UpsertCounts a = bulk->upsert_batch(rows(0, 100), 1000);
    const UpsertCounts b = bulk->upsert_batch(rows(100, 100), 1001);
    EXPECT_EQ(a.inserted, 100u);
    EXPECT_EQ(b.inserted, 50u);
    EXPECT_EQ(b.updated, 50u);
    bulk->finish();
    EXPECT_TRUE(has_index());
    EXPECT_EQ(store.count(), 150u);
    // Not empty any more: a second bulk import keeps the index.
    auto again = store.begin_bulk_import();
    EXPECT_TRUE(has_index());
    again->upsert_batch(rows(200, 10), 1002);
  }
  {
    // An import that stops early: here the index is dropped by hand, as a killed bulk import
    // leaves it; the next opening builds it.
    auto conn = pg::connect(url_);
    pg::exec(conn.get(), "DROP INDEX contacts_search_trgm");
    ASSERT_FALSE(has_index());
    PostgresStore reopened(url_, 1);
    EXPECT_TRUE(has_index());
  }
}
