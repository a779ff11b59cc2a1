#include "api/login_throttle.h"

#include <algorithm>

namespace contacts::api {

int64_t LoginThrottle::wait_for(Failures& map, std::string_view key, size_t limit,
                                Clock::time_point now) {
  const auto it = map.find(std::string(key));
  if (it == map.end()) return 0;
  std::deque<Clock::time_point>& times = it->second;
  while (!times.empty() && times.front() + limits_.window <= now) times.pop_front();
  if (times.empty()) {
    map.erase(it);
    return 0;
  }
  if (times.size() < limit) return 0;
  // Blocked until the oldest failure that keeps the count at the limit leaves the window.
  const auto until = times[times.size() - limit] + limits_.window;
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

int64_t LoginThrottle::retry_after(std::string_view username, std::string_view address,
                                   Clock::time_point now) {
  std::lock_guard lock(mutex_);
  return std::max(wait_for(by_username_, username, limits_.per_username, now),
                  wait_for(by_address_, address, limits_.per_address, now));
}

void LoginThrottle::failed(std::string_view username, std::string_view address,
                           Clock::time_point now) {
  std::lock_guard lock(mutex_);
  add(by_username_, username, limits_.per_username, now);
  add(by_address_, address, limits_.per_address, now);
}

void LoginThrottle::succeeded(std::string_view username) {
  std::lock_guard lock(mutex_);
  by_username_.erase(std::string(username));
}

}  // namespace contacts::api
