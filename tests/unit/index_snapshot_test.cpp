// The incremental, persisted read index: after any sequence of imports, updates by e-mail,
// delta merges and compactions it answers exactly like an index built from scratch; a
// persisted base that is missing, cut, corrupt, of another format, store or version is never
// used, and is rebuilt.
#include <gtest/gtest.h>
#include <xxhash.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <memory>
#include <optional>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include "demo/generator.h"
#include "index/index_reader.h"
#include "index/refresher.h"
#include "index/row_matcher.h"
#include "index/snapshot_files.h"
#include "index/text_column.h"
#include "ingest/cli_import.h"
#include "ingest/csv_import.h"
#include "query/params.h"
#include "store/sqlite/sqlite_store.h"
#include "support/icu_collation.h"
#include "support/reader_diff.h"
#include "util/text.h"

using namespace contacts;
using namespace contacts::testing_support;
namespace fs = std::filesystem;

namespace {

class IncrementalIndex : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("contacts_index_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    store_ = std::make_unique<SqliteStore>((dir_ / "store").string());
    import_generated(1500, 7);
  }
  void TearDown() override {
    store_.reset();
    fs::remove_all(dir_);
  }

  // Imports `rows` generated contacts (seed `seed`) in batches of 400 (through `sink`, one
  // bulk import's, when given).
  void import_generated(uint64_t rows, uint64_t seed, ingest::StoreSink* sink = nullptr) {
    const fs::path csv = dir_ / "generated.csv";
    {
      std::ofstream out(csv);
      demo::generate_csv(rows, seed, out);
    }
    std::optional<ingest::StoreSink> own;
    if (!sink) sink = &own.emplace(*store_);
    ingest::ImportOptions options;
    options.batch_size = 400;
    const ingest::ImportResult r = ingest::import_csv(csv.string(), *sink, options);
    ASSERT_FALSE(r.failed) << r.failure_reason;
  }

  // Rewrites `n` existing contacts through their e-mail (upsert by e-mail): new title,
  // country, keywords, employees; some with the e-mail in upper case. Adds `fresh` new
  // contacts, some without e-mail. One batch, at `now_us` (through `sink`, one bulk import's,
  // at the time of writing, when given).
  void update_and_add(std::mt19937_64& rng, size_t n, size_t fresh, int64_t now_us,
                      ingest::StoreSink* sink = nullptr) {
    const auto current = index::build_snapshot(*store_);
    std::vector<ContactValues> batch;
    static const char* kCountries[] = {"Germany", "Ελλάδα", "", "chile", "Türkiye", "France"};
    for (size_t i = 0; i < n; ++i) {
      Contact c = current->contact(static_cast<uint32_t>(rng() % current->rows), true);
      if (c.values[TextField::email].empty()) continue;
      ContactValues v = c.values;
      v[TextField::title] = "Updated " + std::to_string(rng() % 50) + " Ingénieur";
      v[TextField::country] = kCountries[rng() % 6];
      v[TextField::keywords] = rng() % 2 ? "alpha, Beta ,gamma" : "";
      v[NumberField::employees] = rng() % 3 ? std::optional<int64_t>(rng() % 1000) : std::nullopt;
      if (rng() % 4 == 0) {
        for (char& ch : v[TextField::email]) ch = static_cast<char>(toupper(ch));
      }
      batch.push_back(std::move(v));
    }
    for (size_t i = 0; i < fresh; ++i) {
      Contact c = current->contact(static_cast<uint32_t>(rng() % current->rows), true);
      ContactValues v = c.values;
      v[TextField::email] = rng() % 5 ? "fresh" + std::to_string(rng()) + "@example.com" : "";
      v[TextField::first_name] = rng() % 2 ? "Émile" : "zoë";
      batch.push_back(std::move(v));
    }
    if (sink) {
      sink->commit(batch, {});
    } else {
      store_->upsert_batch(batch, now_us);
    }
  }

  // The incremental reader answers like a fresh build of the store.
  void expect_same_answers(const index::IndexReader& incremental, std::mt19937_64& rng,
                           int rounds) {
    const index::IndexReader fresh(index::build_snapshot(*store_));
    ASSERT_EQ(incremental.snapshot()->rows, fresh.snapshot()->rows);
    ASSERT_EQ(incremental.count({}), store_->count());
    const ReaderDiff diff{fresh, incremental};
    const auto snap = fresh.snapshot();
    std::vector<Contact> samples;
    for (int i = 0; i < 200; ++i) samples.push_back(snap->contact(rng() % snap->rows, false));
    diff.random_queries(rng, samples, rounds);
    diff.check_analytics(5);
    diff.check_analytics(100);
    for (const Contact& c : samples) diff.check_get(c.id);
    diff.check_get(0);
    diff.check_stream("");
    diff.check_stream("ordering=id&country=e");
    diff.check_stream("ordering=-title,employees&search=an");
    diff.check_list("page_size=7", 400);
    diff.check_list("ordering=created_at&page_size=9", 400);
    for (const std::string& endpoint : endpoint_names()) {
      diff.check_field(endpoint, "distinct=true&limit=100");
      diff.check_field(endpoint, "distinct=true&separated=true&limit=100&offset=3");
      diff.check_field(endpoint, "limit=100&offset=20&search=a");
    }
  }

  fs::path dir_;
  std::unique_ptr<SqliteStore> store_;
};

TEST_F(IncrementalIndex, AnswersLikeAFreshBuildAfterEveryStep) {
  std::mt19937_64 rng(20261204);
  const std::string snapshots = (dir_ / "index").string();
  index::IndexReader reader(index::open_snapshot(*store_, snapshots));
  int64_t now = 1'800'000'000'000'000;
  for (int step = 0; step < 15; ++step) {
    SCOPED_TRACE("step " + std::to_string(step));
    update_and_add(rng, 1 + rng() % 60, rng() % 40, now += 1'000'000);
    if (step % 3 == 1) update_and_add(rng, 20, 5, now += 1'000'000);  // two writes, one delta
    if (step == 5) import_generated(300, 99);  // a job's worth of new and updated rows
    auto next = index::catch_up(*store_, *reader.snapshot());
    ASSERT_TRUE(next);
    reader.replace(next);
    if (step % 4 == 2) {  // deltas merged into one
      const auto snap = reader.snapshot();
      reader.replace(index::stack(*index::snapshot_of(snap->parts[0].segment),
                                  index::merge_parts(*snap, 1, "", store_->store_id())));
    }
    if (step % 5 == 3) {  // compaction into a new persisted base
      const auto snap = reader.snapshot();
      reader.replace(
          index::snapshot_of(index::write_base(*snap, snapshots, store_->store_id())));
      EXPECT_EQ(reader.snapshot()->parts.size(), 1u);
    }
    EXPECT_EQ(reader.snapshot()->data_version, store_->data_version());
    ASSERT_NO_FATAL_FAILURE(expect_same_answers(reader, rng, 30));
    if (::testing::Test::HasFailure()) return;
  }
  EXPECT_GT(reader.snapshot()->parts.size(), 1u) << "the last steps left deltas to check";
  // A restart loads the persisted base and catches up with what was written since.
  index::IndexReader restarted(index::open_snapshot(*store_, snapshots));
  EXPECT_GT(restarted.snapshot()->parts.size(), 1u);
  ASSERT_NO_FATAL_FAILURE(expect_same_answers(restarted, rng, 20));
}

// A count narrowed to the runs of a field's presorted order (a text filter matching few rows)
// counts what a test of every row counts, on a base and across base + deltas.
TEST_F(IncrementalIndex, CountsNarrowedToAFieldOrderCountLikeATestOfEveryRow) {
  import_generated(4000, 31);
  std::mt19937_64 rng(31);
  index::IndexReader reader(index::open_snapshot(*store_, ""));
  int narrowed = 0;
  for (int round = 0; round < 2; ++round) {
    const auto snap = reader.snapshot();
    for (int i = 0; i < 150; ++i) {
      const Contact c = snap->contact(rng() % snap->rows, false);
      const std::string country = url_encode(c.values[TextField::country]);
      const std::string title = url_encode(c.values[TextField::title].substr(0, 4));
      for (const std::string& q :
           {"country=" + country + "&employees_min=100", "city=" + url_encode(c.values[TextField::city]),
            "title=" + title + "&country=" + country, "seniority=" + url_encode(c.values[TextField::seniority])}) {
        const ContactFilter filter = ReaderDiff::list_query(q).filter;
        uint64_t every_row = 0;
        for (uint32_t p = 0; p < snap->parts.size(); ++p) {
          const index::Part& part = snap->parts[p];
          const index::RowMatcher m(*part.segment, filter);
          if (!m.candidates(*part.segment).order.empty()) ++narrowed;
          for (uint32_t r = 0; r < part.segment->rows; ++r) {
            every_row += part.live(r) && !m.matches_nothing() && m(r) ? 1 : 0;
          }
        }
        ASSERT_EQ(reader.count(filter), every_row) << q;
      }
    }
    // Then across deltas: updated and new rows, with old rows dead in the base.
    update_and_add(rng, 300, 200, 1'900'000'000'000'000);
    reader.replace(index::catch_up(*store_, *reader.snapshot()));
    ASSERT_GT(reader.snapshot()->parts.size(), 1u);
  }
  EXPECT_GT(narrowed, 200) << "the filters above were meant to narrow";
}

// Pages whose substring tests run row by row (as on large dictionaries; here on every one)
// hold exactly the rows that a count, which works out every matching value first, counts.
TEST_F(IncrementalIndex, RowByRowSubstringTestsAnswerLikeDictionaryLookups) {
  std::mt19937_64 rng(23);
  update_and_add(rng, 30, 30, 1'900'000'000'000'000);
  index::IndexReader row_by_row(index::open_snapshot(*store_, ""));
  update_and_add(rng, 30, 30, 1'900'000'001'000'000);
  row_by_row.replace(index::catch_up(*store_, *row_by_row.snapshot()));
  const index::IndexReader reference(index::build_snapshot(*store_));
  index::set_lazy_thresholds(0, 0);
  const ReaderDiff diff{reference, row_by_row};
  std::vector<Contact> samples;
  for (int i = 0; i < 200; ++i) samples.push_back(reference.snapshot()->contact(rng() % 1500, false));
  for (int i = 0; i < 60; ++i) {
    const Contact& c = samples[rng() % samples.size()];
    const std::string term = c.values[TextField::email].substr(0, 1 + rng() % 4);
    const std::string q = "search=" + url_encode(term) + "&page_size=100";
    const ListQuery lq = ReaderDiff::list_query(q);
    uint64_t walked = 0;
    for (ListPage page = row_by_row.list(lq);; ) {
      walked += page.rows.size();
      if (!page.next) break;
      ListQuery next = lq;
      next.cursor = page.next;
      page = row_by_row.list(next);
    }
    EXPECT_EQ(walked, reference.count(lq.filter)) << q;
  }
  diff.random_queries(rng, samples, 60);
  index::set_lazy_thresholds(index::kLazyMinValues, index::kLazyMinPostingBytes);
}

TEST_F(IncrementalIndex, AnUpdatedContactIsListedOnceWithItsNewValues) {
  index::IndexReader reader(index::open_snapshot(*store_, ""));
  const auto before = reader.snapshot();
  Contact c = before->contact(10, true);
  ASSERT_FALSE(c.values[TextField::email].empty());
  c.values[TextField::title] = "Chief Tombstone Officer";
  store_->upsert_batch(std::vector<ContactValues>{c.values}, 1'900'000'000'000'000);
  reader.replace(index::catch_up(*store_, *before));
  EXPECT_EQ(reader.snapshot()->rows, before->rows);
  const ContactFilter old_title = parse_filter(QueryParams::parse(
      "title=" + url_encode(before->contact(10, true).values[TextField::title]) + "&email=" +
      url_encode(c.values[TextField::email])));
  EXPECT_EQ(reader.count(old_title), 0u);
  EXPECT_EQ(reader.count(parse_filter(QueryParams::parse("title=tombstone"))), 1u);
  EXPECT_EQ(reader.get(c.id)->values[TextField::title], "Chief Tombstone Officer");
  // Newest first: the updated contact keeps its created_at, so its place.
  const ListPage page = reader.list(ReaderDiff::list_query("title=tombstone"));
  ASSERT_EQ(page.rows.size(), 1u);
  EXPECT_EQ(page.rows[0].id, c.id);
}

// A store whose scan fails after `fail_after` rows, as a real one whose connection breaks
// midway; everything else is the wrapped store's.
class ScanFailsAfter final : public Store {
 public:
  ScanFailsAfter(Store& inner, uint64_t fail_after) : inner_(inner), fail_after_(fail_after) {}
  void scan(uint64_t since, const std::function<void(Contact&&)>& fn) const override {
    uint64_t n = 0;
    inner_.scan(since, [&](Contact&& c) {
      if (n++ == fail_after_) throw StoreUnavailable("the scan's connection broke");
      fn(std::move(c));
    });
  }
  UpsertCounts upsert_batch(std::span<const ContactValues> rows, int64_t now_us,
                            const JobCheckpoint* checkpoint) override {
    return inner_.upsert_batch(rows, now_us, checkpoint);
  }
  uint64_t data_version() const override { return inner_.data_version(); }
  uint64_t store_id() const override { return inner_.store_id(); }
  uint64_t count() const override { return inner_.count(); }
  int64_t save_user(const std::string& u, const std::string& h, bool staff) override {
    return inner_.save_user(u, h, staff);
  }
  std::optional<UserRecord> find_user(std::string_view u) const override {
    return inner_.find_user(u);
  }
  bool update_user(std::string_view u, const std::optional<std::string>& h,
                   std::optional<bool> staff) override {
    return inner_.update_user(u, h, staff);
  }
  bool delete_user(std::string_view u) override { return inner_.delete_user(u); }
  ImportJob create_job(const std::string& path, int64_t now_us) override {
    return inner_.create_job(path, now_us);
  }
  std::optional<ImportJob> get_job(int64_t id) const override { return inner_.get_job(id); }
  std::optional<ImportJob> claim_job(const std::string& w, int64_t now_us,
                                     int64_t until_us) override {
    return inner_.claim_job(w, now_us, until_us);
  }
  JobCounts count_jobs() const override { return inner_.count_jobs(); }
  bool renew_lease(int64_t id, const std::string& w, int64_t until_us) override {
    return inner_.renew_lease(id, w, until_us);
  }
  bool finish_job(int64_t id, const std::string& w, const std::string& status,
                  const std::string& message, const std::string& errors, int64_t now_us) override {
    return inner_.finish_job(id, w, status, message, errors, now_us);
  }

 private:
  Store& inner_;
  const uint64_t fail_after_;
};

// The store is read on a thread of its own while the builder fills the segment (scan_into): a
// scan that fails, before its first batch, in one, or at a batch's edge, fails the build with
// the store's error (no hang, no thread left running), and the next build reads every row.
TEST_F(IncrementalIndex, AScanThatFailsMidwayFailsTheBuildWithTheStoresError) {
  import_generated(6000, 9);  // three batches and more
  const uint64_t rows = store_->count();
  for (const uint64_t after : {uint64_t{0}, uint64_t{1}, uint64_t{2047}, uint64_t{2048},
                               uint64_t{5000}, rows - 1}) {
    const ScanFailsAfter failing(*store_, after);
    EXPECT_THROW(index::build_snapshot(failing), StoreUnavailable) << after;
  }
  const ScanFailsAfter never(*store_, rows);
  EXPECT_EQ(index::build_snapshot(never)->rows, rows);
  // A refresh of 6,000 new rows fails alike, and the next one reads them.
  const auto before = index::build_snapshot(*store_);
  import_generated(6000, 11);
  const ScanFailsAfter failing(*store_, 3000);
  EXPECT_THROW(index::catch_up(failing, *before), StoreUnavailable);
  const auto caught_up = index::catch_up(*store_, *before);
  ASSERT_NE(caught_up, nullptr);
  EXPECT_EQ(caught_up->data_version, store_->data_version());
  EXPECT_EQ(caught_up->rows, store_->count());
}

// --- the persisted base -----------------------------------------------------------------

class PersistedBase : public IncrementalIndex {
 protected:
  std::string snapshots() const { return (dir_ / "index").string(); }
  std::string base() const { return index::base_path(snapshots()); }

  // Writes a good base, lets `damage` change the file, then checks that a start neither
  // uses it nor fails: it answers like a fresh build and leaves a good base behind.
  template <class Damage>
  void expect_rebuilt_after(Damage damage) {
    { index::open_snapshot(*store_, snapshots()); }
    ASSERT_NO_THROW(index::SegmentBytes::open(base()));
    damage(base());
    ASSERT_THROW(index::SegmentBytes::open(base()), index::SegmentFileError);
    std::mt19937_64 rng(7);
    index::IndexReader reader(index::open_snapshot(*store_, snapshots()));
    ASSERT_NO_FATAL_FAILURE(expect_same_answers(reader, rng, 10));
    EXPECT_NO_THROW(index::SegmentBytes::open(base())) << "the base was written again";
  }

  static void flip_byte(const std::string& path, uint64_t at) {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(static_cast<std::streamoff>(at));
    char c = 0;
    f.read(&c, 1);
    c = static_cast<char>(c ^ 0x10);
    f.seekp(static_cast<std::streamoff>(at));
    f.write(&c, 1);
  }
};

TEST_F(PersistedBase, IsLoadedAtStartAndCaughtUpWithLaterWrites) {
  { index::open_snapshot(*store_, snapshots()); }
  const uint64_t persisted = index::SegmentBytes::open(base())->identity().data_version;
  std::mt19937_64 rng(3);
  update_and_add(rng, 30, 10, 1'900'000'000'000'000);
  index::IndexReader reader(index::open_snapshot(*store_, snapshots()));
  const auto snap = reader.snapshot();
  ASSERT_EQ(snap->parts.size(), 2u) << "the base from the file, the writes since as a delta";
  EXPECT_EQ(snap->parts[0].segment->data_version, persisted);
  EXPECT_EQ(snap->data_version, store_->data_version());
  ASSERT_NO_FATAL_FAILURE(expect_same_answers(reader, rng, 20));
}

TEST_F(PersistedBase, BuiltFromTheStoreOnTwoCoresAnswersLikeOneBuild) {
  std::mt19937_64 rng(17);
  update_and_add(rng, 50, 30, 1'900'000'000'000'000);  // ids out of insertion order
  index::IndexReader reader(index::open_snapshot(*store_, snapshots()));
  EXPECT_EQ(reader.snapshot()->parts.size(), 1u);
  ASSERT_NO_FATAL_FAILURE(expect_same_answers(reader, rng, 15));
  index::IndexReader reloaded(index::open_snapshot(*store_, snapshots()));
  EXPECT_EQ(reloaded.snapshot()->parts[0].segment->rows, reader.snapshot()->rows);
  EXPECT_EQ(std::distance(fs::directory_iterator(snapshots()), fs::directory_iterator()), 1)
      << "only base.seg is left";
  index::IndexReader in_memory(index::open_snapshot(*store_, ""));
  ASSERT_NO_FATAL_FAILURE(expect_same_answers(in_memory, rng, 15));
}

// A store larger than a chunk is built chunk by chunk, each merged into the ones before: the
// same answers, one base file, no temporary file left.
TEST_F(PersistedBase, BuiltInChunksAnswersLikeOneBuild) {
  std::mt19937_64 rng(29);
  update_and_add(rng, 40, 9000, 1'900'000'000'000'000);
  index::set_base_chunk_rows(4096);  // checked after each batch of 4,096 contacts
  struct Reset {
    ~Reset() { index::set_base_chunk_rows(0); }
  } reset;
  index::IndexReader chunked(index::open_snapshot(*store_, snapshots()));
  EXPECT_GT(chunked.snapshot()->rows, 2 * 4096u) << "three chunks at least";
  EXPECT_EQ(chunked.snapshot()->parts.size(), 1u);
  ASSERT_NO_FATAL_FAILURE(expect_same_answers(chunked, rng, 25));
  EXPECT_EQ(std::distance(fs::directory_iterator(snapshots()), fs::directory_iterator()), 1)
      << "only base.seg is left";
  index::IndexReader in_memory(index::open_snapshot(*store_, ""));
  ASSERT_NO_FATAL_FAILURE(expect_same_answers(in_memory, rng, 10));
}

// A refresh of more rows than a piece builds them piece by piece and merges the pieces into
// one delta: the same answers (updates by e-mail, ids out of insertion order included), one
// delta file, no temporary file left; in memory too.
TEST_F(PersistedBase, DeltaBuiltInPiecesAnswersLikeOneBuild) {
  std::mt19937_64 rng(31);
  auto snap = index::open_snapshot(*store_, snapshots());
  update_and_add(rng, 300, 9000, 1'900'000'000'000'000);
  index::set_delta_piece_rows(4096);  // checked after each batch of 4,096 contacts
  struct Reset {
    ~Reset() { index::set_delta_piece_rows(0); }
  } reset;
  index::IndexReader pieced(index::catch_up(*store_, *snap, snapshots()));
  ASSERT_EQ(pieced.snapshot()->parts.size(), 2u) << "the base and one delta";
  EXPECT_GT(pieced.snapshot()->parts[1].segment->rows, 2 * 4096u) << "three pieces at least";
  ASSERT_NO_FATAL_FAILURE(expect_same_answers(pieced, rng, 25));
  std::vector<std::string> files;
  for (const auto& e : fs::directory_iterator(snapshots())) {
    files.push_back(e.path().filename().string());
  }
  std::sort(files.begin(), files.end());
  ASSERT_EQ(files.size(), 2u) << "base.seg and one delta, no piece left";
  EXPECT_EQ(files[0], "base.seg");
  EXPECT_EQ(files[1].rfind("delta-", 0), 0u);
  {
    index::IndexReader reloaded(index::open_snapshot(*store_, snapshots()));
    ASSERT_NO_FATAL_FAILURE(expect_same_answers(reloaded, rng, 10));
  }
  index::IndexReader in_memory(index::catch_up(*store_, *snap, ""));
  ASSERT_NO_FATAL_FAILURE(expect_same_answers(in_memory, rng, 10));
}

// Every section of a segment built in batches on two cores equals the one built row by row.
TEST_F(PersistedBase, BatchesOnTwoCoresBuildTheSameSegmentAsRowByRow) {
  std::vector<Contact> contacts;
  store_->scan(0, [&](Contact&& c) { contacts.push_back(std::move(c)); });
  ASSERT_GT(contacts.size(), 1000u);
  index::SegmentBuilder by_row, by_batch;
  for (const Contact& c : contacts) by_row.add(c);
  for (size_t i = 0; i < contacts.size(); i += 97) {
    const size_t end = std::min(contacts.size(), i + 97);
    by_batch.add_batch(std::vector<Contact>(contacts.begin() + static_cast<std::ptrdiff_t>(i),
                                            contacts.begin() + static_cast<std::ptrdiff_t>(end)));
  }
  EXPECT_EQ(by_batch.rows(), contacts.size());
  const auto a = by_row.finish("", {1, 1, 0});
  const auto b = by_batch.finish((dir_ / "batched.seg").string(), {1, 1, 0});
  auto same = [](auto x, auto y) { return std::equal(x.begin(), x.end(), y.begin(), y.end()); };
  auto same_dict = [&](const index::Dictionary& x, const index::Dictionary& y) {
    return x.values.bytes() == y.values.bytes() && same(x.values.offsets(), y.values.offsets()) &&
           x.folded.bytes() == y.folded.bytes() && same(x.by_rank, y.by_rank) &&
           same(x.rank, y.rank) && same(x.first_row, y.first_row) &&
           same(x.row_count, y.row_count) && same(x.trigrams.keys, y.trigrams.keys) &&
           same(x.trigrams.postings, y.trigrams.postings);
  };
  EXPECT_TRUE(same(a->ids, b->ids));
  EXPECT_TRUE(same(a->created_at_us, b->created_at_us));
  EXPECT_TRUE(same(a->updated_at_us, b->updated_at_us));
  EXPECT_TRUE(same(a->created_order, b->created_order));
  for (size_t k = 0; k < a->sort_orders.size(); ++k) {
    EXPECT_TRUE(same(a->sort_orders[k], b->sort_orders[k])) << "sort key " << k;
  }
  for (size_t f = 0; f < a->numbers.size(); ++f) EXPECT_TRUE(same(a->numbers[f], b->numbers[f]));
  for (size_t f = 0; f < a->text.size(); ++f) {
    EXPECT_TRUE(same(a->text[f].codes, b->text[f].codes)) << "field " << f;
    EXPECT_TRUE(same_dict(a->text[f].dict, b->text[f].dict)) << "field " << f;
  }
  for (auto column : {&index::Segment::meta_data, &index::Segment::company_address,
                      &index::Segment::contact_address}) {
    EXPECT_TRUE(same(((*a).*column).codes, ((*b).*column).codes));
    EXPECT_TRUE(same_dict(((*a).*column).dict, ((*b).*column).dict));
  }
  EXPECT_TRUE(same(a->keyword_list.row_start, b->keyword_list.row_start));
  EXPECT_TRUE(same(a->keyword_list.codes, b->keyword_list.codes));
  EXPECT_TRUE(same_dict(a->keyword_list.dict, b->keyword_list.dict));
  // A folded copy is kept exactly for the fields where some value is not its own folded form.
  size_t aliased = 0;
  for (size_t f = 0; f < a->text.size(); ++f) {
    const index::Dictionary& d = a->text[f].dict;
    bool all_folded = true;
    for (uint32_t c = 0; c < d.size(); ++c) all_folded = all_folded && text::fold(d.values.get(c)) == d.values.get(c);
    EXPECT_EQ(d.folded.bytes().data() == d.values.bytes().data(), all_folded) << "field " << f;
    aliased += all_folded;
  }
  EXPECT_GT(aliased, 0u);
  EXPECT_LT(aliased, a->text.size());
}

TEST_F(PersistedBase, DeltasArePersistedAndStackedAtTheNextStart) {
  std::mt19937_64 rng(29);
  auto snap = index::open_snapshot(*store_, snapshots());
  auto count_deltas = [&] {
    int n = 0;
    for (const auto& e : fs::directory_iterator(snapshots())) {
      n += e.path().filename().string().rfind("delta-", 0) == 0 ? 1 : 0;
    }
    return n;
  };
  for (int i = 0; i < 3; ++i) {
    update_and_add(rng, 20, 10, 1'900'000'000'000'000 + i);
    snap = index::catch_up(*store_, *snap, snapshots());
  }
  EXPECT_EQ(count_deltas(), 3);
  snap = index::merge_deltas(*snap, snapshots(), store_->store_id());
  EXPECT_EQ(count_deltas(), 1) << "the merged delta replaces the three";
  update_and_add(rng, 20, 10, 1'900'000'100'000'000);
  snap = index::catch_up(*store_, *snap, snapshots());
  EXPECT_EQ(count_deltas(), 2);
  {
    // The next start: the base and both deltas from files, nothing left to read.
    index::IndexReader reader(index::open_snapshot(*store_, snapshots()));
    ASSERT_EQ(reader.snapshot()->parts.size(), 3u);
    EXPECT_EQ(reader.snapshot()->parts[2].segment->data_version, store_->data_version());
    EXPECT_EQ(count_deltas(), 2);
    ASSERT_NO_FATAL_FAILURE(expect_same_answers(reader, rng, 15));
  }
  // A damaged delta is not used: its rows (and the next delta's) come from the store.
  for (const auto& e : fs::directory_iterator(snapshots())) {
    const std::string name = e.path().filename().string();
    if (name.rfind("delta-", 0) == 0 && snap->parts[1].segment->data_version ==
                                            std::stoull(name.substr(27, 20))) {
      flip_byte(e.path().string(), fs::file_size(e.path()) / 2);
    }
  }
  index::IndexReader reader(index::open_snapshot(*store_, snapshots()));
  EXPECT_EQ(reader.snapshot()->parts.size(), 2u);
  ASSERT_NO_FATAL_FAILURE(expect_same_answers(reader, rng, 15));
  // A compaction leaves no delta file behind.
  index::write_base(*reader.snapshot(), snapshots(), store_->store_id());
  EXPECT_EQ(count_deltas(), 0);
}

TEST_F(PersistedBase, MissingFileIsBuilt) {
  EXPECT_FALSE(fs::exists(base()));
  index::IndexReader reader(index::open_snapshot(*store_, snapshots()));
  EXPECT_TRUE(fs::exists(base()));
  EXPECT_EQ(index::SegmentBytes::open(base())->identity().store_id, store_->store_id());
}

TEST_F(PersistedBase, FileCutInTheMiddleIsRebuilt) {
  expect_rebuilt_after([](const std::string& path) {
    fs::resize_file(path, fs::file_size(path) / 2);
  });
}

TEST_F(PersistedBase, FileWithoutItsLastByteIsRebuilt) {
  expect_rebuilt_after([](const std::string& path) {
    fs::resize_file(path, fs::file_size(path) - 1);
  });
}

TEST_F(PersistedBase, EmptyFileIsRebuilt) {
  expect_rebuilt_after([](const std::string& path) { fs::resize_file(path, 0); });
}

TEST_F(PersistedBase, FlippedByteInTheDataIsRebuilt) {
  expect_rebuilt_after([](const std::string& path) { flip_byte(path, fs::file_size(path) / 2); });
}

TEST_F(PersistedBase, FlippedByteInTheHeaderIsRebuilt) {
  expect_rebuilt_after([](const std::string& path) { flip_byte(path, 20); });
}

TEST_F(PersistedBase, FlippedByteInTheSectionTableIsRebuilt) {
  expect_rebuilt_after([](const std::string& path) { flip_byte(path, fs::file_size(path) - 9); });
}

TEST_F(PersistedBase, OlderFormatIsRebuilt) {
  expect_rebuilt_after([](const std::string& path) {
    // Format version 0 with a valid header checksum: only the version is wrong.
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    char header[4096];
    f.read(header, sizeof header);
    const uint32_t version = index::kSegmentFormatVersion - 1;
    std::memcpy(header + 8, &version, sizeof version);
    uint64_t sum = 0;
    std::memcpy(header + 72, &sum, sizeof sum);  // the checksum field, zero while summing
    sum = XXH3_64bits(header, sizeof header);
    std::memcpy(header + 72, &sum, sizeof sum);
    f.seekp(0);
    f.write(header, sizeof header);
  });
}

TEST_F(PersistedBase, ValidFileOfAnotherStoreIsNotUsed) {
  SqliteStore other((dir_ / "other").string());
  other.upsert_batch(std::vector<ContactValues>(3), 1);
  { index::open_snapshot(other, snapshots()); }
  ASSERT_EQ(index::SegmentBytes::open(base())->identity().rows, 3u);
  std::mt19937_64 rng(5);
  index::IndexReader reader(index::open_snapshot(*store_, snapshots()));
  ASSERT_NO_FATAL_FAILURE(expect_same_answers(reader, rng, 10));
  EXPECT_EQ(index::SegmentBytes::open(base())->identity().store_id, store_->store_id());
}

TEST_F(PersistedBase, FileNewerThanTheStoreIsNotUsed) {
  // A base persisted after writes that the store no longer has (a database restored from an
  // older backup): its rows would be wrong.
  const fs::path backup = dir_ / "backup";
  fs::copy(dir_ / "store", backup);
  std::mt19937_64 rng(9);
  update_and_add(rng, 40, 40, 1'900'000'000'000'000);
  { index::open_snapshot(*store_, snapshots()); }
  store_.reset();
  fs::remove_all(dir_ / "store");
  fs::rename(backup, dir_ / "store");
  store_ = std::make_unique<SqliteStore>((dir_ / "store").string());
  ASSERT_GT(index::SegmentBytes::open(base())->identity().data_version, store_->data_version());
  index::IndexReader reader(index::open_snapshot(*store_, snapshots()));
  ASSERT_NO_FATAL_FAILURE(expect_same_answers(reader, rng, 10));
}

// A compaction given up (its stop flag raised) throws MergeStopped and leaves the snapshot
// directory as it was: the old base in place, no file of its own behind.
TEST_F(PersistedBase, AStoppedCompactionLeavesTheDirectoryAsItWas) {
  index::IndexReader reader(index::open_snapshot(*store_, snapshots()));
  std::mt19937_64 rng(19);
  update_and_add(rng, 30, 10, 1'900'000'000'000'000);
  reader.replace(index::catch_up(*store_, *reader.snapshot(), snapshots()));
  auto listing = [&] {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(snapshots())) names.push_back(e.path().filename());
    std::sort(names.begin(), names.end());
    return names;
  };
  const auto before = listing();
  const uint64_t base_version = index::SegmentBytes::open(base())->identity().data_version;
  const std::atomic<bool> stop{true};
  EXPECT_THROW(index::write_base(*reader.snapshot(), snapshots(), store_->store_id(), &stop),
               index::MergeStopped);
  EXPECT_EQ(listing(), before);
  EXPECT_EQ(index::SegmentBytes::open(base())->identity().data_version, base_version);
  const std::atomic<bool> go_on{false};
  index::write_base(*reader.snapshot(), snapshots(), store_->store_id(), &go_on);
  EXPECT_EQ(index::SegmentBytes::open(base())->identity().data_version, store_->data_version());
}

TEST_F(PersistedBase, StaleTemporaryFilesOfDeadProcessesAreRemoved) {
  fs::create_directories(snapshots());
  const fs::path stale = fs::path(snapshots()) / "base.seg.tmp-999999999-0";
  std::ofstream(stale) << "half a file";
  const fs::path live = fs::path(snapshots()) / ("base.seg.tmp-" + std::to_string(::getpid()) + "-77");
  std::ofstream(live) << "being written";
  { index::open_snapshot(*store_, snapshots()); }
  EXPECT_FALSE(fs::exists(stale));
  EXPECT_TRUE(fs::exists(live));
}

// --- the refresher ----------------------------------------------------------------------

// Polls every 20 ms, persists into dir_/index, compacts once the deltas hold 100 rows.
index::RefreshOptions compacting_options(const fs::path& dir) {
  index::RefreshOptions options;
  options.interval = std::chrono::milliseconds(20);
  options.snapshot_dir = (dir / "index").string();
  options.compact_min_rows = 100;
  options.compact_ratio = 0.05;
  return options;
}

TEST_F(IncrementalIndex, RefresherStacksDeltasAndCompactsInTheBackground) {
  index::IndexReader reader(index::open_snapshot(*store_, (dir_ / "index").string()));
  index::RefreshOptions options = compacting_options(dir_);
  index::Refresher refresher(*store_, reader, options);
  std::mt19937_64 rng(11);
  int64_t now = 1'900'000'000'000'000;
  update_and_add(rng, 5, 5, now += 1000);
  refresher.refresh_now();
  EXPECT_EQ(reader.snapshot()->parts.size(), 2u) << "a small write is a delta";
  EXPECT_EQ(reader.data_version(), store_->data_version());
  for (int i = 0; i < 6; ++i) {
    update_and_add(rng, 40, 20, now += 1000);
    refresher.refresh_now();  // returns with the write readable
    EXPECT_EQ(reader.data_version(), store_->data_version());
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (refresher.compactions() == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_GT(refresher.compactions(), 0u);
  refresher.refresh_now();
  ASSERT_NO_FATAL_FAILURE(expect_same_answers(reader, rng, 20));
  refresher.compact_now();
  EXPECT_EQ(reader.snapshot()->parts.size(), 1u);
  EXPECT_EQ(index::SegmentBytes::open(index::base_path(options.snapshot_dir))->identity().data_version,
            store_->data_version());
}

// An import job started while a compaction runs stops it (its base would be out of date before
// it is done); none runs while the import goes on, and once it has ended the compaction runs
// on everything. The stop comes as the compaction starts (on_compaction_start), so the merge
// meets it at its first column.
TEST_F(IncrementalIndex, AnImportStopsARunningCompactionWhichRunsOnceItHasEnded) {
  index::IndexReader reader(index::open_snapshot(*store_, (dir_ / "index").string()));
  index::RefreshOptions options = compacting_options(dir_);
  options.stop_compaction_rows = UINT64_MAX;  // only the import stops it
  std::atomic<int> started{0};
  index::Refresher* self = nullptr;
  options.on_compaction_start = [&] {
    if (started++ == 0) self->import_started();
  };
  index::Refresher refresher(*store_, reader, options);
  self = &refresher;
  std::mt19937_64 rng(17);
  int64_t now = 1'900'000'000'000'000;
  auto wait_for = [](auto done) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (!done() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return done();
  };
  for (int i = 0; i < 6; ++i) {
    update_and_add(rng, 40, 20, now += 1000);
    refresher.refresh_now();
  }
  ASSERT_TRUE(wait_for([&] { return refresher.compactions_stopped() == 1; }));
  EXPECT_EQ(refresher.compactions(), 0u);
  // While the import goes on, writes and refreshes leave the compaction waiting.
  for (int i = 0; i < 3; ++i) {
    update_and_add(rng, 40, 20, now += 1000);
    refresher.refresh_now();
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // 15 polls of the store
  EXPECT_EQ(started.load(), 1) << "no compaction starts while an import runs";
  EXPECT_TRUE(refresher.compaction_pending());
  EXPECT_GT(reader.snapshot()->parts.size(), 1u);
  refresher.import_ended();
  ASSERT_TRUE(wait_for([&] { return refresher.compactions() == 1; }));
  EXPECT_EQ(refresher.compactions_stopped(), 1u);
  refresher.refresh_now();
  EXPECT_EQ(reader.snapshot()->parts.size(), 1u) << "one base holds every write";
  ASSERT_NO_FATAL_FAILURE(expect_same_answers(reader, rng, 20));
}

// Writes from elsewhere (an import by another process: no import_started here) that bring
// compact_min_rows rows while a compaction runs stop it too; it runs once they settle.
TEST_F(IncrementalIndex, WritesOfManyRowsStopARunningCompaction) {
  index::IndexReader reader(index::open_snapshot(*store_, (dir_ / "index").string()));
  index::RefreshOptions options = compacting_options(dir_);
  options.during_writes = std::chrono::milliseconds(60);  // read while the writes go on
  options.stop_compaction_rows = 500;  // the writes below bring 2,000
  std::atomic<bool> writing{false};
  std::atomic<int> started{0};
  std::thread writer;
  // The first compaction waits, as a long one would still run, while the store is written
  // to for a second, 20 new contacts every 10 ms.
  options.on_compaction_start = [&] {
    if (started++ > 0) return;
    writing = true;
    while (writing) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  };
  index::Refresher refresher(*store_, reader, options);
  std::mt19937_64 rng(23);
  int64_t now = 1'900'000'000'000'000;
  for (int i = 0; i < 6; ++i) {
    update_and_add(rng, 40, 20, now += 1000);
    refresher.refresh_now();
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!writing && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_TRUE(writing) << "no compaction started";
  for (int batch = 0; batch < 100; ++batch) {
    std::vector<ContactValues> rows(20);
    for (size_t i = 0; i < rows.size(); ++i) {
      rows[i][TextField::email] = "long" + std::to_string(batch) + "_" + std::to_string(i) + "@example.com";
      rows[i][TextField::first_name] = "Writer";
    }
    store_->upsert_batch(rows, now += 1000);
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  writing = false;
  while (refresher.compactions() == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(refresher.compactions_stopped(), 1u);
  ASSERT_EQ(refresher.compactions(), 1u) << "it ran again once the writes settled";
  EXPECT_EQ(started.load(), 2);
  refresher.refresh_now();
  ASSERT_NO_FATAL_FAILURE(expect_same_answers(reader, rng, 20));
}

// A bulk import into an empty store hands its committed rows to the index (RowFeed): the
// refreshes build them as they came instead of reading them back, in pieces merged into a
// delta, and the index answers like a fresh build: new rows, rows of an earlier refresh
// written again (by e-mail, some in upper case), rows written again within a refresh, through
// the bulk load's e-mail table and through the e-mail index. A write the store does not
// announce (another process's) makes the refresh read the store instead.
TEST_F(IncrementalIndex, ABulkImportFeedsItsRowsToTheIndexAsTheyCommit) {
  store_ = std::make_unique<SqliteStore>((dir_ / "fed").string());
  index::set_delta_piece_rows(512);  // pieces, checked after each chunk of 2,048 rows
  struct Reset {
    ~Reset() { index::set_delta_piece_rows(0); }
  } reset;
  const std::string snapshots = (dir_ / "fed-index").string();
  index::IndexReader reader(index::open_snapshot(*store_, snapshots));
  index::RefreshOptions options;
  options.interval = std::chrono::hours(1);  // refreshes only when asked
  options.snapshot_dir = snapshots;
  options.feed = true;
  index::Refresher refresher(*store_, reader, options);
  ASSERT_TRUE(store_->set_commit_listener(
      [&refresher](const CommittedRows& rows) { refresher.committed(rows); }));
  const struct StopListening {
    Store& store;
    ~StopListening() { store.set_commit_listener({}); }
  } stop{*store_};
  std::mt19937_64 rng(41);
  int64_t now = 1'900'000'000'000'000;
  ingest::StoreSink sink(*store_);
  import_generated(5000, 5, &sink);
  refresher.refresh_now();
  EXPECT_EQ(refresher.rows_fed(), 5000u) << "every row written came from the feed";
  EXPECT_LT(store_->count(), 5000u) << "some of them repeated an e-mail";
  ASSERT_NO_FATAL_FAILURE(expect_same_answers(reader, rng, 20));

  const uint64_t fed_before = refresher.rows_fed();
  update_and_add(rng, 60, 40, now += 1000, &sink);
  import_generated(700, 5, &sink);  // the first 700 rows again: updates of older rows
  update_and_add(rng, 60, 3000, now += 1000, &sink);
  refresher.refresh_now();
  EXPECT_GT(refresher.rows_fed(), fed_before + 3000);
  EXPECT_EQ(reader.data_version(), store_->data_version());
  ASSERT_NO_FATAL_FAILURE(expect_same_answers(reader, rng, 20));

  const uint64_t fed_then = refresher.rows_fed();
  {
    // Another process's write is not announced here: the refresh reads the store. (It also
    // builds the e-mail index the bulk load left out: the load goes on through it.)
    SqliteStore other((dir_ / "fed").string());
    ContactValues fresh;
    fresh[TextField::email] = "another.process@example.com";
    fresh[TextField::first_name] = "Ånother";
    ContactValues again = reader.snapshot()->contact(3, true).values;
    again[TextField::title] = "Written elsewhere";
    other.upsert_batch(std::vector<ContactValues>{fresh, again}, now += 1000);
  }
  update_and_add(rng, 20, 5, now += 1000, &sink);
  refresher.refresh_now();
  EXPECT_EQ(refresher.rows_fed(), fed_then);
  EXPECT_EQ(reader.data_version(), store_->data_version());
  ASSERT_NO_FATAL_FAILURE(expect_same_answers(reader, rng, 20));

  // Writes through the e-mail index are announced too (each row finds its contact first):
  // random updates, a re-import of the first rows in order (contacts without an e-mail are
  // created again between them), a contact created and written again in the next write.
  update_and_add(rng, 80, 30, now += 1000);
  update_and_add(rng, 80, 30, now += 1000, &sink);
  import_generated(1500, 5, &sink);
  ContactValues twice;
  twice[TextField::email] = "fed.twice@example.com";
  twice[TextField::first_name] = "Once";
  sink.commit(std::vector<ContactValues>{twice}, {});
  twice[TextField::first_name] = "Twice";
  sink.commit(std::vector<ContactValues>{twice}, {});
  refresher.refresh_now();
  EXPECT_GT(refresher.rows_fed(), fed_then + 1700);
  EXPECT_EQ(reader.data_version(), store_->data_version());
  ASSERT_NO_FATAL_FAILURE(expect_same_answers(reader, rng, 20));
  // Every contact, field by field, as the store holds it.
  std::vector<Contact> stored;
  store_->scan(0, [&](Contact&& c) { stored.push_back(std::move(c)); });
  const auto snap = reader.snapshot();
  ASSERT_EQ(snap->rows, stored.size());
  for (uint32_t i = 0; i < snap->rows; ++i) {
    const Contact c = snap->contact(i, true);
    ASSERT_EQ(c.id, stored[i].id);
    EXPECT_EQ(c.values.text, stored[i].values.text) << c.id;
    EXPECT_EQ(c.values.numbers, stored[i].values.numbers) << c.id;
    EXPECT_EQ(c.values.meta_data_json, stored[i].values.meta_data_json) << c.id;
    EXPECT_EQ(c.created_at_us, stored[i].created_at_us) << c.id;
    ASSERT_EQ(c.updated_at_us, stored[i].updated_at_us) << c.id;
  }
  sink.finish();
  std::vector<std::string> left;
  for (const auto& e : fs::directory_iterator(snapshots)) {
    const std::string name = e.path().filename().string();
    if (name != "base.seg" && name.rfind("delta-", 0) != 0) left.push_back(name);
  }
  EXPECT_TRUE(left.empty()) << "no piece file is left: " << left.front();
}

TEST_F(IncrementalIndex, ManySmallDeltasAreMergedIntoOne) {
  index::IndexReader reader(index::open_snapshot(*store_, ""));
  index::RefreshOptions options;
  options.interval = std::chrono::hours(1);
  options.max_deltas = 3;
  options.compact_min_rows = 1'000'000;  // no compaction
  index::Refresher refresher(*store_, reader, options);
  std::mt19937_64 rng(13);
  for (int i = 0; i < 10; ++i) {
    update_and_add(rng, 2, 1, 1'900'000'000'000'000 + i);
    refresher.refresh_now();
    EXPECT_LE(reader.snapshot()->parts.size(), 1u + options.max_deltas);
  }
  ASSERT_NO_FATAL_FAILURE(expect_same_answers(reader, rng, 20));
}

// Deltas left stacked when writes stop (as a compaction leaves those stacked while it ran)
// are merged into one once the store is quiet, without another write to trigger it.
TEST_F(IncrementalIndex, DeltasLeftStackedAreMergedWhenTheStoreIsQuiet) {
  index::IndexReader reader(index::open_snapshot(*store_, ""));
  std::mt19937_64 rng(31);
  for (int i = 0; i < 8; ++i) {
    update_and_add(rng, 2, 1, 1'900'000'000'000'000 + i);
    reader.replace(index::catch_up(*store_, *reader.snapshot()));
  }
  ASSERT_EQ(reader.snapshot()->parts.size(), 9u);
  index::RefreshOptions options;
  options.interval = std::chrono::milliseconds(20);
  options.max_deltas = 3;
  options.compact_min_rows = 1'000'000;  // no compaction
  index::Refresher refresher(*store_, reader, options);
  for (int i = 0; i < 250 && reader.snapshot()->parts.size() > 2; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(reader.snapshot()->parts.size(), 2u) << "the base and one merged delta";
  ASSERT_NO_FATAL_FAILURE(expect_same_answers(reader, rng, 20));
}

using testing_support::icu_compare;

}  // namespace

// The dictionary's value order is the Unicode collation (checked against ICU's own collator,
// values with equal collation keys in byte order and with one rank) however long the
// prefixes values share (the sort refines ties 8 bytes at a time), and its folded copy is
// kept exactly when some value differs from its folded form.
TEST(DictionaryBuilderOrder, ValuesAlikeInLongPrefixesAreInCollationOrder) {
  std::mt19937 rng(7);
  std::vector<std::string> values;
  const std::string stems[] = {"", "a", "michael.johnson", "michael.johnson.ltd@example.com",
                               "\xc3\xa9lan", "zo\xc3\xab", std::string(40, 'x')};
  for (int i = 0; i < 3000; ++i) {
    std::string v = stems[rng() % std::size(stems)];
    const int extra = static_cast<int>(rng() % 20);
    for (int k = 0; k < extra; ++k) v.push_back("ab.z@\x7f\xc3\xa9"[rng() % 8]);
    if (!v.empty()) values.push_back(v);
  }
  for (const bool with_capital : {false, true}) {
    if (with_capital) values.push_back("Michael");
    index::DictionaryBuilder builder;
    for (uint32_t row = 0; row < values.size(); ++row) builder.add(values[row], row);
    index::SegmentWriter out("");
    builder.write(out, 0, /*with_order=*/true, /*with_trigrams=*/true);
    out.add(index::section_id(0, index::ColumnPart::codes), std::vector<uint32_t>{});
    const auto bytes = out.finish({1, 1, 0});
    const index::Dictionary d = index::load_dictionary(*bytes, 0);
    std::vector<std::string> expected(values.begin(), values.end());
    expected.push_back("");
    std::sort(expected.begin(), expected.end());
    expected.erase(std::unique(expected.begin(), expected.end()), expected.end());
    std::stable_sort(expected.begin(), expected.end(), [](const std::string& a, const std::string& b) {
      return icu_compare(a, b) < 0;
    });
    ASSERT_EQ(d.size(), expected.size());
    size_t ties = 0;
    for (uint32_t r = 0; r < d.size(); ++r) {
      ASSERT_EQ(d.values.get(d.by_rank[r]), expected[r]) << "position " << r;
      if (r == 0) continue;
      const bool equal_keys = icu_compare(expected[r - 1], expected[r]) == 0;
      ties += equal_keys;
      ASSERT_EQ(d.rank[d.by_rank[r]], d.rank[d.by_rank[r - 1]] + (equal_keys ? 0 : 1));
    }
    EXPECT_GT(ties, 0u);  // U+007F is ignorable: "a\x7f" and "a" have equal keys
    // Without a capital every value here is its own folded form (é, ë are lower case):
    // the folded copy is the values themselves.
    EXPECT_EQ(d.folded.bytes().data() == d.values.bytes().data(), !with_capital);
    for (uint32_t c = 0; c < d.size(); ++c) {
      ASSERT_EQ(d.folded.get(c), text::fold(d.values.get(c)));
    }
  }
}
