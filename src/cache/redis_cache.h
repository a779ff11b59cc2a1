// The shared response cache in Redis: every instance serving one database reads and writes the
// same entries, under "<prefix>:<endpoint>:<variant>:<digest>", each with the TTL of its
// endpoint family. "<prefix>:published" holds the newest data_version a finished import
// published; readers treat entries stamped older as misses (the rule: api/freshness.h).
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "cache/redis_client.h"
#include "cache/response_cache.h"

namespace contacts {

class RedisCache final : public ResponseCache {
 public:
  RedisCache(redis::Endpoint endpoint, std::string prefix, std::chrono::milliseconds timeout,
             std::chrono::milliseconds retry_interval = std::chrono::milliseconds(500));

  // One round trip: GET published + GET entry.
  CacheLookup get(const std::string& key, bool want_entry) override;
  void put(const std::string& key, uint64_t version, std::string_view body,
           std::chrono::seconds ttl) override;
  // Raises "<prefix>:published" atomically (a Lua max). Remembered and sent again when Redis
  // comes back, so a job that finished during an outage still invalidates older entries.
  void publish(uint64_t version) override;
  bool holds_published(uint64_t version) const override { return acknowledged_.load() >= version; }
  std::string_view state() const override { return client_->up() ? "redis" : "redis-unavailable"; }
  bool up() const { return client_->up(); }

 private:
  void send_published(uint64_t version);

  const std::string prefix_;
  const std::string published_key_;
  std::atomic<uint64_t> last_published_{0};
  std::atomic<uint64_t> acknowledged_{0};  // the largest version Redis answered a publish of
  std::unique_ptr<redis::Client> client_;  // last: its retry thread calls send_published
};

}  // namespace contacts
