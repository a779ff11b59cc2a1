#include "cache/redis_cache.h"

#include <charconv>

namespace contacts {
namespace {

// KEYS[1] = the published key, ARGV[1] = a version: keeps the larger one, returns it.
constexpr std::string_view kPublishMax =
    "local cur = tonumber(redis.call('GET', KEYS[1]) or '0') "
    "local v = tonumber(ARGV[1]) "
    "if v > cur then redis.call('SET', KEYS[1], ARGV[1]) return v end "
    "return cur";

std::optional<uint64_t> parse_u64(std::string_view s) {
  uint64_t v = 0;
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

}  // namespace

RedisCache::RedisCache(redis::Endpoint endpoint, std::string prefix,
                       std::chrono::milliseconds timeout, std::chrono::milliseconds retry_interval)
    : prefix_(std::move(prefix)), published_key_(prefix_ + ":published") {
  redis::ClientOptions options;
  options.timeout = timeout;
  options.retry_interval = retry_interval;
  options.on_reconnect = [this] {
    if (const uint64_t v = last_published_.load()) send_published(v);
  };
  client_ = std::make_unique<redis::Client>(std::move(endpoint), std::move(options));
}

CacheLookup RedisCache::get(const std::string& key, bool want_entry) {
  CacheLookup out;
  const std::string full = prefix_ + ":" + key;
  std::vector<redis::Client::Command> commands{{"GET", published_key_}};
  if (want_entry) commands.push_back({"GET", full});
  auto replies = client_->run(commands);
  if (!replies) {
    out.unanswered = true;
    return out;
  }
  if (auto s = redis::string_of((*replies)[0])) out.published = parse_u64(*s).value_or(0);
  if (want_entry) {
    if (auto s = redis::string_of((*replies)[1])) {
      // "<version> <body>"
      const size_t space = s->find(' ');
      if (space != std::string_view::npos) {
        if (auto v = parse_u64(s->substr(0, space))) {
          out.entry = CachedBody{*v, std::string(s->substr(space + 1))};
        }
      }
    }
  }
  return out;
}

void RedisCache::put(const std::string& key, uint64_t version, std::string_view body,
                     std::chrono::seconds ttl) {
  if (ttl.count() <= 0) return;
  std::string value = std::to_string(version);
  value += ' ';
  value += body;
  const std::string full = prefix_ + ":" + key;
  const std::string seconds = std::to_string(ttl.count());
  client_->run({{"SET", full, value, "EX", seconds}});
}

void RedisCache::publish(uint64_t version) {
  uint64_t seen = last_published_.load();
  while (seen < version && !last_published_.compare_exchange_weak(seen, version)) {
  }
  send_published(version);
}

void RedisCache::send_published(uint64_t version) {
  const std::string v = std::to_string(version);
  if (!client_->run({{"EVAL", kPublishMax, "1", published_key_, v}})) return;
  uint64_t seen = acknowledged_.load();
  while (seen < version && !acknowledged_.compare_exchange_weak(seen, version)) {
  }
}

}  // namespace contacts
