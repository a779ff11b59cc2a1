#include "cache/response_cache.h"

#include <openssl/evp.h>

#include <stdexcept>

namespace contacts {

std::string cache_digest(std::string_view material) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(material.data(), material.size(), md, &len, EVP_sha256(), nullptr) != 1) {
    throw std::runtime_error("SHA-256 failed");
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < 16 && i < len; ++i) {
    out += kHex[md[i] >> 4];
    out += kHex[md[i] & 15];
  }
  return out;
}

CacheLookup LocalCache::get(const std::string& key, bool want_entry) {
  if (!want_entry) return {};
  std::lock_guard lock(mutex_);
  auto it = entries_.find(key);
  if (it == entries_.end()) return {};
  if (Clock::now() >= it->second.expires) {
    lru_.erase(it->second.lru);
    entries_.erase(it);
    return {};
  }
  lru_.splice(lru_.begin(), lru_, it->second.lru);
  return {it->second.value, 0};
}

void LocalCache::put(const std::string& key, uint64_t version, std::string_view body,
                     std::chrono::seconds ttl) {
  if (ttl.count() <= 0 || max_entries_ == 0) return;
  std::lock_guard lock(mutex_);
  const auto expires = Clock::now() + ttl;
  if (auto it = entries_.find(key); it != entries_.end()) {
    it->second.value = CachedBody{version, std::string(body)};
    it->second.expires = expires;
    lru_.splice(lru_.begin(), lru_, it->second.lru);
    return;
  }
  while (entries_.size() >= max_entries_ && !lru_.empty()) {
    entries_.erase(lru_.back());
    lru_.pop_back();
  }
  lru_.push_front(key);
  entries_.emplace(key, Entry{CachedBody{version, std::string(body)}, expires, lru_.begin()});
}

size_t LocalCache::size() const {
  std::lock_guard lock(mutex_);
  return entries_.size();
}

}  // namespace contacts
