#include "cache/response_cache.h"

namespace contacts {

std::optional<std::string> ResponseCache::get(const std::string& key) {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(key);
  if (it == entries_.end()) return std::nullopt;
  if (Clock::now() >= it->second.expires) {
    lru_.erase(it->second.lru);
    entries_.erase(it);
    return std::nullopt;
  }
  lru_.splice(lru_.begin(), lru_, it->second.lru);
  return it->second.body;
}

void ResponseCache::put(const std::string& key, std::string body, std::chrono::seconds ttl) {
  if (ttl.count() <= 0) return;
  std::lock_guard lock(mutex_);
  const auto expires = Clock::now() + ttl;
  if (auto it = entries_.find(key); it != entries_.end()) {
    it->second.body = std::move(body);
    it->second.expires = expires;
    lru_.splice(lru_.begin(), lru_, it->second.lru);
    return;
  }
  while (entries_.size() >= max_entries_ && !lru_.empty()) {
    entries_.erase(lru_.back());
    lru_.pop_back();
  }
  lru_.push_front(key);
  entries_.emplace(key, Entry{std::move(body), expires, lru_.begin()});
}

void ResponseCache::clear() {
  std::lock_guard lock(mutex_);
  entries_.clear();
  lru_.clear();
}

size_t ResponseCache::size() const {
  std::lock_guard lock(mutex_);
  return entries_.size();
}

}  // namespace contacts
