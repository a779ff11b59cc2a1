// PostgresReader against the read index: the same rows in one PostgreSQL database, the same
// queries to both readers, the same answers expected to the byte (a differential test).
#include "sqlread/pg_reader.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <random>
#include <thread>

#include "demo/generator.h"
#include "index/index_reader.h"
#include "index/row_matcher.h"
#include "index/snapshot_files.h"
#include "ingest/csv_import.h"
#include "query/params.h"
#include "query/parse.h"
#include "sqlread/pg_reader_sql.h"
#include "store/postgres/pg_handle.h"
#include "store/postgres/postgres_schema.h"
#include "store/postgres/postgres_store.h"
#include "store_backend.h"
#include "support/close_first.h"
#include "support/reader_diff.h"
#include "util/deadline.h"
#include "util/error.h"

using namespace contacts;
using namespace contacts::testing_support;

namespace {

constexpr uint64_t kGeneratedRows = 4000;
constexpr int64_t kBaseTime = 1'700'000'000'000'000;  // microseconds

std::string test_env_value(const std::string& key) {
  std::ifstream in(std::getenv("CONTACTS_TEST_PG_ENV"));
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(key + "=", 0) == 0) return line.substr(key.size() + 1);
  }
  throw std::runtime_error("no " + key + " in CONTACTS_TEST_PG_ENV");
}

// Upserts each import batch at its own time, so created_at ties come in groups of a batch.
class StoreSink : public ingest::BatchSink {
 public:
  explicit StoreSink(Store& store) : store_(store) {}
  void commit(std::span<const ContactValues> rows, const ingest::ImportCounters&) override {
    if (!rows.empty()) store_.upsert_batch(rows, kBaseTime + 1'000'000 * ++batches_);
  }

 private:
  Store& store_;
  int batches_ = 0;
};

// The fields an edge-case row sets, in the order person() takes them.
constexpr TextField kPersonFields[] = {TextField::first_name, TextField::last_name,
                                       TextField::email,      TextField::title,
                                       TextField::country,    TextField::keywords};

ContactValues person(const std::array<std::string, 6>& text, std::optional<int64_t> employees) {
  ContactValues v;
  for (size_t i = 0; i < text.size(); ++i) v[kPersonFields[i]] = text[i];
  v[NumberField::employees] = employees;
  return v;
}

// Unicode and edge cases the generator does not make: folding that changes length (ß, İ, ﬁ),
// final sigma, Kelvin sign, emoji, LIKE metacharacters, newlines, empty values, null numbers.
std::vector<ContactValues> edge_rows() {
  std::vector<ContactValues> rows = {
      person({"Straße", "MÜLLER", "strasse@example.com", "Head of Straßenbau", "Germany",
              " b2b ,cloud computing, ,SaaS,  "},
             12),
      person({"İsmail", "Çelik", "ISMAIL@EXAMPLE.COM", "İnşaat Mühendisi", "Türkiye",
              "inşaat,\tİstanbul ,"},
             std::nullopt),
      person({"émile", "Zola", "", "ÉCRIVAIN", "France", ""}, 0),
      person({"Émile", "zola", "emile2@example.com", "écrivain", "france", "Écrivain, écrivain"},
             -5),
      person({"Σίσυφος", "ΣΊΣΥΦΟΣ", "sisyphus@example.com", "ﬁnance ﬁxer", "Ελλάδα", "ﬁ,fi,FI"}, 7),
      person({"🚀 Rocket", "Man👨‍🚀", "rocket@example.com", "Space 🚀 Cadet", "", "🚀, 🌍"}, 3),
      person({"Percent", "Under_score", "p@example.com", "100% Sales_Lead \\ backslash", "Chile",
              "a%b, c_d, e\\f"},
             100),
      person({"Multi", "Line", "ml@example.com", "First line\nsecond line", "Chile",
              "one\ntwo, three"},
             std::nullopt),
      person({"", "", "kelvin@example.com", "K Kelvin sign", "", ""}, std::nullopt),
      person({"Zoë", "", "", "", "", ""}, std::nullopt),
      person({"zoe", "", "", "", "zz", ""}, 1),
      // Collation (contract section 4): case and accent variants, a decomposed é (equal
      // collation key to "élan": a tie broken by id), an ignorable character, other scripts.
      person({"apple", "Banana", "apple@example.com", "élan", "Россия", ""}, 2),
      person({"Apple", "banana", "apple2@example.com", "e\xcc\x81lan", "россия", ""}, 2),
      person({"Élan", "Жанна", "elan@example.com", "Elan", "中国", ""}, std::nullopt),
      person({"a\x7f", "王", "ignorable@example.com", "ELAN", "日本", ""}, 9),
  };
  rows[0][TextField::city] = "München";
  rows[0][TextField::company_address] = "Hauptstraße 1";
  rows[0][TextField::company_country] = "Deutschland";
  rows[1][TextField::city] = "İstanbul";
  rows[1][TextField::state] = "Marmara";
  rows[2][TextField::company_city] = "Paris";
  rows[2][TextField::industry] = "Publishing";
  rows[3][TextField::industry] = "publishing";
  rows[4][TextField::seniority] = "VERIFIED";
  rows[5][TextField::email_status] = "Verified";
  rows[6][TextField::email_status] = "verified";
  rows[6][NumberField::annual_revenue] = 0;
  return rows;
}

class PostgresReaderVsIndex : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    url_ = new std::string(conformance::postgres_test_url());
    conformance::make_backend("postgres", "");  // wipes the database
    store_ = new PostgresStore(*url_);
    const auto dir = std::filesystem::temp_directory_path() /
                     ("contacts_pg_reader_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    {
      std::ofstream csv(dir / "demo.csv");
      demo::generate_csv(kGeneratedRows, 42, csv);
    }
    StoreSink sink(*store_);
    ingest::ImportOptions options;
    options.batch_size = 700;
    const ingest::ImportResult r = ingest::import_csv((dir / "demo.csv").string(), sink, options);
    std::filesystem::remove_all(dir);
    if (r.failed) throw std::runtime_error(r.failure_reason);
    store_->upsert_batch(edge_rows(), kBaseTime + 1'000'000);  // ties with the first batch
    // Re-import a few rows: updates keep created_at and move updated_at.
    store_->upsert_batch(std::vector<ContactValues>{edge_rows()[0], edge_rows()[5]},
                         kBaseTime + 99'000'000);
    index_ = new index::IndexReader(index::build_snapshot(*store_));
    sql_ = new PostgresReader(*url_, 2, 10'000);
  }
  static void TearDownTestSuite() {
    delete sql_;
    delete index_;
    delete store_;
    delete url_;
  }

  static ListQuery list_query(const std::string& q) { return ReaderDiff::list_query(q); }
  static ReaderDiff diff() { return {*index_, *sql_}; }
  static void check_list(const std::string& query, int pages = 4) {
    diff().check_list(query, pages);
  }
  static void check_count(const std::string& query) { diff().check_count(query); }
  static void check_field(const std::string& endpoint, const std::string& query) {
    diff().check_field(endpoint, query);
  }

  static std::string* url_;
  static PostgresStore* store_;
  static index::IndexReader* index_;
  static PostgresReader* sql_;
};

std::string* PostgresReaderVsIndex::url_ = nullptr;
PostgresStore* PostgresReaderVsIndex::store_ = nullptr;
index::IndexReader* PostgresReaderVsIndex::index_ = nullptr;
PostgresReader* PostgresReaderVsIndex::sql_ = nullptr;

}  // namespace

TEST_F(PostgresReaderVsIndex, BothReadersHoldTheSameRows) {
  ASSERT_GT(index_->count({}), kGeneratedRows - 100);
  EXPECT_EQ(index_->count({}), sql_->count({}));
  EXPECT_EQ(index_->data_version(), sql_->data_version());
  for (int64_t id : {int64_t{1}, int64_t{2}, int64_t{777}, int64_t{4000}, int64_t{999999}}) {
    const auto want = index_->get(id);
    const auto got = sql_->get(id);
    ASSERT_EQ(want.has_value(), got.has_value()) << id;
    if (want) {
      EXPECT_TRUE(same_contact(*want, *got)) << id;
    }
  }
  const auto snap = index_->snapshot();
  for (uint32_t row = snap->rows - 15; row < snap->rows; ++row) {
    const Contact want = snap->contact(row, true);
    const auto got = sql_->get(want.id);
    ASSERT_TRUE(got);
    EXPECT_TRUE(same_contact(want, *got)) << want.id;
  }
}

TEST_F(PostgresReaderVsIndex, HandPickedFiltersAndSearches) {
  for (const std::string q : {"",
                              "first_name=stra%C3%9Fe",
                              "first_name=STRASSE",
                              "last_name=m%C3%BCller",
                              "title=stra%C3%9Fen",
                              "first_name=%C4%B0SMA",
                              "first_name=i%CC%87sma",
                              "title=%C3%A9crivain",
                              "title=%C3%89CRIVAIN",
                              "first_name=%C3%89mile",
                              "first_name=%CF%83%CE%AF%CF%83",
                              "last_name=%CF%82",
                              "title=FINANCE",
                              "title=fi",
                              "title=k%20kelvin",
                              "title=%F0%9F%9A%80",
                              "title=100%25",
                              "title=s_l",
                              "title=_",
                              "title=%25",
                              "title=%5C",
                              "title=%5C%20back",
                              "title=line%0Asecond",
                              "title=%00",
                              "email_status=verified",
                              "email_status=VERIFIED",
                              "email_status=verif",
                              "seniority=verified",
                              "stage=%00",
                              "employees_min=0",
                              "employees_max=5",
                              "employees_min=3&employees_max=12",
                              "annual_revenue_min=0",
                              "total_funding_max=0",
                              "created_at_after=2023-11-14T22:13:21Z",
                              "created_at_before=2023-11-14T22:13:22Z",
                              "updated_at_after=2023-11-14T22:15:00Z",
                              "search=stra%C3%9Fe",
                              "search=M%C3%9CLLER",
                              "search=ROCKET%20%F0%9F%9A%80",
                              "search=line%20second",
                              "search=line%0Asecond",
                              "search=a%25b",
                              "search=e%5Cf",
                              "search=saas,b2b",
                              "search=%20,%20",
                              "search=engineer%20manager",
                              "search=%00",
                              "search=gmail",
                              "search=the",
                              "country=germany&employees_min=10",
                              "city=m%C3%BCn&search=b2b",
                              "company=inc",
                              "keywords=cloud%20computing",
                              "keywords=%20b2b%20",
                              "technologies=aws"}) {
    SCOPED_TRACE(q);
    check_count(q);
    check_list(q, 3);
    check_list(q + (q.empty() ? "" : "&") + "ordering=-created_at&page_size=7", 3);
    check_list(q + (q.empty() ? "" : "&") + "ordering=last_name,-employees&limit=9&offset=2");
  }
}

TEST_F(PostgresReaderVsIndex, UnicodeFoldingFindsTheEdgeRows) {
  // Not vacuous: each of these matches a hand-made row through folding or LIKE escaping.
  for (const std::string q :
       {"first_name=STRASSE", "first_name=i%CC%87sma", "title=%C3%89CRIVAIN", "last_name=%CF%82",
        "title=FINANCE", "title=k%20kelvin", "title=100%25", "title=s_l", "title=%5C",
        "email_status=VERIFIED", "search=M%C3%9CLLER", "search=%F0%9F%9A%80%20cadet"}) {
    const ContactFilter f = parse_filter(QueryParams::parse(q));
    EXPECT_GT(index_->count(f), 0u) << q;
    EXPECT_EQ(sql_->count(f), index_->count(f)) << q;
  }
  EXPECT_EQ(sql_->count(parse_filter(QueryParams::parse("title=s%25l"))), 0u);
}

TEST_F(PostgresReaderVsIndex, EverySortKeyInBothDirections) {
  for (const std::string& key : sort_names()) {
    for (const std::string dir : {"", "-"}) {
      for (const std::string extra : {"", "&offset=37", "&offset=3995&limit=100",
                                      "&search=a&limit=50", "&include_meta=true&limit=3"}) {
        check_list("ordering=" + dir + key + extra);
      }
    }
  }
  for (const std::string o :
       {"country,-employees", "-country,city,first_name", "seniority,-id", "-industry,id",
        "employees,annual_revenue,-created_at", "-updated_at,title", "id,-employees",
        "-email_status", "created_at,id", "-created_at,-id", "company_state,-company_city",
        "stage,-email_status,title", "-person_linkedin_url", "home_phone,-first_name"}) {
    check_list("ordering=" + o + "&limit=100");
    check_list("ordering=" + o + "&limit=25&offset=1000");
  }
}

TEST_F(PostgresReaderVsIndex, RandomOrderingsOfOneToThreeFields) {
  std::mt19937_64 rng(13);
  const std::vector<std::string>& names = sort_names();
  for (int i = 0; i < 60; ++i) {
    std::string ordering;
    const int terms = 1 + static_cast<int>(rng() % 3);
    for (int t = 0; t < terms; ++t) {
      ordering += std::string(ordering.empty() ? "" : ",") + (rng() % 2 ? "-" : "") +
                  names[rng() % names.size()];
    }
    check_list("ordering=" + ordering + "&limit=100&offset=" + std::to_string(rng() % 4000), 2);
  }
}

// Contract section 11: SQL reads run under the read's budget (CONTACTS_QUERY_TIMEOUT_MS); one
// already spent ends the read before any statement, as an index scan would.
TEST_F(PostgresReaderVsIndex, ReadsStopOnceTheBudgetIsSpent) {
  {
    const deadline::Scope spent{std::chrono::milliseconds(0)};
    EXPECT_THROW(sql_->list(list_query("ordering=title&limit=5")), deadline::Exceeded);
    EXPECT_THROW(sql_->list(list_query("page_size=5")), deadline::Exceeded);
    EXPECT_THROW(sql_->get(1), deadline::Exceeded);
    EXPECT_THROW(sql_->analytics(AnalyticsQuery{}), deadline::Exceeded);
    EXPECT_THROW(sql_->field_values(parse_field_query(FieldEndpoint::title, QueryParams())),
                 deadline::Exceeded);
  }
  const deadline::Scope plenty{std::chrono::seconds(60)};
  EXPECT_EQ(sql_->list(list_query("ordering=title&limit=5")).rows.size(), 5u);
  EXPECT_TRUE(sql_->get(1).has_value());
}

TEST_F(PostgresReaderVsIndex, CursorWalksForwardAndBackAcrossManyPages) {
  check_list("page_size=100", 45);  // past the end of 4000+ rows
  check_list("ordering=-created_at&page_size=100", 45);
  check_list("page_size=1&search=%C3%A9crivain", 10);
  check_list("ordering=-created_at&page_size=3&country=chile", 10);
  // A cursor position that is no row's (forged or from rows since deleted) still pages.
  ListQuery q = list_query("page_size=5");
  for (const CursorToken t : {CursorToken{kBaseTime + 1'500'000, 3, false},
                              CursorToken{kBaseTime + 1'500'000, 3, true}, CursorToken{0, 0, false},
                              CursorToken{0, 0, true}, CursorToken{INT64_MAX, INT64_MAX, true}}) {
    for (const bool desc : {false, true}) {
      q.ordering.front().descending = desc;
      q.cursor = t;
      expect_same(index_->list(q), sql_->list(q), describe(t) + (desc ? " desc" : " asc"));
    }
  }
}

TEST_F(PostgresReaderVsIndex, FieldEndpoints) {
  for (const std::string& e : endpoint_names()) {
    for (const std::string q :
         {"", "distinct=true", "offset=40&limit=100", "distinct=true&offset=30&limit=100",
          "search=a", "search=A&distinct=true", "search=%C3%9F", "search=SS&distinct=true",
          "search=%2C%20", "search=%00", "search=%25", "separated=true",
          "separated=true&distinct=true", "separated=true&search=CLOUD",
          "separated=true&distinct=true&search=i%CC%87", "separated=true&offset=200&limit=100",
          "separated=true&distinct=true&limit=100&offset=20", "offset=100000"}) {
      check_field(e, q);
    }
  }
}

TEST_F(PostgresReaderVsIndex, Analytics) {
  for (const uint32_t limit : {1u, 2u, 3u, 10u, 50u}) {
    const AnalyticsSnapshot want = index_->analytics({limit});
    const AnalyticsSnapshot got = sql_->analytics({limit});
    EXPECT_EQ(want.total_contacts, got.total_contacts);
    EXPECT_EQ(values_text(want.top_countries), values_text(got.top_countries)) << limit;
    EXPECT_EQ(values_text(want.top_industries), values_text(got.top_industries)) << limit;
  }
}

// Random queries built from substrings of stored values, in random letter case.
TEST_F(PostgresReaderVsIndex, RandomisedQueries) {
  std::mt19937_64 rng(20261125);
  const auto snap = index_->snapshot();
  std::vector<Contact> samples;
  for (uint32_t i = 0; i < 400; ++i) samples.push_back(snap->contact(rng() % snap->rows, false));
  diff().random_queries(rng, samples, 250);
}

TEST_F(PostgresReaderVsIndex, CountTimeoutAnswersTheContractsError) {
  PostgresReader reader(*url_, 1, 200);
  const ContactFilter filter = parse_filter(QueryParams::parse("search=a"));
  const uint64_t expected = index_->count(filter);
  ASSERT_GT(expected, 0u);
  EXPECT_EQ(reader.count(filter), expected);  // fast enough without contention
  // Another session holds a lock the count must wait for: the count is cancelled at 200 ms.
  auto locker = pg::connect(*url_);
  pg::exec(locker.get(), "BEGIN; LOCK TABLE contacts IN ACCESS EXCLUSIVE MODE");
  const auto start = std::chrono::steady_clock::now();
  try {
    reader.count(filter);
    ADD_FAILURE() << "count returned while the table was locked";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::count_timeout);
  }
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(190));
  pg::exec(locker.get(), "ROLLBACK");
  EXPECT_EQ(reader.count(filter), expected);  // the pooled connection is usable again
  // The timeout is the count's alone: list() on the same connection is not limited by it.
  EXPECT_EQ(reader.list(list_query("page_size=3")).rows.size(), 3u);
}

TEST_F(PostgresReaderVsIndex, ServesTheSameAnswersFromTheStreamingReplica) {
  PostgresReader replica(test_env_value("CONTACTS_TEST_REPLICA_URL"), 2, 10'000);
  const uint64_t version = sql_->data_version();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (true) {
    try {
      if (replica.data_version() == version) break;
    } catch (const pg::SqlError&) {
      // The schema itself may not have been replayed yet.
    }
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "replica did not catch up";
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(replica.generation(), sql_->generation());
  EXPECT_EQ(replica.count({}), index_->count({}));
  const ContactFilter f = parse_filter(QueryParams::parse("search=stra%C3%9Fe&employees_min=1"));
  EXPECT_EQ(replica.count(f), index_->count(f));
  for (const std::string q : {"page_size=50&search=e", "ordering=-country,first_name&limit=40",
                              "ordering=title,-stage&limit=100&offset=17"}) {
    ListQuery lq = list_query(q);
    ListPage want = index_->list(lq);
    expect_same(want, replica.list(lq), q);
    if (want.next) {
      lq.cursor = want.next;
      expect_same(index_->list(lq), replica.list(lq), q + " page 2");
    }
  }
  const FieldQuery fq = parse_field_query(FieldEndpoint::keywords,
                                          QueryParams::parse("separated=true&distinct=true"));
  EXPECT_EQ(rows_text(index_->field_values(fq)), rows_text(replica.field_values(fq)));
  EXPECT_EQ(values_text(index_->analytics({5}).top_countries),
            values_text(replica.analytics({5}).top_countries));
}

TEST_F(PostgresReaderVsIndex, GenerationMovesWithEveryWrite) {
  const uint64_t before = sql_->generation();
  EXPECT_EQ(sql_->generation(), before);
  store_->upsert_batch(std::vector<ContactValues>{edge_rows()[2]}, kBaseTime + 200'000'000);
  EXPECT_NE(sql_->generation(), before);
  EXPECT_EQ(sql_->data_version(), store_->data_version());
  // Keep the readers equal for the tests after this one.
  delete index_;
  index_ = new index::IndexReader(index::build_snapshot(*store_));
}

namespace {

// Every contact a stream hands out, `batch` at a time.
std::vector<Contact> drain(ContactStream& stream, size_t batch) {
  std::vector<Contact> all, rows;
  for (bool more = true; more;) {
    more = stream.next(rows, batch);
    all.insert(all.end(), rows.begin(), rows.end());
  }
  return all;
}

void expect_same_rows(const std::vector<Contact>& want, const std::vector<Contact>& got,
                      const std::string& context) {
  ASSERT_EQ(want.size(), got.size()) << context;
  for (size_t i = 0; i < want.size(); ++i) {
    ASSERT_EQ(want[i].id, got[i].id) << context << " row " << i;
    ASSERT_TRUE(same_contact(want[i], got[i])) << context << " id " << want[i].id;
  }
}

}  // namespace

TEST_F(PostgresReaderVsIndex, StreamsHandOutTheSameRowsInTheSameOrder) {
  // Every ordering on a few hundred rows; the whole table for the index's own orders and two
  // sorted ones.
  const std::vector<std::string> everything = {"created_at", "id", "employees", "title"};
  for (const std::string& key : sort_names()) {
    const bool whole = std::find(everything.begin(), everything.end(), key) != everything.end();
    for (const std::string dir : {"", "-"}) {
      for (const std::string filter :
           {"", "&search=a", "&country=chile", "&title=%00", "&employees_min=3&employees_max=12"}) {
        if (!whole && (filter.empty() || filter == "&search=a")) continue;
        const std::string query = "ordering=" + dir + key + filter;
        const ListQuery q = parse_export_query(QueryParams::parse(query));
        expect_same_rows(drain(*index_->stream(q), 997), drain(*sql_->stream(q), 500), query);
      }
    }
  }
  ListQuery q = parse_export_query(QueryParams::parse("ordering=-country,city&search=e"));
  q.include_meta = true;
  expect_same_rows(drain(*index_->stream(q), 64), drain(*sql_->stream(q), 64), "with meta_data");
}

TEST_F(PostgresReaderVsIndex, AStreamReadsOneSnapshotWhateverIsWrittenMeanwhile) {
  const ListQuery q = parse_export_query(QueryParams::parse("ordering=-id"));
  const std::vector<Contact> before = drain(*index_->stream(q), 1000);
  const auto stream = sql_->stream(q);
  std::vector<Contact> got;
  ASSERT_TRUE(stream->next(got, 100));
  // New contacts (past every id) and updates of the oldest ones, committed mid-stream.
  std::vector<ContactValues> rows = edge_rows();
  for (ContactValues& v : rows) v[TextField::title] = "written during the stream";
  rows.push_back(person({"Late", "Comer", "late@example.com", "", "", ""}, 1));
  store_->upsert_batch(rows, kBaseTime + 300'000'000);
  const std::vector<Contact> rest = drain(*stream, 250);
  got.insert(got.end(), rest.begin(), rest.end());
  expect_same_rows(before, got, "stream across a write");
  // Streams left unfinished give their connection back (the pool holds 2).
  for (int i = 0; i < 3; ++i) {
    std::vector<Contact> some;
    EXPECT_TRUE(sql_->stream(q)->next(some, 10));
  }
  EXPECT_GT(sql_->count(parse_filter(QueryParams::parse("title=written%20during"))), 0u);
  delete index_;  // keep the readers equal for the tests after this one
  index_ = new index::IndexReader(index::build_snapshot(*store_));
}

// The read index kept current the way a server keeps it (deltas read with scan(since),
// stacked, merged, compacted into a persisted base, reloaded) answers exactly like SQL on the
// store after every step of random writes: new contacts, updates by e-mail (which replace a
// contact in place: a dead row in an older part), rows without e-mail.
TEST_F(PostgresReaderVsIndex, AnIncrementalIndexAnswersLikeTheStoreAfterEveryStep) {
  std::mt19937_64 rng(20261204);
  const auto dir = std::filesystem::temp_directory_path() /
                   ("contacts_pg_incremental_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  auto reader = std::make_unique<index::IndexReader>(index::open_snapshot(*store_, dir.string()));
  index::set_lazy_thresholds(0, 0);  // pages test substrings row by row, as on large data
  int64_t now = kBaseTime + 500'000'000;
  for (int step = 0; step < 7; ++step) {
    SCOPED_TRACE("step " + std::to_string(step));
    const auto current = reader->snapshot();
    std::vector<ContactValues> batch;
    for (int i = 0; i < 40; ++i) {
      ContactValues v = current->contact(rng() % current->rows, true).values;
      if (i % 4 == 0) {
        v[TextField::email] = i % 8 ? "new" + std::to_string(rng()) + "@example.com" : "";
      } else if (v[TextField::email].empty()) {
        continue;
      }
      v[TextField::title] = "Step " + std::to_string(step) + " Ingénieur " + std::to_string(i % 5);
      v[TextField::country] = i % 3 ? "Ελλάδα" : "";
      v[NumberField::employees] = i % 2 ? std::optional<int64_t>(i * 10) : std::nullopt;
      batch.push_back(std::move(v));
    }
    store_->upsert_batch(batch, now += 1'000'000);
    reader->replace(index::catch_up(*store_, *current));
    if (step == 2 || step == 5) {  // deltas merged into one
      const auto snap = reader->snapshot();
      reader->replace(index::stack(*index::snapshot_of(snap->parts[0].segment),
                                   index::merge_parts(*snap, 1, "", store_->store_id())));
    }
    if (step == 3) {  // compaction into a persisted base, then a restart from it
      const auto snap = reader->snapshot();
      index::write_base(*snap, dir.string(), store_->store_id());
      reader = std::make_unique<index::IndexReader>(index::open_snapshot(*store_, dir.string()));
    }
    const ReaderDiff diff{*sql_, *reader};
    EXPECT_EQ(reader->data_version(), sql_->data_version());
    std::vector<Contact> samples;
    const auto snap = reader->snapshot();
    for (int i = 0; i < 200; ++i) samples.push_back(snap->contact(rng() % snap->rows, false));
    diff.random_queries(rng, samples, 40);
    diff.check_analytics(7);
    for (const Contact& c : samples) diff.check_get(c.id);
    diff.check_list("title=step&page_size=10", 20);
    diff.check_list("title=ing%C3%A9nieur&ordering=-employees,country&limit=100");
    if (::testing::Test::HasFailure()) break;
  }
  EXPECT_GT(reader->snapshot()->parts.size(), 1u);
  index::set_lazy_thresholds(index::kLazyMinValues, index::kLazyMinPostingBytes);
  std::filesystem::remove_all(dir);
  delete index_;  // the store moved: keep the shared readers equal for later tests
  index_ = new index::IndexReader(index::build_snapshot(*store_));
}

TEST(PostgresReader, ThrowsUnavailableWhenTheServerCannotBeReached) {
  // A port that was free a moment ago: nothing listens there.
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  const int port = ntohs(addr.sin_port);
  ::close(fd);
  PostgresReader reader(
      "postgresql://contacts@127.0.0.1:" + std::to_string(port) + "/contacts?connect_timeout=2", 1,
      1000);
  EXPECT_THROW(reader.count({}), pg::Unavailable);
  EXPECT_THROW(reader.list(parse_list_query(QueryParams::parse(""))), pg::Unavailable);
  EXPECT_THROW(reader.generation(), pg::Unavailable);
}

TEST(PostgresReader, ThrowsUnavailableWhenItsConnectionBreaksMidQuery) {
  const std::string url = conformance::postgres_test_url();
  conformance::make_backend("postgres", "");
  PostgresStore store(url);
  PostgresReader reader(url, 1, 30'000);
  EXPECT_EQ(reader.count({}), 0u);
  // The count waits for a lock; its server process is then terminated under it.
  auto locker = pg::connect(url);
  pg::exec(locker.get(), "BEGIN; LOCK TABLE contacts IN ACCESS EXCLUSIVE MODE");
  auto counting = std::async(std::launch::async, [&] { return reader.count({}); });
  const test_support::CloseFirst close_first{locker};  // closed before the future is waited for
  auto killer = pg::connect(url);
  int terminated = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (terminated == 0 && std::chrono::steady_clock::now() < deadline) {
    terminated = static_cast<int>(
        pg::exec(killer.get(),
                 "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE "
                 "wait_event_type = 'Lock' AND datname = current_database() AND query LIKE "
                 "'SELECT count(*) FROM contacts%'")
            .int64(0, 0));
    if (terminated == 0) std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  ASSERT_EQ(terminated, 1) << "the count never waited for the lock";
  EXPECT_THROW(counting.get(), pg::Unavailable);
  pg::exec(locker.get(), "ROLLBACK");
  EXPECT_EQ(reader.count({}), 0u);  // the pool replaces the broken connection
}

// Migration 2 computes the folded columns of rows written before it existed.
TEST(PostgresReader, Migration2BackfillsFoldedColumnsOfExistingRows) {
  const std::string url = conformance::postgres_test_url();
  conformance::make_backend("postgres", "");
  {
    auto c = pg::connect(url);
    pg::exec(c.get(),
             "CREATE TABLE schema_migrations(version integer PRIMARY KEY, applied_at timestamptz "
             "NOT NULL DEFAULT now())");
    pg::exec(c.get(), pg::migrations().at(0).sql);
    pg::exec(c.get(), "INSERT INTO schema_migrations(version) VALUES(1)");
    pg::exec(c.get(),
             "INSERT INTO contacts(first_name, title, keywords, email, email_key, created_at, "
             "updated_at, version) VALUES ('Straße', 'MÜLLER GmbH', 'İstanbul, B2B', "
             "'A@X.COM', 'a@x.com', 1, 1, 1), ('plain', 'lower', '', '', NULL, 2, 2, 1)");
  }
  PostgresStore store(url);
  PostgresReader reader(url, 1, 1000);
  index::IndexReader index(index::build_snapshot(store));
  for (const std::string q : {"search=STRASSE", "title=m%C3%BCller", "email=a@x", "search=lower",
                              "search=i%CC%87stanbul", "first_name=PLAIN"}) {
    const ContactFilter f = parse_filter(QueryParams::parse(q));
    EXPECT_EQ(reader.count(f), 1u) << q;
    EXPECT_EQ(reader.count(f), index.count(f)) << q;
  }
  const FieldQuery fq = parse_field_query(
      FieldEndpoint::keywords, QueryParams::parse("separated=true&search=%C4%B0STANBUL"));
  EXPECT_EQ(rows_text(reader.field_values(fq)), "1:İstanbul| end");
}

// The search and the substring filters on searched fields find their rows through the trigram
// index on pg::search_expr(): the planner uses an index on an expression only when the query
// spells the same expression, so a change to one side alone would turn every search into a
// scan (same answers, found by no other test).
TEST(PostgresReader, SearchUsesTheTrigramIndexOnTheSearchExpression) {
  const std::string url = conformance::postgres_test_url();
  conformance::make_backend("postgres", "");
  PostgresStore store(url);
  auto c = pg::connect(url);
  EXPECT_EQ(pg::exec(c.get(),
                     "SELECT indisvalid FROM pg_index WHERE indexrelid = "
                     "to_regclass('" +
                         std::string(pg::kSearchIndex) + "')")
                .text(0, 0),
            "t")
      << "migration 5 builds it at once on an empty table";
  pg::exec(c.get(), "SET enable_seqscan = off");
  for (const std::string q : {"search=john%20engineer", "title=manager", "company=acme"}) {
    pg::Statement st;
    const std::string where = pg::filter_condition(parse_filter(QueryParams::parse(q)), st);
    const pg::Result plan =
        pg::exec(c.get(), "EXPLAIN SELECT id FROM contacts WHERE " + where, st.params);
    std::string text;
    for (int r = 0; r < plan.rows(); ++r) (text += plan.text(r, 0)) += "\n";
    EXPECT_NE(text.find(pg::kSearchIndex), std::string::npos) << q << "\n" << text;
  }
}
