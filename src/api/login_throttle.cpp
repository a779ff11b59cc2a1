#include "api/login_throttle.h"

#include <algorithm>

namespace contacts::api {

namespace {

size_t pending_of(const std::unordered_map<std::string, size_t>& pending, std::string_view key) {
  const auto it = pending.find(std::string(key));
  return it == pending.end() ? 0 : it->second;
}

void release(std::unordered_map<std::string, size_t>& pending, std::string_view key) {
  const auto it = pending.find(std::string(key));
  if (it != pending.end() && --it->second == 0) pending.erase(it);
}

}  // namespace

int64_t LoginThrottle::wait_for(Failures& map, const Pending& pending, std::string_view key,
                                size_t limit, Clock::time_point now) {
  const size_t running = pending_of(pending, key);
  const auto it = map.find(std::string(key));
  size_t failures = 0;
  if (it != map.end()) {
    std::deque<Clock::time_point>& times = it->second;
    while (!times.empty() && times.front() + limits_.window <= now) times.pop_front();
    failures = times.size();
    if (failures == 0) map.erase(it);
  }
  if (failures + running < limit) return 0;
  if (failures < limit) return 1;  // the attempts running now may reach the limit
  // Blocked until the oldest failure that keeps the count at the limit leaves the window.
  const auto until = it->second[failures - limit] + limits_.window;
  const auto wait = std::chrono::ceil<std::chrono::seconds>(until - now).count();
  return std::max<int64_t>(1, wait);
}

void LoginThrottle::add(Failures& map, std::string_view key, size_t limit, Clock::time_point now) {
  if (map.size() >= limits_.max_keys && map.find(std::string(key)) == map.end()) {
    // Full: forget keys whose failures have all expired, else any one (a flood of made-up
    // names or addresses must not grow memory without bound).
    std::erase_if(map, [&](const auto& kv) {
      return kv.second.empty() || kv.second.back() + limits_.window <= now;
    });
    if (map.size() >= limits_.max_keys) map.erase(map.begin());
  }
  std::deque<Clock::time_point>& times = map[std::string(key)];
  times.push_back(now);
  while (times.size() > limit) times.pop_front();  // only the last `limit` matter
}

int64_t LoginThrottle::begin(std::string_view username, std::string_view address,
                             Clock::time_point now) {
  std::lock_guard lock(mutex_);
  const int64_t wait =
      std::max(wait_for(by_username_, pending_by_username_, username, limits_.per_username, now),
               wait_for(by_address_, pending_by_address_, address, limits_.per_address, now));
  if (wait == 0) {
    ++pending_by_username_[std::string(username)];
    ++pending_by_address_[std::string(address)];
  }
  return wait;
}

void LoginThrottle::end(std::string_view username, std::string_view address) {
  release(pending_by_username_, username);
  release(pending_by_address_, address);
}

void LoginThrottle::failed(std::string_view username, std::string_view address,
                           Clock::time_point now) {
  std::lock_guard lock(mutex_);
  end(username, address);
  add(by_username_, username, limits_.per_username, now);
  add(by_address_, address, limits_.per_address, now);
}

void LoginThrottle::succeeded(std::string_view username, std::string_view address) {
  std::lock_guard lock(mutex_);
  end(username, address);
  by_username_.erase(std::string(username));
}

void LoginThrottle::abandoned(std::string_view username, std::string_view address) {
  std::lock_guard lock(mutex_);
  end(username, address);
}

}  // namespace contacts::api
