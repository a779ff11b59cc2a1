// Response caches: the interface the API uses, and the in-process LRU behind it when no shared
// cache is configured.
//
// A cached body carries the store data_version it was computed from (at least). A reader that
// must show data of version V treats entries stamped older than V as misses, so moving V (an
// import completed somewhere) invalidates every older entry at once, on every instance. Who
// moves V and when: api::Freshness (api/freshness.h), the only caller of publish().
#pragma once

#include <chrono>
#include <cstdint>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace contacts {

// Hex SHA-256 of `material` (the normalised request), 32 characters: the last part of a key.
std::string cache_digest(std::string_view material);

struct CachedBody {
  uint64_t version = 0;  // data_version the body was computed from, at least
  std::string body;
};

struct CacheLookup {
  std::optional<CachedBody> entry;
  // The newest data_version published to the shared cache by finished imports; 0 when the
  // cache is not shared (or does not answer).
  uint64_t published = 0;
  // A shared cache that did not answer (down, or slower than its timeout): `published` is
  // unknown, not 0 (api/freshness.h, rule 7).
  bool unanswered = false;
};

// Thread-safe. Keys are "<endpoint>:<variant>:<digest>" (see api/app.cpp).
class ResponseCache {
 public:
  virtual ~ResponseCache() = default;
  // The entry under `key` (when `want_entry`) and the published version. Never throws and
  // never waits long: a shared cache that does not answer is a miss.
  virtual CacheLookup get(const std::string& key, bool want_entry) = 0;
  // Stores `body` under `key` for `ttl` (zero stores nothing).
  virtual void put(const std::string& key, uint64_t version, std::string_view body,
                   std::chrono::seconds ttl) = 0;
  // Makes `version` the published version unless a newer one is there (shared caches only).
  // Called by api::Freshness.
  virtual void publish(uint64_t version) = 0;
  // Whether the shared cache is known to hold `version` or a newer published version (an
  // in-process cache: always). A publish that Redis did not acknowledge is sent again when
  // it answers; until then, other instances may read the older one from it.
  virtual bool holds_published(uint64_t /*version*/) const { return true; }
  // "in-process", "redis" or "redis-unavailable", for /readyz and logs.
  virtual std::string_view state() const = 0;
};

// In-process LRU with per-entry time to live, at most `max_entries` entries and `max_bytes`
// bytes of keys and bodies (contract section 11: a budget in bytes, not only in entries; a body
// larger than the whole budget is not stored).
class LocalCache final : public ResponseCache {
 public:
  explicit LocalCache(size_t max_entries, size_t max_bytes = SIZE_MAX)
      : max_entries_(max_entries), max_bytes_(max_bytes) {}

  CacheLookup get(const std::string& key, bool want_entry) override;
  void put(const std::string& key, uint64_t version, std::string_view body,
           std::chrono::seconds ttl) override;
  void publish(uint64_t) override {}
  std::string_view state() const override { return "in-process"; }
  size_t size() const;
  size_t bytes() const;

 private:
  using Clock = std::chrono::steady_clock;
  struct Entry {
    CachedBody value;
    Clock::time_point expires;
    std::list<std::string>::iterator lru;
  };
  static size_t cost(const std::string& key, const CachedBody& value) {
    return key.size() + value.body.size() + 128;  // the map and list nodes, roughly
  }
  void erase(std::unordered_map<std::string, Entry>::iterator it);
  size_t max_entries_;
  size_t max_bytes_;
  size_t bytes_ = 0;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, Entry> entries_;
  std::list<std::string> lru_;  // most recent first
};

}  // namespace contacts
