#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <filesystem>
#include <future>
#include <set>
#include <utility>

#include "api/api_error.h"
#include "api/contacts_handlers.h"
#include "index/index_reader.h"
#include "index/refresher.h"
#include "query/params.h"
#include "query/parse.h"
#include "store/sqlite/sqlite_store.h"
#include "util/deadline.h"
#include "util/thread_priority.h"

using namespace contacts;

namespace {

ContactValues person(std::string first, std::string email, std::string title,
                     std::string country, std::optional<int64_t> employees,
                     std::string keywords = "") {
  ContactValues v;
  v[TextField::first_name] = std::move(first);
  v[TextField::email] = std::move(email);
  v[TextField::title] = std::move(title);
  v[TextField::country] = std::move(country);
  v[TextField::keywords] = std::move(keywords);
  v[NumberField::employees] = employees;
  return v;
}

class StoreAndIndex : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("contacts_unit_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    store_ = std::make_unique<SqliteStore>(dir_.string());
    std::vector<ContactValues> rows = {
        person("Anna", "anna@x.com", "Sales Manager", "Germany", 500, "saas, cloud"),
        person("Bob", "bob@x.com", "Engineer", "United States", std::nullopt, "cloud, ai"),
        person("Jürgen", "", "MANAGER of things", "germany", 50, ""),
        person("Zoë", "zoe@x.com", "", "France", 5000, " b2b ,cloud computing"),
    };
    store_->upsert_batch(rows, 1000);
    store_->upsert_batch(std::vector<ContactValues>{person("Eve", "eve@x.com", "CTO", "", 7)}, 2000);
    reader_ = std::make_unique<index::IndexReader>(index::build_snapshot(*store_));
  }
  void TearDown() override {
    reader_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  std::vector<int64_t> ids(const ListPage& page) {
    std::vector<int64_t> out;
    for (const auto& c : page.rows) out.push_back(c.id);
    return out;
  }
  ListPage list(const std::string& query) {
    return reader_->list(parse_list_query(QueryParams::parse(query)));
  }

  std::filesystem::path dir_;
  std::unique_ptr<SqliteStore> store_;
  std::unique_ptr<index::IndexReader> reader_;
};

}  // namespace

TEST_F(StoreAndIndex, UpsertByCaseFoldedEmailKeepsIdAndCreatedAt) {
  const auto before = reader_->get(1);
  ASSERT_TRUE(before);
  const UpsertCounts counts = store_->upsert_batch(
      std::vector<ContactValues>{person("Anna2", "ANNA@X.COM", "VP", "Austria", 1)}, 5000);
  EXPECT_EQ(counts.updated, 1u);
  EXPECT_EQ(counts.inserted, 0u);
  EXPECT_EQ(store_->count(), 5u);
  index::IndexReader fresh(index::build_snapshot(*store_));
  const auto after = fresh.get(1);
  ASSERT_TRUE(after);
  EXPECT_EQ(after->values[TextField::first_name], "Anna2");
  EXPECT_EQ(after->created_at_us, before->created_at_us);
  EXPECT_EQ(after->updated_at_us, 5000);
}

TEST_F(StoreAndIndex, DefaultListIsNewestFirstWithIdTieBreak) {
  EXPECT_EQ(ids(list("")), (std::vector<int64_t>{5, 4, 3, 2, 1}));
  EXPECT_EQ(ids(list("ordering=created_at")), (std::vector<int64_t>{1, 2, 3, 4, 5}));
}

TEST_F(StoreAndIndex, TextFiltersAreUnicodeCaseInsensitiveSubstrings) {
  EXPECT_EQ(ids(list("title=manager")), (std::vector<int64_t>{3, 1}));
  EXPECT_EQ(ids(list("first_name=JÜRG")), (std::vector<int64_t>{3}));
  EXPECT_EQ(ids(list("country=GERMANY")), (std::vector<int64_t>{3, 1}));
  EXPECT_EQ(ids(list("title=nothing-like-this")), (std::vector<int64_t>{}));
  EXPECT_EQ(reader_->count(parse_filter(QueryParams::parse("title=manager"))), 2u);
}

TEST_F(StoreAndIndex, NumericRangesAreInclusiveAndSkipNulls) {
  EXPECT_EQ(ids(list("employees_min=50&employees_max=500")), (std::vector<int64_t>{3, 1}));
  EXPECT_EQ(ids(list("employees_max=10")), (std::vector<int64_t>{5}));
}

TEST_F(StoreAndIndex, SearchNeedsEveryTermInSomeField) {
  EXPECT_EQ(ids(list("search=anna manager")), (std::vector<int64_t>{1}));
  EXPECT_EQ(ids(list("search=cloud,germany")), (std::vector<int64_t>{1}));
  EXPECT_EQ(ids(list("search=cloud")), (std::vector<int64_t>{4, 2, 1}));
}

TEST_F(StoreAndIndex, OrderingPutsEmptyAndNullLastInBothDirections) {
  EXPECT_EQ(ids(list("ordering=employees")), (std::vector<int64_t>{5, 3, 1, 4, 2}));
  EXPECT_EQ(ids(list("ordering=-employees")), (std::vector<int64_t>{4, 1, 3, 5, 2}));
  EXPECT_EQ(ids(list("ordering=title")), (std::vector<int64_t>{5, 2, 3, 1, 4}));
  EXPECT_EQ(ids(list("ordering=-title")), (std::vector<int64_t>{1, 3, 2, 5, 4}));
  // Unicode collation: "germany" before "Germany" (lower case first), both before "United".
  EXPECT_EQ(ids(list("ordering=-country,id")), (std::vector<int64_t>{2, 1, 3, 4, 5}));
  EXPECT_EQ(ids(list("ordering=country")), (std::vector<int64_t>{4, 3, 1, 2, 5}));
  EXPECT_EQ(ids(list("ordering=first_name")), (std::vector<int64_t>{1, 2, 5, 3, 4}));
}

TEST_F(StoreAndIndex, CursorWalkVisitsEveryRowOnceInBothDirections) {
  ListQuery q = parse_list_query(QueryParams::parse("page_size=2"));
  std::vector<int64_t> seen;
  std::vector<CursorToken> forward_tokens;
  for (int guard = 0; guard < 10; ++guard) {
    const ListPage page = reader_->list(q);
    for (const auto& c : page.rows) seen.push_back(c.id);
    if (guard == 0) {
      EXPECT_FALSE(page.previous);
    }
    if (!page.next) break;
    q.cursor = *page.next;
  }
  EXPECT_EQ(seen, (std::vector<int64_t>{5, 4, 3, 2, 1}));
  // From the last page, follow `previous` back to the first.
  const ListPage last = reader_->list(q);
  ASSERT_TRUE(last.previous);
  q.cursor = *last.previous;
  const ListPage middle = reader_->list(q);
  EXPECT_EQ(ids(middle), (std::vector<int64_t>{3, 2}));
  ASSERT_TRUE(middle.previous);
  q.cursor = *middle.previous;
  const ListPage first = reader_->list(q);
  EXPECT_EQ(ids(first), (std::vector<int64_t>{5, 4}));
  EXPECT_FALSE(first.previous);
  EXPECT_TRUE(first.next);
}

TEST_F(StoreAndIndex, FieldEndpointsFollowSectionSix) {
  FieldQuery q;
  q.field = FieldEndpoint::title;
  q.distinct = true;
  std::vector<std::string> values;
  for (const auto& r : reader_->field_values(q).rows) values.push_back(r.value);
  EXPECT_EQ(values, (std::vector<std::string>{"CTO", "Engineer", "MANAGER of things", "Sales Manager"}));

  q.field = FieldEndpoint::keywords;
  q.separated = true;
  q.distinct = true;
  q.search_folded = "cloud";
  std::vector<std::pair<int64_t, std::string>> kw;
  for (const auto& r : reader_->field_values(q).rows) kw.emplace_back(r.id, r.value);
  EXPECT_EQ(kw, (std::vector<std::pair<int64_t, std::string>>{{1, "cloud"}, {4, "cloud computing"}}));

  q.distinct = false;
  q.search_folded = "";
  q.limit = 3;
  q.offset = 1;
  kw.clear();
  const FieldPage page = reader_->field_values(q);
  for (const auto& r : page.rows) kw.emplace_back(r.id, r.value);
  EXPECT_EQ(kw, (std::vector<std::pair<int64_t, std::string>>{{1, "cloud"}, {2, "cloud"}, {2, "ai"}}));
  EXPECT_TRUE(page.has_more);
}

TEST_F(StoreAndIndex, AnalyticsCountsExactValuesAndSkipsEmpty) {
  const AnalyticsSnapshot a = reader_->analytics(AnalyticsQuery{10});
  EXPECT_EQ(a.total_contacts, 5u);
  ASSERT_EQ(a.top_countries.size(), 4u);  // "Germany" and "germany" are distinct values
  EXPECT_EQ(a.top_countries[0].value, "France");
  EXPECT_EQ(a.top_countries[0].total, 1u);
  EXPECT_EQ(a.top_countries[1].value, "germany");  // ties in collation order
  EXPECT_EQ(a.top_countries[2].value, "Germany");
}

// Contract section 11: past CONTACTS_QUERY_TIMEOUT_MS a scan is abandoned, not finished.
TEST_F(StoreAndIndex, ScansStopOnceTheReadsBudgetIsSpent) {
  const ContactFilter filter = parse_filter(QueryParams::parse("title=e"));
  const ListQuery ordered = parse_list_query(QueryParams::parse("ordering=country&search=a"));
  const ListQuery cursor = parse_list_query(QueryParams::parse("title=e"));
  {
    const deadline::Scope spent{std::chrono::milliseconds(0)};
    EXPECT_THROW(reader_->count(filter), deadline::Exceeded);
    EXPECT_THROW(reader_->list(ordered), deadline::Exceeded);
    EXPECT_THROW(reader_->list(cursor), deadline::Exceeded);
    EXPECT_THROW(reader_->field_values(parse_field_query(FieldEndpoint::title, QueryParams())),
                 deadline::Exceeded);
    EXPECT_EQ(reader_->count(ContactFilter{}), 5u);  // no scan: the total is known
  }
  const deadline::Scope plenty{std::chrono::seconds(60)};
  EXPECT_EQ(reader_->count(filter), 3u);
  EXPECT_NO_THROW(reader_->list(ordered));
}

// A count that runs past the read budget answers the contract's count-timeout text (contract
// section 5), as an SQL count cancelled by statement_timeout does.
TEST_F(StoreAndIndex, ACountPastTheReadBudgetAnswersTheCountTimeout) {
  const http::Request request;
  const api::RequestContext ctx{request, QueryParams::parse("title=e"), "http://x"};
  const deadline::Scope spent{std::chrono::milliseconds(0)};
  try {
    api::count_contacts(ctx, *reader_);
    FAIL() << "the count returned";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::count_timeout);
    EXPECT_EQ(api_error_for(e).detail(),
              "Error counting contacts. The query may be too complex or timeout. Please try with "
              "simpler filters.");
  }
}

TEST_F(StoreAndIndex, RefresherPicksUpWritesFromTheStore) {
  index::RefreshOptions options;
  options.interval = std::chrono::milliseconds(50);
  index::Refresher refresher(*store_, *reader_, options);
  const uint64_t gen = reader_->generation();
  store_->upsert_batch(std::vector<ContactValues>{person("New", "new@x.com", "t", "", 1)}, 9000);
  refresher.refresh_now();
  EXPECT_EQ(reader_->count(ContactFilter{}), 6u);
  EXPECT_GT(reader_->generation(), gen);
}

// Refreshes run below reads (util/thread_priority.h): on two busy cores a query gets a core
// before the index's background work.
TEST_F(StoreAndIndex, TheRefresherRunsAtBackgroundPriority) {
  const int mine = getpriority(PRIO_PROCESS, static_cast<id_t>(gettid()));
  std::promise<int> seen;
  bool told = false;
  index::RefreshOptions options;
  options.interval = std::chrono::milliseconds(20);
  index::Refresher refresher(*store_, *reader_, options, [&] {
    if (!std::exchange(told, true)) {
      seen.set_value(getpriority(PRIO_PROCESS, static_cast<id_t>(gettid())));
    }
  });
  store_->upsert_batch(std::vector<ContactValues>{person("New", "new@x.com", "t", "", 1)}, 9000);
  auto priority = seen.get_future();
  ASSERT_EQ(priority.wait_for(std::chrono::seconds(30)), std::future_status::ready);
  EXPECT_EQ(priority.get(), std::min(mine + priority::kBackground, 19));
}

// Every write transaction ends with no statement left open, so no read mark pins the WAL:
// checkpoints (sqlite/wal_checkpointer.h) keep restarting it and it stays a few MB however much
// is written (before, a stepped but never reset SELECT kept it growing with the whole import).
TEST(SqliteWal, StaysBoundedAcrossManyBatches) {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("contacts_wal_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  uintmax_t largest = 0;
  {
    SqliteStore store(dir.string(), {.wal_checkpoint_bytes = 2 << 20});
    std::vector<ContactValues> batch(200);
    for (int b = 0; b < 300; ++b) {
      for (size_t i = 0; i < batch.size(); ++i) {
        batch[i] = person("P" + std::to_string(i), "p" + std::to_string(b * 1000 + i) + "@x.com",
                          std::string(600, 'x'), "Chile", 1);
      }
      store.upsert_batch(batch, 1000 + b);
      largest = std::max(largest, std::filesystem::file_size(dir / "contacts.db-wal"));
    }
  }
  std::filesystem::remove_all(dir);
  // At most four times the threshold (then the writer checkpoints itself) plus a batch.
  EXPECT_LT(largest, 12u << 20) << "about 60 MB were written in all";
}
