// Which reader answers a read: the primary path (the in-memory read index, fed by the primary
// store) or a read replica, when one is configured, asked for, reachable and recent enough.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

#include "query/reader.h"

namespace contacts::api {

struct ReadTarget {
  const ContactReader& reader;
  bool replica;  // meta.using_replica
};

// Thread-safe. With a replica, a background probe compares the replica's data_version with
// the primary's every `probe_interval`: the replica's lag is how long ago the primary first
// had data the replica still lacks (0 when both hold the same data). A replica that does not
// answer, or lags more than `max_lag`, is not used until a later probe finds it healthy.
class ReadRouter {
 public:
  ReadRouter(const ContactReader& primary, const ContactReader* replica,
             std::function<uint64_t()> primary_data_version, std::chrono::milliseconds max_lag,
             std::chrono::milliseconds probe_interval = std::chrono::milliseconds(250));
  ~ReadRouter();
  ReadRouter(const ReadRouter&) = delete;
  ReadRouter& operator=(const ReadRouter&) = delete;

  // The replica when `want_replica` and it is usable, else the primary path.
  ReadTarget route(bool want_replica) const;
  ReadTarget primary() const { return {primary_, false}; }
  bool has_replica() const { return replica_ != nullptr; }
  bool replica_usable() const { return replica_usable_.load(); }
  // Called when a request on the replica found it unreachable: stop using it until the next
  // probe says otherwise.
  void replica_failed() { replica_usable_ = false; }
  // Runs one probe now (tests, and the first decision at start-up).
  void probe();

 private:
  using Clock = std::chrono::steady_clock;

  const ContactReader& primary_;
  const ContactReader* replica_;
  std::function<uint64_t()> primary_data_version_;
  const std::chrono::milliseconds max_lag_;
  const std::chrono::milliseconds probe_interval_;
  std::atomic<bool> replica_usable_{false};

  std::mutex probe_mutex_;
  // Primary data_versions the replica had not reached yet, with when each was first seen.
  std::deque<std::pair<Clock::time_point, uint64_t>> unreplicated_;  // guarded by probe_mutex_

  std::mutex stop_mutex_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;  // guarded by stop_mutex_
  std::thread thread_;
};

}  // namespace contacts::api
