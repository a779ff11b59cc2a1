// The in-process response cache's budgets (contract section 11): entries and bytes.
#include <gtest/gtest.h>

#include <string>

#include "cache/response_cache.h"

using namespace contacts;

namespace {

constexpr std::chrono::seconds kTtl{60};

TEST(LocalCacheBudget, EvictsTheLeastRecentlyUsedPastTheByteBudget) {
  LocalCache cache(1000, 10'000);
  const std::string body(2'000, 'b');
  for (int i = 0; i < 4; ++i) cache.put("k" + std::to_string(i), 1, body, kTtl);
  EXPECT_EQ(cache.size(), 4u);
  EXPECT_TRUE(cache.get("k0", true).entry.has_value());  // k0 is now the most recent
  cache.put("k4", 1, body, kTtl);                         // over 10,000 bytes: k1 goes
  EXPECT_FALSE(cache.get("k1", true).entry.has_value());
  EXPECT_TRUE(cache.get("k0", true).entry.has_value());
  EXPECT_TRUE(cache.get("k4", true).entry.has_value());
  EXPECT_LE(cache.bytes(), 10'000u);
  for (int i = 5; i < 100; ++i) cache.put("k" + std::to_string(i), 1, body, kTtl);
  EXPECT_LE(cache.bytes(), 10'000u);
  EXPECT_EQ(cache.size(), 4u);
}

TEST(LocalCacheBudget, ABodyLargerThanTheBudgetIsNotStoredAndReplacesNothing) {
  LocalCache cache(1000, 10'000);
  cache.put("small", 1, "x", kTtl);
  cache.put("huge", 1, std::string(20'000, 'h'), kTtl);
  EXPECT_FALSE(cache.get("huge", true).entry.has_value());
  EXPECT_TRUE(cache.get("small", true).entry.has_value());
  cache.put("small", 2, std::string(20'000, 'h'), kTtl);  // an oversized update drops the key
  EXPECT_FALSE(cache.get("small", true).entry.has_value());
  EXPECT_EQ(cache.bytes(), 0u);
}

TEST(LocalCacheBudget, ReplacingAnEntryCountsItsNewSizeOnly) {
  LocalCache cache(1000, 1'000'000);
  cache.put("k", 1, std::string(5'000, 'a'), kTtl);
  const size_t one = cache.bytes();
  cache.put("k", 2, std::string(5'000, 'b'), kTtl);
  EXPECT_EQ(cache.bytes(), one);
  EXPECT_EQ(cache.get("k", true).entry->version, 2u);
  LocalCache few(2, 1'000'000);  // the entry count still holds
  for (int i = 0; i < 5; ++i) few.put("k" + std::to_string(i), 1, "v", kTtl);
  EXPECT_EQ(few.size(), 2u);
}

}  // namespace
