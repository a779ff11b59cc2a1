#include "cache/response_cache.h"

#include <stdexcept>

#include "util/digest.h"

namespace contacts {

std::string cache_digest(std::string_view material) { return sha256_hex(material, 16); }

CacheLookup LocalCache::get(const std::string& key, bool want_entry) {
  if (!want_entry) return {};
  std::lock_guard lock(mutex_);
  auto it = entries_.find(key);
  if (it == entries_.end()) return {};
  if (Clock::now() >= it->second.expires) {
    erase(it);
    return {};
  }
  lru_.splice(lru_.begin(), lru_, it->second.lru);
  return {it->second.value, 0};
}

void LocalCache::erase(std::unordered_map<std::string, Entry>::iterator it) {
  bytes_ -= cost(it->first, it->second.value);
  lru_.erase(it->second.lru);
  entries_.erase(it);
}

void LocalCache::put(const std::string& key, uint64_t version, std::string_view body,
                     std::chrono::seconds ttl) {
  if (ttl.count() <= 0 || max_entries_ == 0) return;
  CachedBody value{version, std::string(body)};
  const size_t need = cost(key, value);
  std::lock_guard lock(mutex_);
  if (auto it = entries_.find(key); it != entries_.end()) erase(it);
  if (need > max_bytes_) return;
  while ((entries_.size() >= max_entries_ || bytes_ + need > max_bytes_) && !lru_.empty()) {
    erase(entries_.find(lru_.back()));
  }
  lru_.push_front(key);
  entries_.emplace(key, Entry{std::move(value), Clock::now() + ttl, lru_.begin()});
  bytes_ += need;
}

size_t LocalCache::bytes() const {
  std::lock_guard lock(mutex_);
  return bytes_;
}

size_t LocalCache::size() const {
  std::lock_guard lock(mutex_);
  return entries_.size();
}

}  // namespace contacts
