// The Store contract (store/store.h), checked on every implementation with the same tests.
#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "store_backend.h"
#include "support/store_contents.h"

using namespace contacts;
using contacts::conformance::StoreBackend;

namespace {

ContactValues person(std::string first, std::string email, std::string title = "",
                     std::optional<int64_t> employees = std::nullopt) {
  ContactValues v;
  v[TextField::first_name] = std::move(first);
  v[TextField::email] = std::move(email);
  v[TextField::title] = std::move(title);
  v[NumberField::employees] = employees;
  return v;
}

using Rows = std::vector<ContactValues>;

class StoreConformance : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    const std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::string safe = name;
    std::replace(safe.begin(), safe.end(), '/', '_');
    try {
      backend_ = conformance::make_backend(GetParam(), safe);
      store_ = backend_->open();
    } catch (const std::exception& e) {
      FAIL() << GetParam() << " store unavailable: " << e.what();
    }
  }
  void TearDown() override {
    store_.reset();
    backend_.reset();
  }
  std::vector<Contact> all(uint64_t since_version = 0) {
    std::vector<Contact> out;
    store_->scan(since_version, [&](Contact&& c) { out.push_back(std::move(c)); });
    return out;
  }
  std::optional<Contact> by_email(const std::string& email) {
    for (auto& c : all()) {
      if (c.values[TextField::email] == email) return c;
    }
    return std::nullopt;
  }

  std::unique_ptr<StoreBackend> backend_;
  std::unique_ptr<Store> store_;
};

}  // namespace

TEST_P(StoreConformance, UpsertByCaseFoldedEmailKeepsIdAndCreatedAtAndReplacesEveryField) {
  ContactValues anna = person("Anna", "anna@x.com", "Sales Manager", 500);
  anna[TextField::country] = "Germany";
  anna[NumberField::annual_revenue] = 1'000'000;
  anna.meta_data_json = R"({"Source": "fair"})";
  store_->upsert_batch(Rows{anna, person("Bob", "bob@x.com")}, 1000);
  const auto before = by_email("anna@x.com");
  ASSERT_TRUE(before);

  const UpsertCounts counts =
      store_->upsert_batch(Rows{person("Anna2", "ANNA@X.COM", "VP", std::nullopt)}, 5000);
  EXPECT_EQ(counts.inserted, 0u);
  EXPECT_EQ(counts.updated, 1u);
  EXPECT_EQ(store_->count(), 2u);
  const auto after = by_email("ANNA@X.COM");
  ASSERT_TRUE(after);
  EXPECT_EQ(after->id, before->id);
  EXPECT_EQ(after->created_at_us, 1000);
  EXPECT_EQ(after->updated_at_us, 5000);
  EXPECT_EQ(after->values[TextField::first_name], "Anna2");
  EXPECT_EQ(after->values[TextField::title], "VP");
  EXPECT_EQ(after->values[TextField::country], "") << "every field is replaced";
  EXPECT_EQ(after->values[NumberField::employees], std::nullopt);
  EXPECT_EQ(after->values[NumberField::annual_revenue], std::nullopt);
  EXPECT_EQ(nlohmann::json::parse(after->values.meta_data_json), nlohmann::json::object());
}

TEST_P(StoreConformance, EmailKeyIsUnicodeCaseFolded) {
  store_->upsert_batch(Rows{person("A", "MÜLLER@x.com"), person("B", "Straße@x.com")}, 1000);
  const UpsertCounts c =
      store_->upsert_batch(Rows{person("C", "müller@X.COM"), person("D", "STRASSE@x.com")}, 2000);
  EXPECT_EQ(c.inserted, 0u);
  EXPECT_EQ(c.updated, 2u);
  EXPECT_EQ(store_->count(), 2u);
}

TEST_P(StoreConformance, SameBatchDuplicatesLaterRowWins) {
  const UpsertCounts c =
      store_->upsert_batch(Rows{person("A", "dup@x.com", "", 1), person("B", "DUP@x.com", "", 2),
                                person("C", "other@x.com", "", 3)},
                           7000);
  EXPECT_EQ(c.inserted, 2u);
  EXPECT_EQ(c.updated, 1u);
  const auto rows = all();
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].values[TextField::first_name], "B") << "the later row wins";
  EXPECT_EQ(rows[0].values[TextField::email], "DUP@x.com");
  EXPECT_EQ(rows[0].values[NumberField::employees], 2);
  EXPECT_EQ(rows[1].values[TextField::first_name], "C") << "ids follow first appearance";

  const UpsertCounts again = store_->upsert_batch(
      Rows{person("D", "dup@X.com"), person("E", "Dup@x.com"), person("F", "dup@x.COM")}, 8000);
  EXPECT_EQ(again.inserted, 0u);
  EXPECT_EQ(again.updated, 3u);
  EXPECT_EQ(store_->count(), 2u);
  EXPECT_EQ(by_email("dup@x.COM")->id, rows[0].id);
}

TEST_P(StoreConformance, RowsWithoutEmailAreNeverMerged) {
  const UpsertCounts c =
      store_->upsert_batch(Rows{person("Jürgen", ""), person("Jürgen", "")}, 1000);
  EXPECT_EQ(c.inserted, 2u);
  EXPECT_EQ(c.updated, 0u);
  store_->upsert_batch(Rows{person("Jürgen", "")}, 2000);
  EXPECT_EQ(store_->count(), 3u);
}

TEST_P(StoreConformance, IdsAreNeverReused) {
  store_->upsert_batch(Rows{person("A", "a@x.com"), person("B", ""), person("C", "c@x.com")}, 1);
  const auto first = all();
  ASSERT_EQ(first.size(), 3u);
  EXPECT_LT(first[0].id, first[1].id);
  EXPECT_LT(first[1].id, first[2].id);
  EXPECT_GT(first[0].id, 0);
  const int64_t max_id = first[2].id;

  backend_->delete_all_contacts();
  store_ = backend_->open();  // a restarted process
  store_->upsert_batch(Rows{person("D", "c@x.com"), person("E", "")}, 2);
  const auto second = all();
  ASSERT_EQ(second.size(), 2u);
  EXPECT_GT(second[0].id, max_id);
  EXPECT_GT(second[1].id, second[0].id);
}

TEST_P(StoreConformance, NumbersKeepNullDistinctFromValues) {
  ContactValues v = person("N", "n@x.com");
  v[NumberField::employees] = 0;
  v[NumberField::annual_revenue] = std::nullopt;
  v[NumberField::total_funding] = INT64_MAX;
  v[NumberField::latest_funding_amount] = 1'500'000;
  store_->upsert_batch(Rows{v, person("M", "m@x.com")}, 1);
  const auto n = by_email("n@x.com");
  ASSERT_TRUE(n);
  EXPECT_EQ(n->values.numbers, v.numbers);
  const auto m = by_email("m@x.com");
  for (const auto& num : m->values.numbers) EXPECT_EQ(num, std::nullopt);
}

TEST_P(StoreConformance, MetaDataRoundTripsAsTheSameJsonObject) {
  ContactValues v = person("M", "m@x.com");
  v.meta_data_json =
      R"({"Lead Source":"Fair \"2024\"","Notes":"line1\nline2\ttab \\ back","Ünïcode":"日本語 🎉",)"
      R"("empty":""})";
  store_->upsert_batch(Rows{v, person("Plain", "p@x.com")}, 1);
  EXPECT_EQ(nlohmann::json::parse(by_email("m@x.com")->values.meta_data_json),
            nlohmann::json::parse(v.meta_data_json));
  EXPECT_EQ(nlohmann::json::parse(by_email("p@x.com")->values.meta_data_json),
            nlohmann::json::object());
}

TEST_P(StoreConformance, TextRoundTripsByteForByte) {
  const std::vector<std::string> samples = {"tab\there",
                                            "new\nline",
                                            "cr\r\nlf",
                                            "back\\slash",
                                            "\\N",
                                            "\\.",
                                            "\"double\" 'single'",
                                            "Zoë Jürgen Ærøskøbing",
                                            "日本語テキスト",
                                            "emoji 🎉👩‍💻",
                                            "e\xcc\x81 combining",
                                            "  spaces kept  ",
                                            ",;|{}[]",
                                            std::string(65535, 'x')};
  Rows rows;
  for (size_t i = 0; i < samples.size(); ++i) {
    ContactValues v = person(samples[i], "t" + std::to_string(i) + "@x.com", samples[i]);
    v[TextField::keywords] = samples[i];
    v[TextField::last_raised_at] = samples[i];
    rows.push_back(std::move(v));
  }
  store_->upsert_batch(rows, 1);
  const auto stored = all();
  ASSERT_EQ(stored.size(), samples.size());
  for (size_t i = 0; i < samples.size(); ++i) {
    EXPECT_EQ(stored[i].values.text, rows[i].text) << "sample " << i;
  }
}

TEST_P(StoreConformance, ScanIsInIdOrderAndOnlyNewerThanSinceVersion) {
  store_->upsert_batch(Rows{person("A", "a@x.com"), person("B", "b@x.com")}, 1);
  const uint64_t v1 = store_->data_version();
  store_->upsert_batch(Rows{person("C", "c@x.com"), person("A2", "A@x.com")}, 2);
  std::vector<std::string> names;
  for (const auto& c : all(v1)) names.push_back(c.values[TextField::first_name]);
  EXPECT_EQ(names, (std::vector<std::string>{"A2", "C"}));
  names.clear();
  std::vector<int64_t> ids;
  for (const auto& c : all(0)) {
    names.push_back(c.values[TextField::first_name]);
    ids.push_back(c.id);
  }
  EXPECT_EQ(names, (std::vector<std::string>{"A2", "B", "C"}));
  EXPECT_TRUE(std::is_sorted(ids.begin(), ids.end()));
  EXPECT_TRUE(all(store_->data_version()).empty());
}

// People NAME0, NAME1, ... with e-mails email0@x.com, ... (NAME and email prefixes given).
Rows numbered_people(const std::string& name, const std::string& email, int n) {
  Rows rows;
  for (int i = 0; i < n; ++i) {
    rows.push_back(person(name + std::to_string(i), email + std::to_string(i) + "@x.com"));
  }
  return rows;
}

// A few rows changed in a large table (the reads of a refresh after a small write), most of
// it changed (after a re-import), rows appended (an import of new contacts): the same rows
// each way, in id order, with their newest values.
TEST_P(StoreConformance, ScanSinceReadsSmallAndLargeChangesAlike) {
  store_->upsert_batch(numbered_people("P", "p", 400), 1);
  const uint64_t v1 = store_->data_version();
  EXPECT_TRUE(all(v1).empty());
  Rows few;
  for (int i : {397, 3, 150, 151}) few.push_back(person("Q" + std::to_string(i), "P" + std::to_string(i) + "@x.com"));
  few.push_back(person("New", "new@x.com"));
  store_->upsert_batch(few, 2);
  std::vector<std::string> names;
  std::vector<int64_t> ids;
  for (const auto& c : all(v1)) {
    names.push_back(c.values[TextField::first_name]);
    ids.push_back(c.id);
  }
  EXPECT_EQ(names, (std::vector<std::string>{"Q3", "Q150", "Q151", "Q397", "New"}));
  EXPECT_TRUE(std::is_sorted(ids.begin(), ids.end()));
  // Each later write's rows, read back since the version before it: `name` 0..n-1 in order.
  auto expect_read_back = [&](uint64_t since, const std::string& name, size_t n) {
    const auto changed = all(since);
    ASSERT_EQ(changed.size(), n);
    for (size_t i = 0; i < changed.size(); ++i) {
      EXPECT_EQ(changed[i].values[TextField::first_name], name + std::to_string(i));
      if (i > 0) {
        EXPECT_LT(changed[i - 1].id, changed[i].id);
      }
    }
  };
  const uint64_t v2 = store_->data_version();
  store_->upsert_batch(numbered_people("R", "p", 390), 3);
  ASSERT_NO_FATAL_FAILURE(expect_read_back(v2, "R", 390));
  EXPECT_EQ(all(v1).size(), 392u);  // the 390, and P397 and the new one of the second write
  const uint64_t v3 = store_->data_version();
  store_->upsert_batch(numbered_people("N", "n", 50), 4);
  ASSERT_NO_FATAL_FAILURE(expect_read_back(v3, "N", 50));
}

TEST_P(StoreConformance, ScanStreamsManyRows) {
  Rows rows;
  for (int i = 0; i < 5000; ++i) rows.push_back(person("P" + std::to_string(i), ""));
  store_->upsert_batch(rows, 1);
  int64_t seen = 0;
  int64_t last_id = 0;
  store_->scan(0, [&](Contact&& c) {
    EXPECT_GT(c.id, last_id);
    EXPECT_EQ(c.values[TextField::first_name], "P" + std::to_string(seen));
    last_id = c.id;
    ++seen;
  });
  EXPECT_EQ(seen, 5000);
}

TEST_P(StoreConformance, DataVersionGrowsWithEveryBatch) {
  uint64_t last = store_->data_version();
  for (int i = 0; i < 3; ++i) {
    store_->upsert_batch(Rows{person("A", "a@x.com")}, i + 1);
    const uint64_t now = store_->data_version();
    EXPECT_GT(now, last);
    last = now;
  }
  EXPECT_EQ(store_->count(), 1u);
}

// A commit listener is told each batch of contacts in version order, with every row's id and
// created_at and its values as the store keeps them: replaying what it was told gives what
// the store holds. Bulk loads into an empty store and upserts alike; rows written again in a
// batch and across batches, in another case, rows without an e-mail, meta_data with
// irregular spacing (PostgreSQL tells it as jsonb prints it), empty meta_data.
TEST_P(StoreConformance, ACommitListenerIsToldWhatEachBatchMadeOfItsRows) {
  std::mutex mutex;
  std::map<int64_t, Contact> told;
  std::vector<uint64_t> versions;
  const bool announces = store_->set_commit_listener([&](const CommittedRows& r) {
    std::lock_guard lock(mutex);
    versions.push_back(r.version);
    ASSERT_EQ(r.rows.size(), r.ids.size());
    ASSERT_EQ(r.rows.size(), r.created_at_us.size());
    ASSERT_TRUE(r.meta_data_json.empty() || r.meta_data_json.size() == r.rows.size());
    for (size_t i = 0; i < r.rows.size(); ++i) {
      Contact& c = told[r.ids[i]];
      c.id = r.ids[i];
      c.values = r.rows[i];
      if (!r.meta_data_json.empty()) c.values.meta_data_json = r.meta_data_json[i];
      c.created_at_us = r.created_at_us[i];
      c.updated_at_us = r.now_us;
    }
  });
  if (!announces) GTEST_SKIP() << GetParam() << " announces nothing";
  const struct StopListening {
    Store& store;
    ~StopListening() { store.set_commit_listener({}); }
  } stop{*store_};
  ContactValues meta = person("Meta", "meta@example.com");
  meta.meta_data_json = R"({"b":1,  "a": "x"})";
  ContactValues empty_meta = person("Empty", "");
  empty_meta.meta_data_json = "";
  {
    auto bulk = store_->begin_bulk_import();
    bulk->upsert_batch(Rows{person("Ann", "ann@example.com"), person("Nobody", ""),
                            person("Bob", "bob@example.com"), person("Ann 2", "ANN@example.com"),
                            meta},
                       1'000'000);
    bulk->upsert_batch(Rows{person("Bob 2", "bob@example.com", "CEO", 12), empty_meta,
                            person("Cid", "cid@example.com")},
                       2'000'000);
    bulk->finish();
  }
  store_->upsert_batch(Rows{person("Cid 2", "CID@EXAMPLE.COM"), person("Dee", "dee@example.com"),
                            person("Nobody 2", ""), person("Dee 2", "dee@example.com")},
                       3'000'000);
  const std::vector<Contact> stored = all();
  std::lock_guard lock(mutex);
  ASSERT_EQ(versions.size(), 3u);
  EXPECT_EQ(versions.back(), store_->data_version());
  EXPECT_TRUE(std::is_sorted(versions.begin(), versions.end()));
  test_support::expect_told_as_stored(told, stored);
}

TEST_P(StoreConformance, UsersAreSavedOnceAndUpdatedByName) {
  const int64_t id = store_->save_user("admin", "hash-1", true);
  EXPECT_EQ(store_->save_user("admin", "hash-2", false), id);
  const int64_t other = store_->save_user("reader", "hash-3", false);
  EXPECT_NE(other, id);
  const auto u = store_->find_user("admin");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->id, id);
  EXPECT_EQ(u->username, "admin");
  EXPECT_EQ(u->password_hash, "hash-2");
  EXPECT_FALSE(u->is_staff);
  EXPECT_TRUE(u->is_active);
  EXPECT_FALSE(store_->find_user("Admin"));
  EXPECT_FALSE(store_->find_user("nobody"));
}

TEST_P(StoreConformance, UsersAreUpdatedFieldByFieldAndDeleted) {
  const int64_t id = store_->save_user("admin", "hash-1", true);
  store_->save_user("reader", "hash-r", false);
  EXPECT_TRUE(store_->update_user("admin", std::nullopt, false));
  auto u = store_->find_user("admin");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->password_hash, "hash-1");
  EXPECT_FALSE(u->is_staff);
  EXPECT_TRUE(store_->update_user("admin", std::string("hash-2"), std::nullopt));
  u = store_->find_user("admin");
  EXPECT_EQ(u->password_hash, "hash-2");
  EXPECT_FALSE(u->is_staff);
  EXPECT_TRUE(store_->update_user("admin", std::string("hash-3"), true));
  u = store_->find_user("admin");
  EXPECT_EQ((std::pair{u->password_hash, u->is_staff}), (std::pair{std::string("hash-3"), true}));
  EXPECT_EQ(u->id, id);
  EXPECT_FALSE(store_->update_user("nobody", std::string("x"), true));
  EXPECT_FALSE(store_->find_user("nobody"));
  EXPECT_TRUE(store_->delete_user("admin"));
  EXPECT_FALSE(store_->find_user("admin"));
  EXPECT_FALSE(store_->delete_user("admin"));
  EXPECT_TRUE(store_->find_user("reader"));
}

TEST_P(StoreConformance, NewJobsArePendingAndQueued) {
  const ImportJob job = store_->create_job("/tmp/upload.csv", 100);
  EXPECT_GT(job.id, 0);
  EXPECT_EQ(job.status, "pending");
  EXPECT_EQ(job.message, "Queued");
  EXPECT_EQ(job.upload_file_path, "/tmp/upload.csv");
  EXPECT_EQ(job.error_file_path, "");
  EXPECT_EQ(job.created_at_us, 100);
  EXPECT_EQ(job.updated_at_us, 100);
  EXPECT_EQ(job.total_rows, 0u);
  EXPECT_FALSE(job.started_at_us);
  EXPECT_FALSE(job.finished_at_us);
  const auto read = store_->get_job(job.id);
  ASSERT_TRUE(read);
  EXPECT_EQ(read->upload_file_path, "/tmp/upload.csv");
  EXPECT_FALSE(store_->get_job(job.id + 1000));
}

TEST_P(StoreConformance, JobsAreClaimedOldestFirstOnceAndResumedAfterTheLeaseExpires) {
  const ImportJob job = store_->create_job("/tmp/upload.csv", 100);
  const ImportJob later = store_->create_job("/tmp/later.csv", 150);
  const auto first = store_->claim_job("w1", 200, 1000);
  ASSERT_TRUE(first);
  EXPECT_EQ(first->id, job.id);
  EXPECT_EQ(first->status, "running");
  EXPECT_EQ(first->message, "Processing");
  EXPECT_EQ(first->started_at_us, 200);
  EXPECT_EQ(first->updated_at_us, 200);
  const auto next = store_->claim_job("w2", 300, 1500);
  ASSERT_TRUE(next);
  EXPECT_EQ(next->id, later.id);
  EXPECT_FALSE(store_->claim_job("w3", 500, 1500)) << "both leases still held";
  const auto resumed = store_->claim_job("w3", 1001, 2000);
  ASSERT_TRUE(resumed) << "w1's lease expired: another worker resumes the job";
  EXPECT_EQ(resumed->id, job.id);
  EXPECT_EQ(resumed->started_at_us, 200);
  EXPECT_EQ(resumed->updated_at_us, 1001);
  EXPECT_FALSE(store_->renew_lease(job.id, "w1", 3000));
  EXPECT_TRUE(store_->renew_lease(job.id, "w3", 3000));
  const auto expired = store_->claim_job("w4", 2500, 4000);
  ASSERT_TRUE(expired);
  EXPECT_EQ(expired->id, later.id) << "w2's lease expired at 1500; w3's was renewed to 3000";
  EXPECT_FALSE(store_->claim_job("w5", 2600, 4000));
}

TEST_P(StoreConformance, CheckpointCommitsWithTheRowsAndOnlyForTheLeaseHolder) {
  store_->upsert_batch(Rows{person("A", "a@x.com")}, 50);
  const ImportJob job = store_->create_job("/tmp/upload.csv", 100);
  ASSERT_TRUE(store_->claim_job("w1", 200, 10'000));
  JobCheckpoint cp{job.id, "w1", 3, 2, 1, 42};
  store_->upsert_batch(Rows{person("J", "j@x.com")}, 300, &cp);
  auto now = store_->get_job(job.id);
  ASSERT_TRUE(now);
  EXPECT_EQ(now->total_rows, 3u);
  EXPECT_EQ(now->success_count, 2u);
  EXPECT_EQ(now->error_count, 1u);
  EXPECT_EQ(now->errors_file_bytes, 42u);
  EXPECT_EQ(now->updated_at_us, 300);

  const uint64_t version = store_->data_version();
  JobCheckpoint stale{job.id, "someone-else", 9, 9, 0, 0};
  EXPECT_THROW(
      store_->upsert_batch(Rows{person("K", "k@x.com"), person("A2", "a@x.com")}, 400, &stale),
      LeaseLostError);
  EXPECT_EQ(store_->count(), 2u) << "the stale batch was rolled back";
  EXPECT_EQ(by_email("a@x.com")->values[TextField::first_name], "A");
  EXPECT_EQ(store_->data_version(), version);
  EXPECT_EQ(store_->get_job(job.id)->total_rows, 3u);

  EXPECT_FALSE(store_->finish_job(job.id, "someone-else", "completed", "Completed", "", 500));
  EXPECT_TRUE(store_->finish_job(job.id, "w1", "completed", "Completed", "/tmp/errors.csv", 500));
  now = store_->get_job(job.id);
  EXPECT_EQ(now->status, "completed");
  EXPECT_EQ(now->message, "Completed");
  EXPECT_EQ(now->error_file_path, "/tmp/errors.csv");
  EXPECT_EQ(now->finished_at_us, 500);
  EXPECT_EQ(now->data_version, store_->data_version());
  EXPECT_FALSE(store_->claim_job("w2", 600, 700)) << "finished jobs are never claimed";
  EXPECT_FALSE(store_->renew_lease(job.id, "w1", 900)) << "finished jobs have no lease";
  EXPECT_FALSE(store_->finish_job(job.id, "w1", "failed", "again", "", 800));
  JobCheckpoint late{job.id, "w1", 1, 1, 0, 0};
  EXPECT_THROW(store_->upsert_batch(Rows{person("L", "l@x.com")}, 900, &late), LeaseLostError);
}

TEST_P(StoreConformance, JobsAreCountedByState) {
  const auto counts_of = [](const JobCounts& c) {
    return std::vector<uint64_t>{c.pending, c.running, c.completed, c.failed};
  };
  EXPECT_EQ(counts_of(store_->count_jobs()), (std::vector<uint64_t>{0, 0, 0, 0}));
  for (int i = 0; i < 5; ++i) store_->create_job("/tmp/" + std::to_string(i), i);
  const auto a = store_->claim_job("w1", 10, 1000);
  const auto b = store_->claim_job("w2", 10, 1000);
  const auto c = store_->claim_job("w3", 10, 1000);
  ASSERT_TRUE(a && b && c);
  ASSERT_TRUE(store_->finish_job(a->id, "w1", "completed", "Completed", "", 20));
  ASSERT_TRUE(store_->finish_job(b->id, "w2", "failed", "Bad file.", "", 20));
  EXPECT_EQ(counts_of(store_->count_jobs()), (std::vector<uint64_t>{2, 1, 1, 1}));
}

TEST_P(StoreConformance, ConcurrentClaimsNeverShareAJob) {
  constexpr int kJobs = 40;
  for (int i = 0; i < kJobs; ++i) store_->create_job("/tmp/" + std::to_string(i), i);
  std::vector<std::vector<int64_t>> claimed(4);
  std::vector<std::thread> workers;
  for (size_t w = 0; w < claimed.size(); ++w) {
    workers.emplace_back([&, w] {
      const std::string name = "w" + std::to_string(w);
      while (auto job = store_->claim_job(name, 1000, 1'000'000)) claimed[w].push_back(job->id);
    });
  }
  for (auto& t : workers) t.join();
  std::multiset<int64_t> all_ids;
  for (const auto& ids : claimed) all_ids.insert(ids.begin(), ids.end());
  EXPECT_EQ(all_ids.size(), static_cast<size_t>(kJobs));
  EXPECT_EQ(std::set<int64_t>(all_ids.begin(), all_ids.end()).size(), static_cast<size_t>(kJobs))
      << "a job was claimed twice";
}

TEST_P(StoreConformance, ConcurrentBatchesAllCommit) {
  constexpr int kThreads = 4;
  constexpr int kBatches = 5;
  const uint64_t v0 = store_->data_version();
  std::vector<std::thread> writers;
  for (int t = 0; t < kThreads; ++t) {
    writers.emplace_back([&, t] {
      for (int b = 0; b < kBatches; ++b) {
        Rows rows;
        for (int i = 0; i < 50; ++i) {
          rows.push_back(person("W", "w" + std::to_string(t) + "-" + std::to_string(b) + "-" +
                                         std::to_string(i) + "@x.com"));
        }
        rows.push_back(person("Shared", "shared@x.com"));
        store_->upsert_batch(rows, 10 + b);
      }
    });
  }
  for (auto& t : writers) t.join();
  EXPECT_EQ(store_->count(), static_cast<uint64_t>(kThreads * kBatches * 50 + 1));
  EXPECT_EQ(store_->data_version(), v0 + kThreads * kBatches);
}

TEST_P(StoreConformance, EstimatedCountIsWithinOnePercentOnceStatisticsAreRefreshed) {
  Rows rows;
  for (int i = 0; i < 4000; ++i) rows.push_back(person("P" + std::to_string(i), ""));
  for (int b = 0; b < 5; ++b) store_->upsert_batch(rows, 100 + b);
  store_->refresh_statistics();
  const double truth = static_cast<double>(store_->count());
  ASSERT_EQ(truth, 20000.0);
  EXPECT_NEAR(static_cast<double>(store_->estimated_count()), truth, truth * 0.01);
  // And again after the table doubled: the estimate follows the data, not a stale sample.
  for (int b = 0; b < 5; ++b) store_->upsert_batch(rows, 200 + b);
  store_->refresh_statistics();
  EXPECT_NEAR(static_cast<double>(store_->estimated_count()), 40000.0, 400.0);
}

TEST_P(StoreConformance, StoreIdIsRandomAndStable) {
  const uint64_t id = store_->store_id();
  EXPECT_NE(id, 0u);
  EXPECT_EQ(backend_->open()->store_id(), id) << "another connection, the same store";
  store_->upsert_batch(Rows{person("S", "s@id.com")}, 1);
  EXPECT_EQ(store_->store_id(), id) << "writes do not change it";
}

TEST_P(StoreConformance, JobsQueuedAndFinishedElsewhereAreAnnouncedToOtherConnections) {
  auto other = backend_->open();  // another process's view of the same database
  if (!other->notifies()) {
    const StoreNotices n = other->wait_for_notices(std::chrono::milliseconds(10));
    EXPECT_FALSE(n.jobs_queued);
    EXPECT_EQ(n.published_version, 0u);
    GTEST_SKIP() << GetParam() << " has no notifications; workers and readers poll it";
  }
  // The first wait starts listening and reports a catch-up (notices may have been missed
  // before): a possible job and the current data_version. After that, quiet waits are empty.
  const StoreNotices first = other->wait_for_notices(std::chrono::milliseconds(50));
  EXPECT_TRUE(first.jobs_queued);
  EXPECT_EQ(first.published_version, store_->data_version());
  const StoreNotices quiet = other->wait_for_notices(std::chrono::milliseconds(200));
  EXPECT_FALSE(quiet.jobs_queued);
  EXPECT_EQ(quiet.published_version, 0u);

  std::thread queue([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    store_->create_job("/tmp/upload.csv", 1);
  });
  const auto start = std::chrono::steady_clock::now();
  const StoreNotices woken = other->wait_for_notices(std::chrono::milliseconds(10'000));
  const auto waited = std::chrono::steady_clock::now() - start;
  queue.join();
  EXPECT_TRUE(woken.jobs_queued);
  EXPECT_EQ(woken.published_version, 0u);
  EXPECT_LT(waited, std::chrono::seconds(5));

  // A finished job announces the data_version it recorded.
  const auto job = store_->claim_job("w1", 2, 1'000'000);
  ASSERT_TRUE(job.has_value());
  store_->upsert_batch(Rows{person("N1", "n1@announce.com"), person("N2", "n2@announce.com")}, 3);
  ASSERT_TRUE(store_->finish_job(job->id, "w1", "completed", "Completed", "", 4));
  const uint64_t recorded = store_->get_job(job->id)->data_version;
  EXPECT_EQ(recorded, store_->data_version());
  StoreNotices finished;
  for (int i = 0; i < 20 && finished.published_version == 0; ++i) {
    finished = other->wait_for_notices(std::chrono::milliseconds(500));
  }
  EXPECT_EQ(finished.published_version, recorded);
  // finish_job by a worker that does not hold the job changes nothing and announces nothing.
  EXPECT_FALSE(store_->finish_job(job->id, "w2", "completed", "Completed", "", 5));
  EXPECT_EQ(other->wait_for_notices(std::chrono::milliseconds(200)).published_version, 0u);
}

INSTANTIATE_TEST_SUITE_P(Stores, StoreConformance, ::testing::Values("sqlite", "postgres"),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return info.param;
                         });
