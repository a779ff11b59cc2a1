#include <gtest/gtest.h>
#include <pthread.h>
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "util/digest.h"
#include "util/json_object.h"
#include "util/json_writer.h"
#include "util/release_pages.h"
#include "util/text.h"
#include "util/time.h"
#include "util/thread_priority.h"
#include "util/work_pool.h"
#include "util/worker_thread.h"

using namespace contacts;

TEST(TextFold, FoldsUnicodeCaseLikePythonCasefold) {
  EXPECT_EQ(text::fold("MÜLLER"), "müller");
  EXPECT_EQ(text::fold("Éclair"), "éclair");
  EXPECT_EQ(text::fold("Straße"), "strasse");
  EXPECT_EQ(text::fold("ASCII Only"), "ascii only");
  EXPECT_EQ(text::fold(""), "");
}

TEST(TextUtf8, RejectsMalformedSequences) {
  EXPECT_TRUE(text::is_valid_utf8("héllo 山田"));
  EXPECT_FALSE(text::is_valid_utf8("\xFF"));
  EXPECT_FALSE(text::is_valid_utf8("\xC0\xAF"));          // overlong '/'
  EXPECT_FALSE(text::is_valid_utf8("\xED\xA0\x80"));      // surrogate
  EXPECT_FALSE(text::is_valid_utf8("abc\xE2\x82"));       // truncated
  EXPECT_FALSE(text::is_valid_utf8("\xF4\x90\x80\x80"));  // above U+10FFFF
}

TEST(TextSplit, TrimsPartsAndDropsEmptyOnes) {
  const auto parts = text::split_trimmed(" saas, cloud ,, b2b ,", ',');
  ASSERT_EQ(parts.size(), 3u);
  EXPECT_EQ(parts[0], "saas");
  EXPECT_EQ(parts[1], "cloud");
  EXPECT_EQ(parts[2], "b2b");
}

TEST(TimeFormat, WritesRfc3339WithZSuffix) {
  EXPECT_EQ(timeutil::format_rfc3339(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(timeutil::format_rfc3339(1704067200000000LL + 123456), "2024-01-01T00:00:00.123456Z");
}

TEST(TimeParse, AcceptsDatesDatetimesAndOffsets) {
  const int64_t midnight = 1704067200000000LL;  // 2024-01-01T00:00:00Z
  EXPECT_EQ(timeutil::parse_datetime("2024-01-01"), midnight);
  EXPECT_EQ(timeutil::parse_datetime("2024-01-01T00:00:00Z"), midnight);
  EXPECT_EQ(timeutil::parse_datetime("2024-01-01T02:00:00+02:00"), midnight);
  EXPECT_EQ(timeutil::parse_datetime("2024-01-01T02:00:00 02:00"), midnight);  // decoded '+'
  EXPECT_EQ(timeutil::parse_datetime("2023-12-31T23:00:00-01:00"), midnight);
  EXPECT_EQ(timeutil::parse_datetime("2024-01-01T00:00:00.5Z"), midnight + 500000);
  EXPECT_FALSE(timeutil::parse_datetime("yesterday"));
  EXPECT_FALSE(timeutil::parse_datetime("2024-02-30"));
  EXPECT_FALSE(timeutil::parse_datetime("2024-01-01T25:00:00Z"));
  EXPECT_FALSE(timeutil::parse_datetime("2024-01-01T00:00:00Zjunk"));
}

TEST(JsonWriter, EscapesStringsAndSeparatesValues) {
  std::string out;
  JsonWriter w(out);
  w.begin_object().field("a", std::string_view("x\"y\\\n\x01")).field("n", int64_t{-5});
  w.key("list").begin_array().value(true).null().value(std::optional<int64_t>{}).end_array();
  w.end_object();
  EXPECT_EQ(out, R"({"a":"x\"y\\\n\u0001","n":-5,"list":[true,null,null]})");
}

TEST(JsonWriter, ReplacesInvalidUtf8Bytes) {
  std::string out;
  append_json_string(out, "a\xFF" "b");
  EXPECT_EQ(out, "\"a\xEF\xBF\xBD" "b\"");
}

TEST(WorkPool, RunsEveryJobAndRefusesPastItsQueue) {
  std::atomic<int> ran{0};
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  {
    WorkPool pool(1, 2);
    ASSERT_TRUE(pool.submit([released, &ran] { released.wait(); ++ran; }));  // holds the thread
    while (pool.queued() != 0) std::this_thread::yield();  // the thread has taken it
    EXPECT_TRUE(pool.submit([&ran] { ++ran; }));
    EXPECT_TRUE(pool.submit([&ran] { ++ran; }));
    EXPECT_FALSE(pool.submit([&ran] { ran += 100; }));  // queue full: dropped
    release.set_value();
  }  // the destructor runs what is queued
  EXPECT_EQ(ran.load(), 3);
}

TEST(WorkPool, NiceThreadsRunBelowTheCallersPriority) {
  const int mine = getpriority(PRIO_PROCESS, static_cast<id_t>(gettid()));
  std::promise<int> seen;
  {
    WorkPool pool(1, 1, 5);
    pool.submit([&seen] { seen.set_value(getpriority(PRIO_PROCESS, static_cast<id_t>(gettid()))); });
  }
  EXPECT_EQ(seen.get_future().get(), std::min(mine + 5, 19));
  EXPECT_EQ(getpriority(PRIO_PROCESS, static_cast<id_t>(gettid())), mine);  // the caller's own
}

std::string this_thread_name() {
  char name[16] = {};
  pthread_getname_np(pthread_self(), name, sizeof name);
  return name;
}

// Threads carry the name of their work (top -H, perf --sort comm); a longer one is cut to
// the 15 characters Linux keeps rather than refused.
TEST(ThreadNames, PoolsAndWorkerThreadsNameTheirThreads) {
  std::promise<std::string> pool_name;
  {
    WorkPool pool(1, 1, 0, "test-pool");
    pool.submit([&pool_name] { pool_name.set_value(this_thread_name()); });
  }
  EXPECT_EQ(pool_name.get_future().get(), "test-pool");
  WorkerThread worker("a-name-longer-than-fifteen");
  std::string worker_name;
  worker.post([&worker_name] { worker_name = this_thread_name(); });
  worker.wait();
  EXPECT_EQ(worker_name, "a-name-longer-t");
}

// A doubling hash table's old slots are visited once each, in order, and given back as they go
// (private memory given back reads as zeros: what is left in the array shows what was released).
TEST(ReleasePages, ConsumeReleasingVisitsEveryValueInOrderAndGivesThePagesBack) {
  std::vector<uint64_t> values(3 << 17);  // 3 MiB
  for (size_t i = 0; i < values.size(); ++i) values[i] = i + 1;
  size_t seen = 0;
  bool in_order = true;
  consume_releasing<uint64_t>(values, [&](uint64_t v) {
    in_order = in_order && v == ++seen;
  });
  EXPECT_EQ(seen, values.size());
  EXPECT_TRUE(in_order);
  // Every whole page inside each MiB was given back: at most the page straddling each of the
  // three MiB's boundaries, and one at the array's end, keep their bytes.
  const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE)) / sizeof(uint64_t);
  size_t kept = 0;
  for (const uint64_t v : values) kept += v != 0;
  EXPECT_LE(kept, 4 * page);
}

TEST(JsonObject, OnlyAnObjectParses) {
  for (const char* text : {"", "[]", "1", "\"x\"", "null", "{", "{\"a\":1,}", "{} {}"}) {
    EXPECT_FALSE(JsonObject::parse(text)) << text;
  }
  EXPECT_TRUE(JsonObject::parse(" {} "));
}

TEST(JsonObject, MembersAreReadByTypeAndTheLastOfTwinsCounts) {
  const auto o = JsonObject::parse(
      R"({"s":"x","s":"y","n":-5,"big":9223372036854775807,"over":9223372036854775808,)"
      R"("f":1.5,"b":true,"z":null})");
  ASSERT_TRUE(o);
  EXPECT_EQ(o->string("s"), "y");
  EXPECT_EQ(o->string("n"), std::nullopt);
  EXPECT_EQ(o->integer("n"), -5);
  EXPECT_EQ(o->integer("big"), INT64_MAX);
  EXPECT_EQ(o->integer("over"), std::nullopt);  // past int64_t
  EXPECT_EQ(o->integer("f"), std::nullopt);
  EXPECT_EQ(o->boolean("b"), true);
  EXPECT_EQ(o->boolean("s"), std::nullopt);
  EXPECT_TRUE(o->has("z"));
  EXPECT_FALSE(o->has("missing"));
  EXPECT_EQ(o->string("missing"), std::nullopt);
}

TEST(Digest, Sha256AndHex) {
  EXPECT_EQ(to_hex(std::string("\x00\x7f\xff", 3)), "007fff");
  // SHA-256("abc"), FIPS 180-2 appendix B.1.
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256_hex("abc", 4), "ba7816bf");
}
