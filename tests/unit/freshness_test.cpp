// api::Freshness: the published-version rule of api/freshness.h, on its own (fake index and
// readers, a recording cache) and with the real job runner on an embedded store.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <numeric>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "api/freshness.h"
#include "api/read_router.h"
#include "ingest/import_jobs.h"
#include "store/sqlite/sqlite_store.h"
#include "util/thread_priority.h"

using namespace contacts;
using namespace std::chrono_literals;
using api::Freshness;
using api::ReadRouter;

namespace {

// A reader that only knows its data_version; any read is a test failure.
class VersionReader final : public ContactReader {
 public:
  explicit VersionReader(uint64_t version = 0) : version_(version) {}
  void set(uint64_t version) { version_ = version; }

  ListPage list(const ListQuery&) const override { throw std::logic_error("read"); }
  uint64_t count(const ContactFilter&) const override { throw std::logic_error("read"); }
  std::optional<Contact> get(int64_t) const override { throw std::logic_error("read"); }
  AnalyticsSnapshot analytics(const AnalyticsQuery&) const override {
    throw std::logic_error("read");
  }
  FieldPage field_values(const FieldQuery&) const override { throw std::logic_error("read"); }
  std::unique_ptr<ContactStream> stream(const ListQuery&) const override {
    throw std::logic_error("read");
  }
  uint64_t generation() const override { return version_.load(); }
  uint64_t data_version() const override { return version_.load(); }

 private:
  std::atomic<uint64_t> version_;
};

// A response cache that records every version it is told, and can look at the world then.
class RecordingCache final : public ResponseCache {
 public:
  CacheLookup get(const std::string&, bool) override { return {}; }
  void put(const std::string&, uint64_t, std::string_view, std::chrono::seconds) override {}
  void publish(uint64_t version) override {
    std::lock_guard lock(mutex_);
    if (on_publish) on_publish(version);
    told_.push_back(version);
  }
  std::string_view state() const override { return "recording"; }
  // Says it does not hold a published version for the first `late_answers` questions (a
  // shared cache whose acknowledgement comes late).
  bool holds_published(uint64_t) const override {
    ++holds_asked;
    return late_answers.fetch_sub(1) <= 0;
  }
  mutable std::atomic<int> late_answers{0};
  mutable std::atomic<int> holds_asked{0};

  std::vector<uint64_t> told() const {
    std::lock_guard lock(mutex_);
    return told_;
  }
  std::function<void(uint64_t)> on_publish;  // runs under the cache's lock

 private:
  mutable std::mutex mutex_;
  std::vector<uint64_t> told_;
};

ContactValues person(int n) {
  ContactValues v;
  v[TextField::first_name] = "p" + std::to_string(n);
  v[TextField::email] = "p" + std::to_string(n) + "@example.com";
  return v;
}

class FreshnessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("contacts_freshness_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    store_ = std::make_unique<SqliteStore>(dir_.string());
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  // One committed write; returns the store's data_version after it.
  uint64_t write(int n) {
    store_->upsert_batch(std::vector<ContactValues>{person(n)}, 1000 + n);
    return store_->data_version();
  }
  // The reads of a serving process: `index`, a refresher that catches it up with the store
  // (counted), a wake that is counted, and SQL on the primary or not.
  Freshness::Reads reads(VersionReader& index, bool primary_sql) {
    return {&index,
            [this, &index] {
              ++refreshes_;
              index.set(store_->data_version());
            },
            [this] { ++wakes_; }, primary_sql,
            [this](bool started) { ++(started ? import_starts_ : import_ends_); }};
  }

  std::filesystem::path dir_;
  std::unique_ptr<SqliteStore> store_;
  RecordingCache cache_;
  std::atomic<int> refreshes_{0};
  std::atomic<int> wakes_{0};
  std::atomic<int> import_starts_{0}, import_ends_{0};  // Reads::importing(true / false)
};

TEST_F(FreshnessTest, StartsAtZeroAndNeverGoesDown) {
  Freshness freshness(*store_, cache_);
  EXPECT_EQ(freshness.published(), 0u);
  EXPECT_TRUE(freshness.learn_from_shared_cache(5));
  EXPECT_EQ(freshness.published(), 5u);
  // Older or equal versions from any source leave it where it is.
  EXPECT_FALSE(freshness.learn_from_shared_cache(5));
  EXPECT_FALSE(freshness.learn_from_shared_cache(3));
  freshness.learn_from_notice(4);
  freshness.may_say_completed(2);
  EXPECT_FALSE(freshness.learn_from_shared_cache(0));  // a cache that does not answer
  EXPECT_EQ(freshness.published(), 5u);
  // Each source moves it up.
  freshness.learn_from_notice(7);
  EXPECT_EQ(freshness.published(), 7u);
  freshness.may_say_completed(9);
  EXPECT_EQ(freshness.published(), 9u);
  EXPECT_TRUE(freshness.learn_from_shared_cache(10));
  EXPECT_EQ(freshness.published(), 10u);
}

TEST_F(FreshnessTest, OnlyWhatThisProcessPublishesOrHearsFromANoticeIsToldToTheCache) {
  Freshness freshness(*store_, cache_);
  freshness.learn_from_shared_cache(3);  // came from the cache: not sent back
  freshness.may_say_completed(4);        // a job's own version: its finisher told the cache
  EXPECT_TRUE(cache_.told().empty());
  freshness.learn_from_notice(6);
  freshness.learn_from_notice(5);  // late: the cache keeps its own maximum
  const uint64_t written = write(1);
  freshness.publish_finished_job();
  EXPECT_EQ(cache_.told(), (std::vector<uint64_t>{6, 5, written}));
}

TEST_F(FreshnessTest, AFinishedJobWaitsForTheIndexThenIsRaisedHereThenToldToTheCache) {
  VersionReader index;
  Freshness freshness(*store_, cache_, reads(index, /*primary_sql=*/false));
  const uint64_t written = write(1);
  ASSERT_GT(written, 0u);
  std::vector<std::string> order;
  cache_.on_publish = [&](uint64_t version) {
    order.push_back("cache " + std::to_string(version));
    // By the time the cache (and so every instance) hears of it, this process has it and
    // its index shows it: nothing here answers older data afterwards.
    EXPECT_EQ(freshness.published(), version);
    EXPECT_GE(index.data_version(), version);
  };
  EXPECT_EQ(index.data_version(), 0u);
  freshness.publish_finished_job();
  EXPECT_EQ(refreshes_.load(), 1);
  EXPECT_EQ(order, (std::vector<std::string>{"cache " + std::to_string(written)}));
  EXPECT_EQ(freshness.published(), written);
  EXPECT_EQ(wakes_.load(), 0);  // the job waited for the index; nobody needs waking
}

TEST_F(FreshnessTest, WorkerAndCliImportPublishWithoutAnIndex) {
  Freshness freshness(*store_, cache_);  // `contacts-api worker`, `contacts-api import`
  const uint64_t first = write(1);
  freshness.publish_finished_job();
  const uint64_t second = write(2);
  EXPECT_EQ(freshness.publish_store_writes(), second);
  EXPECT_EQ(cache_.told(), (std::vector<uint64_t>{first, second}));
  EXPECT_EQ(freshness.published(), second);
  freshness.index_behind();                       // nothing to wake
  EXPECT_FALSE(freshness.may_say_completed(1));  // and no reads here to show anything
}

TEST_F(FreshnessTest, IndexBehindWakesTheRefresherAndReadsGoToSqlOnThePrimary) {
  VersionReader index(3), primary_sql;
  Freshness freshness(*store_, cache_, reads(index, /*primary_sql=*/true));
  ReadRouter router({index, &primary_sql, nullptr}, freshness, [] { return uint64_t{0}; }, 1s);

  auto target = router.route(false);
  EXPECT_EQ(target.reader, &index);
  EXPECT_EQ(target.version, 3u);
  EXPECT_EQ(wakes_.load(), 0);

  // An import finished elsewhere: the cache's key says 5, the index still shows 3.
  EXPECT_TRUE(freshness.learn_from_shared_cache(5));
  target = router.route(false);
  EXPECT_EQ(target.reader, &primary_sql);
  EXPECT_FALSE(target.replica);
  EXPECT_EQ(target.version, 5u);
  EXPECT_EQ(wakes_.load(), 1);
  // Every read meanwhile wakes the refresher again (waking is cheap and never blocks).
  router.route(true);  // no replica configured: same answer
  EXPECT_EQ(wakes_.load(), 2);
  // SQL on the primary is always current: the job may say completed at once.
  EXPECT_TRUE(freshness.may_say_completed(5));

  index.set(5);  // the refresher swapped
  target = router.route(false);
  EXPECT_EQ(target.reader, &index);
  EXPECT_EQ(target.version, 5u);
  EXPECT_EQ(wakes_.load(), 2);
}

// Rule 7: a shared cache that does not answer cannot say what was published elsewhere; the
// store's data_version stands in for it, so a read behind it goes to SQL on the primary.
TEST_F(FreshnessTest, AnUnansweredSharedCacheSendsReadsBehindTheStoreToSqlOnThePrimary) {
  VersionReader index(0), primary_sql;
  Freshness freshness(*store_, cache_, reads(index, /*primary_sql=*/true));
  ReadRouter router({index, &primary_sql, nullptr}, freshness, [] { return uint64_t{0}; }, 1s);
  write(1);
  const uint64_t version = write(2);  // another instance's job, whose notice is on its way
  EXPECT_EQ(router.route(false).reader, &index) << "nothing learned yet";
  EXPECT_TRUE(freshness.learn_from_store());
  EXPECT_EQ(freshness.published(), version);
  const auto target = router.route(false);
  EXPECT_EQ(target.reader, &primary_sql);
  EXPECT_EQ(target.version, version);
  EXPECT_EQ(wakes_.load(), 1);
  EXPECT_FALSE(freshness.learn_from_store()) << "nothing newer";
  index.set(version);
  EXPECT_EQ(router.route(false).reader, &index);
  // Learned, not published: the cache is told only what this process publishes or hears.
  EXPECT_TRUE(cache_.told().empty());
}

// Rule 4: the finisher of a job (and the CLI import) waits until the shared cache acknowledged
// its version, so another instance cannot read the older one from it after `completed`;
// bounded, for a cache that stays down.
TEST_F(FreshnessTest, AFinisherWaitsUntilTheSharedCacheHoldsItsVersionForABoundedTime) {
  Freshness freshness(*store_, cache_);
  write(1);
  cache_.late_answers = 5;
  freshness.publish_finished_job();
  EXPECT_EQ(cache_.holds_asked.load(), 6) << "asked until it said yes";
  cache_.holds_asked = 0;
  cache_.late_answers = 3;
  freshness.publish_store_writes();
  EXPECT_EQ(cache_.holds_asked.load(), 4);
  cache_.late_answers = 1'000'000;  // never acknowledged
  const auto t0 = std::chrono::steady_clock::now();
  freshness.publish_finished_job();
  const auto waited = std::chrono::steady_clock::now() - t0;
  EXPECT_GE(waited, Freshness::kCacheAcknowledgeWait);
  EXPECT_LT(waited, Freshness::kCacheAcknowledgeWait + 2s);
}

TEST_F(FreshnessTest, AnEmbeddedStoreSaysRunningUntilItsIndexHasTheVersion) {
  VersionReader index(3);
  Freshness freshness(*store_, cache_, reads(index, /*primary_sql=*/false));
  ReadRouter router({index, nullptr, nullptr}, freshness, [] { return uint64_t{0}; }, 1s);

  EXPECT_FALSE(freshness.may_say_completed(5));
  EXPECT_EQ(freshness.published(), 5u);
  // No SQL to fall back on: the index answers, and is woken.
  const auto target = router.route(false);
  EXPECT_EQ(target.reader, &index);
  EXPECT_EQ(target.version, 3u);
  EXPECT_EQ(wakes_.load(), 1);

  index.set(5);
  EXPECT_TRUE(freshness.may_say_completed(5));
  EXPECT_TRUE(freshness.may_say_completed(4));
}

TEST_F(FreshnessTest, TheReplicaAnswersOnlyWhileItHoldsThePublishedVersion) {
  VersionReader index(10), primary_sql, replica(10);
  Freshness freshness(*store_, cache_, reads(index, /*primary_sql=*/true));
  std::atomic<uint64_t> primary{10};
  ReadRouter router({index, &primary_sql, &replica}, freshness, [&] { return primary.load(); },
                    1s, 1h /* probes only when the test asks */);
  ASSERT_TRUE(router.replica_usable());

  auto target = router.route(true);
  EXPECT_TRUE(target.replica);
  EXPECT_EQ(target.reader, &replica);

  // Published 12: the replica (10 at its last probe) may not answer, nor may the index.
  freshness.learn_from_notice(12);
  target = router.route(true);
  EXPECT_FALSE(target.replica);
  EXPECT_EQ(target.reader, &primary_sql);
  EXPECT_EQ(target.version, 12u);

  // Both catch up.
  primary = 12;
  replica.set(12);
  router.probe();
  index.set(12);
  target = router.route(true);
  EXPECT_TRUE(target.replica);
  EXPECT_EQ(target.version, 12u);
  EXPECT_EQ(router.route(false).reader, &index);
}

TEST_F(FreshnessTest, ARouterMustUseTheIndexAndSqlFreshnessKnows) {
  VersionReader index, other, primary_sql;
  Freshness with_sql(*store_, cache_, reads(index, /*primary_sql=*/true));
  Freshness without_sql(*store_, cache_, reads(index, /*primary_sql=*/false));
  const auto zero = [] { return uint64_t{0}; };
  EXPECT_THROW(ReadRouter({other, &primary_sql, nullptr}, with_sql, zero, 1s),
               std::invalid_argument);
  EXPECT_THROW(ReadRouter({index, nullptr, nullptr}, with_sql, zero, 1s), std::invalid_argument);
  EXPECT_THROW(ReadRouter({index, &primary_sql, nullptr}, without_sql, zero, 1s),
               std::invalid_argument);
  EXPECT_NO_THROW(ReadRouter({index, &primary_sql, nullptr}, with_sql, zero, 1s));
  EXPECT_NO_THROW(ReadRouter({index, nullptr, nullptr}, without_sql, zero, 1s));
}

TEST_F(FreshnessTest, ACachedAnswerIsServedOnlyWhenAtLeastAsNewAsPublishedAndItsReader) {
  Freshness freshness(*store_, cache_);
  freshness.learn_from_shared_cache(5);
  EXPECT_TRUE(freshness.cached_answer_fresh(5, 0));   // replica path: the published version
  EXPECT_TRUE(freshness.cached_answer_fresh(6, 0));
  EXPECT_FALSE(freshness.cached_answer_fresh(4, 0));  // pre-import
  EXPECT_TRUE(freshness.cached_answer_fresh(7, 7));   // primary path: and the index's version
  EXPECT_FALSE(freshness.cached_answer_fresh(6, 7));  // the index moved on since it was cached
  freshness.learn_from_notice(8);
  EXPECT_FALSE(freshness.cached_answer_fresh(7, 7));  // one notice invalidates it
}

TEST_F(FreshnessTest, AJobSaysCompletedOnlyAfterTheIndexAndTheCacheHaveItsVersion) {
  VersionReader index;
  Freshness freshness(*store_, cache_, reads(index, /*primary_sql=*/false));
  const std::string csv = (dir_ / "upload.csv").string();
  {
    std::ofstream out(csv, std::ios::binary);
    out << "First Name,Last Name,Email\n";
    for (int i = 0; i < 20; ++i) out << "Ann" << i << ",Lee,ann" << i << "@example.com\n";
  }
  std::vector<std::string> statuses_when_told;
  std::vector<int> priorities_when_told;
  cache_.on_publish = [&](uint64_t) {
    // Called from the job runner's thread, between the last batch and finish_job.
    statuses_when_told.push_back(store_->get_job(1)->status);
    priorities_when_told.push_back(getpriority(PRIO_PROCESS, static_cast<id_t>(gettid())));
  };
  const int mine = getpriority(PRIO_PROCESS, static_cast<id_t>(gettid()));
  ingest::JobRunnerOptions options;
  options.data_dir = dir_.string();
  options.poll_interval = 20ms;
  options.before_complete = [&] { freshness.publish_finished_job(); };
  // The index is asked to read the rows as soon as they are committed, before the job's end.
  std::vector<std::string> statuses_when_rows_written;
  std::vector<size_t> publishes_when_rows_written;
  options.after_rows_written = [&] {
    statuses_when_rows_written.push_back(store_->get_job(1)->status);
    publishes_when_rows_written.push_back(statuses_when_told.size());
    freshness.job_rows_written();
  };
  // The index hears of the job as it starts (before its rows) and once it has ended.
  std::vector<std::string> statuses_when_started, statuses_when_ended;
  options.on_job_start = [&] {
    statuses_when_started.push_back(store_->get_job(1)->status);
    freshness.job_started();
  };
  options.on_job_end = [&] {
    statuses_when_ended.push_back(store_->get_job(1)->status);
    freshness.job_ended();
  };
  const int wakes_before = wakes_;
  ingest::JobRunner runner(*store_, options);
  const ImportJob queued = store_->create_job(csv, 1000);
  ASSERT_EQ(queued.id, 1);
  runner.notify();

  std::optional<ImportJob> job;
  for (int i = 0; i < 1500; ++i) {
    job = store_->get_job(queued.id);
    if (job->status == "completed" || job->status == "failed") break;
    std::this_thread::sleep_for(20ms);
  }
  ASSERT_EQ(job->status, "completed") << job->message;
  EXPECT_EQ(job->success_count, 20u);
  EXPECT_EQ(cache_.told(), (std::vector<uint64_t>{job->data_version}));  // (takes its lock)
  EXPECT_EQ(statuses_when_told, (std::vector<std::string>{"running"}));
  EXPECT_EQ(statuses_when_rows_written, (std::vector<std::string>{"running"}));
  EXPECT_EQ(publishes_when_rows_written, (std::vector<size_t>{0}));  // before publishing
  EXPECT_EQ(wakes_ - wakes_before, 1);
  for (int i = 0; i < 500 && import_ends_ == 0; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(import_starts_, 1);
  EXPECT_EQ(import_ends_, 1);
  EXPECT_EQ(statuses_when_started, (std::vector<std::string>{"running"}));
  EXPECT_EQ(statuses_when_ended, (std::vector<std::string>{"completed"}));
  // Jobs run below reads (util/thread_priority.h).
  EXPECT_EQ(priorities_when_told, (std::vector<int>{std::min(mine + priority::kBackground, 19)}));
  EXPECT_EQ(freshness.published(), job->data_version);
  EXPECT_GE(index.data_version(), job->data_version);
  EXPECT_TRUE(freshness.may_say_completed(job->data_version));

  // A job that fails is ended for the index too.
  const std::string bad = (dir_ / "no-header.csv").string();
  {
    std::ofstream out(bad, std::ios::binary);
    out << "Foo,Bar\n1,2\n";
  }
  const ImportJob failing = store_->create_job(bad, 2000);
  runner.notify();
  for (int i = 0; i < 1500 && import_ends_ < 2; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(store_->get_job(failing.id)->status, "failed");
  EXPECT_EQ(import_starts_, 2);
  EXPECT_EQ(import_ends_, 2);
}

TEST_F(FreshnessTest, SourcesRacingOnThreadsLeaveTheMaximumAndItNeverGoesDown) {
  VersionReader index;
  Freshness freshness(*store_, cache_, reads(index, /*primary_sql=*/true));
  constexpr uint64_t kVersions = 4000;
  std::atomic<bool> done{false};
  std::atomic<int> went_down{0};
  std::thread watcher([&] {
    uint64_t last = 0;
    while (!done) {
      const uint64_t now = freshness.published();
      if (now < last) ++went_down;
      last = now;
    }
  });
  // Four sources, each bringing every version once, in its own random order.
  std::atomic<int> lost{0};
  std::vector<std::thread> sources;
  for (int source = 0; source < 4; ++source) {
    sources.emplace_back([&, source] {
      std::vector<uint64_t> versions(kVersions);
      std::iota(versions.begin(), versions.end(), 1);
      std::shuffle(versions.begin(), versions.end(), std::mt19937_64(source + 1));
      for (const uint64_t v : versions) {
        switch (source) {
          case 0: freshness.learn_from_notice(v); break;
          case 1: freshness.may_say_completed(v); break;
          default:
            // False means "not newer than what this process knew": it must be there.
            if (!freshness.learn_from_shared_cache(v) && freshness.published() < v) {
              ++lost;
            }
        }
        if (freshness.published() < v) ++went_down;  // what a source brought stays
      }
    });
  }
  // Meanwhile this process's own jobs finish, with writes in between.
  std::thread jobs([&] {
    for (int i = 0; i < 5; ++i) {
      write(i);
      freshness.publish_finished_job();
    }
  });
  for (auto& t : sources) t.join();
  jobs.join();
  done = true;
  watcher.join();
  EXPECT_EQ(went_down.load(), 0);
  EXPECT_EQ(lost.load(), 0);
  EXPECT_EQ(freshness.published(), std::max(kVersions, store_->data_version()));
  // The cache heard every notice and every finished job, whatever the order.
  const auto told = cache_.told();
  EXPECT_EQ(told.size(), kVersions + 5);
  EXPECT_EQ(*std::max_element(told.begin(), told.end()),
            std::max(kVersions, store_->data_version()));
  EXPECT_EQ(refreshes_.load(), 5);
}

}  // namespace
