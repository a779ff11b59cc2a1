// The shared response cache against a real redis-server (a private one per test suite,
// started and stopped by scripts/redis_test_server), including outages and a paused server.
#include <gtest/gtest.h>
#include <hiredis/hiredis.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>

#include "cache/redis_cache.h"
#include "cache/redis_client.h"

namespace contacts {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

std::string env_or_fail(const char* name) {
  const char* v = std::getenv(name);
  if (!v || !*v) throw std::runtime_error(std::string(name) + " is not set (run through ctest)");
  return v;
}

// A private redis-server: the outage tests stop it, which must not disturb other tests.
class PrivateRedis {
 public:
  PrivateRedis()
      : script_(env_or_fail("CONTACTS_REDIS_SCRIPT")),
        dir_(env_or_fail("CONTACTS_TEST_TMP") + "/redis-" + std::to_string(::getpid())) {
    run("start");
    std::ifstream port_file(dir_ + "/port");
    port_file >> port_;
    if (port_ <= 0) throw std::runtime_error("no port in " + dir_);
  }
  ~PrivateRedis() { run("stop"); }
  void stop_server() { run("stop-server"); }
  void start_server() { run("start-server"); }
  int port() const { return port_; }
  std::string url() const { return "redis://127.0.0.1:" + std::to_string(port_) + "/0"; }

  // A command through a connection of the test's own (not the client under test).
  std::string command(const std::vector<std::string>& args) const {
    redisContext* c = redisConnect("127.0.0.1", port_);
    if (!c || c->err) throw std::runtime_error("test connection failed");
    std::vector<const char*> argv;
    std::vector<size_t> lens;
    for (const auto& a : args) {
      argv.push_back(a.data());
      lens.push_back(a.size());
    }
    auto* r = static_cast<redisReply*>(
        redisCommandArgv(c, static_cast<int>(argv.size()), argv.data(), lens.data()));
    std::string out = r && r->str ? std::string(r->str, r->len)
                                  : (r && r->type == REDIS_REPLY_INTEGER
                                         ? std::to_string(r->integer)
                                         : std::string());
    if (r) freeReplyObject(r);
    redisFree(c);
    return out;
  }

 private:
  void run(const std::string& what) const {
    const std::string cmd = script_ + " " + what + " " + dir_ + " >/dev/null";
    if (std::system(cmd.c_str()) != 0) throw std::runtime_error("failed: " + cmd);
  }
  std::string script_;
  std::string dir_;
  int port_ = 0;
};

template <typename F>
bool eventually(F condition, std::chrono::milliseconds limit = 5s) {
  const auto end = Clock::now() + limit;
  while (Clock::now() < end) {
    if (condition()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return condition();
}

class RedisCacheTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { redis_ = new PrivateRedis(); }
  static void TearDownTestSuite() {
    delete redis_;
    redis_ = nullptr;
  }
  void SetUp() override {
    redis_->start_server();  // a test that stopped it may have failed half-way
    redis_->command({"FLUSHALL"});
  }
  std::unique_ptr<RedisCache> open(const std::string& prefix = "t",
                                   std::chrono::milliseconds timeout = 50ms) {
    return std::make_unique<RedisCache>(redis::parse_url(redis_->url()), prefix, timeout, 100ms);
  }
  static PrivateRedis* redis_;
};
PrivateRedis* RedisCacheTest::redis_ = nullptr;

TEST_F(RedisCacheTest, EntriesAreSharedByEveryClientAndKeepTheirVersion) {
  auto a = open();
  auto b = open();  // another instance
  EXPECT_EQ(a->state(), "redis");
  EXPECT_FALSE(a->get("list:p:abc", true).entry);
  a->put("list:p:abc", 7, R"({"results":[]})", 60s);
  const CacheLookup hit = b->get("list:p:abc", true);
  ASSERT_TRUE(hit.entry);
  EXPECT_EQ(hit.entry->version, 7u);
  EXPECT_EQ(hit.entry->body, R"({"results":[]})");
  // Stored under the prefix, with the TTL asked for.
  EXPECT_EQ(redis_->command({"GET", "t:list:p:abc"}), std::string("7 ") + R"({"results":[]})");
  const int ttl = std::stoi(redis_->command({"TTL", "t:list:p:abc"}));
  EXPECT_GT(ttl, 50);
  EXPECT_LE(ttl, 60);
  // want_entry=false asks for nothing but the published version.
  EXPECT_FALSE(b->get("list:p:abc", false).entry);
  // A zero TTL stores nothing.
  a->put("count:p:zero", 1, "{}", 0s);
  EXPECT_FALSE(b->get("count:p:zero", true).entry);
}

TEST_F(RedisCacheTest, PrefixesSeparateDeployments) {
  auto a = open("one");
  auto b = open("two");
  a->put("list:p:k", 1, "A", 60s);
  a->publish(5);
  EXPECT_FALSE(b->get("list:p:k", true).entry);
  EXPECT_EQ(b->get("list:p:k", true).published, 0u);
  EXPECT_EQ(a->get("list:p:k", true).published, 5u);
}

TEST_F(RedisCacheTest, PublishedVersionOnlyMovesForward) {
  auto a = open();
  auto b = open();
  EXPECT_EQ(b->get("x", false).published, 0u);
  a->publish(12);
  EXPECT_EQ(b->get("x", false).published, 12u);
  b->publish(9);  // an instance that learned of an older job late
  EXPECT_EQ(a->get("x", true).published, 12u);
  b->publish(13);
  EXPECT_EQ(a->get("x", true).published, 13u);
}

TEST_F(RedisCacheTest, ForeignOrBrokenValuesAreMisses) {
  auto a = open();
  redis_->command({"SET", "t:list:p:junk", "not a cached body"});
  redis_->command({"SET", "t:list:p:nospace", "123"});
  redis_->command({"SET", "t:published", "banana"});
  redis_->command({"HSET", "t:list:p:hash", "f", "v"});  // wrong type: an error reply
  EXPECT_FALSE(a->get("list:p:junk", true).entry);
  EXPECT_FALSE(a->get("list:p:nospace", true).entry);
  const CacheLookup wrong_type = a->get("list:p:hash", true);
  EXPECT_FALSE(wrong_type.entry);
  EXPECT_EQ(wrong_type.published, 0u);
  EXPECT_EQ(a->state(), "redis") << "an error reply is not an outage";
}

TEST_F(RedisCacheTest, AnOutageCostsAtMostOneTimeoutThenNothingAndHealsByItself) {
  auto a = open();
  a->put("list:p:k", 3, "body", 60s);
  a->publish(4);
  EXPECT_TRUE(a->holds_published(4));
  redis_->stop_server();

  auto t0 = Clock::now();
  const CacheLookup during = a->get("list:p:k", true);
  EXPECT_FALSE(during.entry);
  EXPECT_TRUE(during.unanswered) << "published unknown, not 0 (freshness.h, rule 7)";
  EXPECT_LT(Clock::now() - t0, 500ms);
  EXPECT_EQ(a->state(), "redis-unavailable");
  // Down: no network at all, so a thousand lookups are immediate.
  t0 = Clock::now();
  for (int i = 0; i < 1000; ++i) {
    EXPECT_TRUE(a->get("list:p:k", true).unanswered);
    a->put("list:p:k", 3, "body", 60s);
  }
  EXPECT_LT(Clock::now() - t0, 100ms);
  // A job finishing during the outage publishes; the version is sent once Redis is back.
  a->publish(20);
  EXPECT_FALSE(a->holds_published(20)) << "not acknowledged: its finisher must wait";
  EXPECT_TRUE(a->holds_published(4));

  redis_->start_server();  // empty: nothing was saved
  ASSERT_TRUE(eventually([&] { return a->state() == "redis"; })) << "no reconnect";
  ASSERT_TRUE(eventually([&] { return a->holds_published(20); })) << "sent again when back";
  auto fresh = open();
  ASSERT_TRUE(eventually([&] { return fresh->get("x", false).published == 20; }));
  a->put("list:p:k", 21, "after", 60s);
  const CacheLookup after = fresh->get("list:p:k", true);
  ASSERT_TRUE(after.entry);
  EXPECT_EQ(after.entry->body, "after");
}

TEST_F(RedisCacheTest, AServerThatDoesNotAnswerInTimeIsSkippedUntilItDoes) {
  auto a = open("t", 20ms);
  a->put("list:p:k", 1, "body", 60s);
  ASSERT_TRUE(a->get("list:p:k", true).entry);
  redis_->command({"CLIENT", "PAUSE", "1500", "ALL"});  // every client waits 1.5 s
  auto t0 = Clock::now();
  EXPECT_TRUE(a->get("list:p:k", true).unanswered);
  EXPECT_LT(Clock::now() - t0, 300ms) << "waited on the paused server";
  EXPECT_EQ(a->state(), "redis-unavailable");
  t0 = Clock::now();
  for (int i = 0; i < 200; ++i) EXPECT_FALSE(a->get("list:p:k", true).entry);
  EXPECT_LT(Clock::now() - t0, 50ms);
  ASSERT_TRUE(eventually([&] { return a->state() == "redis"; }, 6s));
  const CacheLookup back = a->get("list:p:k", true);
  EXPECT_TRUE(back.entry);
  EXPECT_FALSE(back.unanswered);
}

TEST_F(RedisCacheTest, UnreachableAtStartIsNotAnErrorAndIsJoinedLater) {
  redis_->stop_server();
  const auto t0 = Clock::now();
  auto a = open();
  EXPECT_LT(Clock::now() - t0, 500ms);
  EXPECT_EQ(a->state(), "redis-unavailable");
  EXPECT_FALSE(a->get("list:p:k", true).entry);
  redis_->start_server();
  ASSERT_TRUE(eventually([&] { return a->state() == "redis"; }));
  a->put("list:p:k", 2, "b", 60s);
  EXPECT_TRUE(a->get("list:p:k", true).entry);
}

TEST_F(RedisCacheTest, PasswordAndDatabaseFromTheUrl) {
  redis_->command({"CONFIG", "SET", "requirepass", "s3cr/t"});
  // Wrong password: unavailable, and the log line never shows the password (it is not passed).
  {
    auto url = redis::parse_url("redis://:wrong@127.0.0.1:" + std::to_string(redis_->port()) + "/0");
    RedisCache bad(url, "t", 50ms, 100ms);
    EXPECT_EQ(bad.state(), "redis-unavailable");
  }
  auto url = redis::parse_url("redis://:s3cr%2Ft@127.0.0.1:" + std::to_string(redis_->port()) + "/3");
  EXPECT_EQ(url.password, "s3cr/t");
  EXPECT_EQ(url.db, 3);
  RedisCache good(url, "t", 50ms, 100ms);
  EXPECT_EQ(good.state(), "redis");
  good.put("list:p:k", 1, "in db 3", 60s);
  EXPECT_TRUE(good.get("list:p:k", true).entry);
  // Restore the open server for the other tests (AUTH first, on the test's connection).
  redisContext* c = redisConnect("127.0.0.1", redis_->port());
  freeReplyObject(redisCommand(c, "AUTH %s", "s3cr/t"));
  freeReplyObject(redisCommand(c, "SELECT 3"));
  auto* r = static_cast<redisReply*>(redisCommand(c, "GET t:list:p:k"));
  ASSERT_TRUE(r && r->str);
  EXPECT_EQ(std::string(r->str, r->len), "1 in db 3");
  freeReplyObject(r);
  freeReplyObject(redisCommand(c, "CONFIG SET requirepass %s", ""));
  redisFree(c);
}

TEST(RedisUrl, Forms) {
  auto e = redis::parse_url("redis://cache.internal");
  EXPECT_EQ(e.host, "cache.internal");
  EXPECT_EQ(e.port, 6379);
  EXPECT_EQ(e.db, 0);
  e = redis::parse_url("redis://user:p%40ss@10.0.0.5:6380/2");
  EXPECT_EQ(e.username, "user");
  EXPECT_EQ(e.password, "p@ss");
  EXPECT_EQ(e.host, "10.0.0.5");
  EXPECT_EQ(e.port, 6380);
  EXPECT_EQ(e.db, 2);
  EXPECT_EQ(e.describe(), "10.0.0.5:6380");  // never the password
  e = redis::parse_url("redis://[::1]:7000/");
  EXPECT_EQ(e.host, "::1");
  EXPECT_EQ(e.port, 7000);
  EXPECT_EQ(e.describe(), "[::1]:7000");
  e = redis::parse_url("unix:///run/redis/redis.sock?db=4");
  EXPECT_EQ(e.unix_path, "/run/redis/redis.sock");
  EXPECT_EQ(e.db, 4);
  for (const char* bad : {"http://x", "redis://", "redis://:pw@", "redis://h:0", "redis://h:99999",
                          "redis://h:12ab", "redis://h/x", "redis://[::1", "unix://relative",
                          "redis://u:%zz@h"}) {
    EXPECT_THROW(redis::parse_url(bad), std::invalid_argument) << bad;
  }
}

TEST(LocalCache, VersionsTtlAndEviction) {
  LocalCache cache(2);
  EXPECT_EQ(cache.state(), "in-process");
  cache.put("a", 4, "A", 60s);
  ASSERT_TRUE(cache.get("a", true).entry);
  EXPECT_EQ(cache.get("a", true).entry->version, 4u);
  EXPECT_FALSE(cache.get("a", false).entry);
  cache.put("b", 1, "B", 0s);  // zero TTL: not stored
  EXPECT_FALSE(cache.get("b", true).entry);
  cache.put("b", 1, "B", 60s);
  cache.get("a", true);         // a is now the most recent
  cache.put("c", 1, "C", 60s);  // evicts b
  EXPECT_TRUE(cache.get("a", true).entry);
  EXPECT_FALSE(cache.get("b", true).entry);
  EXPECT_TRUE(cache.get("c", true).entry);
  EXPECT_EQ(cache.size(), 2u);
  const auto put_at = std::chrono::steady_clock::now();
  cache.put("t", 1, "T", 1s);
  // Served until its TTL is over, then no more.
  while (cache.get("t", true).entry) {
    ASSERT_LT(std::chrono::steady_clock::now() - put_at, 5s) << "never expired";
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_GE(std::chrono::steady_clock::now() - put_at, 1s);
}

TEST(CacheDigest, StableAndDistinct) {
  EXPECT_EQ(cache_digest("a=1&b=2"), cache_digest("a=1&b=2"));
  EXPECT_NE(cache_digest("a=1&b=2"), cache_digest("a=1&b=3"));
  EXPECT_EQ(cache_digest("").size(), 32u);
}

}  // namespace
}  // namespace contacts
