// In-process response cache: LRU with per-entry time to live. Thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

namespace contacts {

class ResponseCache {
 public:
  explicit ResponseCache(size_t max_entries) : max_entries_(max_entries) {}

  // The body stored under `key` if present and not expired.
  std::optional<std::string> get(const std::string& key);
  // Stores `body` under `key` for `ttl`; a zero ttl stores nothing. Evicts the least
  // recently used entry when full.
  void put(const std::string& key, std::string body, std::chrono::seconds ttl);
  void clear();
  size_t size() const;

 private:
  using Clock = std::chrono::steady_clock;
  struct Entry {
    std::string body;
    Clock::time_point expires;
    std::list<std::string>::iterator lru;
  };
  size_t max_entries_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, Entry> entries_;
  std::list<std::string> lru_;  // most recent first
};

}  // namespace contacts
