// Which reader answers a read: the in-memory read index (fed by the primary store), SQL on the
// primary while the index catches up with an import finished elsewhere, or a read replica when
// one is configured, asked for, reachable, recent enough and not older than what was published.
//
// "Published" is api::Freshness::published() (see api/freshness.h for the rule): no read
// answers from data older than it, which is what makes "no reader sees pre-import results
// after the job says completed" hold across instances.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

#include "api/freshness.h"
#include "query/reader.h"

namespace contacts::api {

struct ReadTarget {
  const ContactReader* reader;  // never null
  bool replica;                 // meta.using_replica
  uint64_t version;  // the answer shows data of at least this data_version
};

struct ReadPaths {
  const ContactReader& index;
  const ContactReader* primary_sql = nullptr;  // PostgreSQL: answers while the index is behind
  const ContactReader* replica = nullptr;
};

// Thread-safe. With a replica, a background probe compares the replica's data_version with
// the primary's every `probe_interval`: the replica's lag is how long ago the primary first
// had data the replica still lacks (0 when both hold the same data). A replica that does not
// answer, or lags more than `max_lag`, is not used until a later probe finds it healthy.
class ReadRouter {
 public:
  // `freshness` says which version a read must show at least, and is told when a read finds
  // the index older than that. It must have been given the same index and SQL on the primary
  // as `paths` (throws std::invalid_argument otherwise).
  ReadRouter(ReadPaths paths, Freshness& freshness,
             std::function<uint64_t()> primary_data_version, std::chrono::milliseconds max_lag,
             std::chrono::milliseconds probe_interval = std::chrono::milliseconds(250));
  ~ReadRouter();
  ReadRouter(const ReadRouter&) = delete;
  ReadRouter& operator=(const ReadRouter&) = delete;

  // Picks: the replica when `want_replica` and it is usable and holds the published version;
  // else the index when it does; else (Freshness::index_behind() woken) SQL on the primary,
  // or, without one, the index.
  ReadTarget route(bool want_replica);
  bool has_replica() const { return replica_ != nullptr; }
  bool replica_usable() const { return replica_usable_.load(); }
  // Called when a request on the replica found it unreachable: stop using it until the next
  // probe says otherwise.
  void replica_failed() { replica_usable_ = false; }
  // Runs one probe now (tests, and the first decision at start-up).
  void probe();

 private:
  using Clock = std::chrono::steady_clock;

  const ContactReader& index_;
  const ContactReader* primary_sql_;
  const ContactReader* replica_;
  Freshness& freshness_;
  std::function<uint64_t()> primary_data_version_;
  const std::chrono::milliseconds max_lag_;
  const std::chrono::milliseconds probe_interval_;
  std::atomic<bool> replica_usable_{false};
  std::atomic<uint64_t> replica_version_{0};  // as of the last probe

  std::mutex probe_mutex_;
  // Primary data_versions the replica had not reached yet, with when each was first seen.
  std::deque<std::pair<Clock::time_point, uint64_t>> unreplicated_;  // guarded by probe_mutex_

  std::mutex stop_mutex_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;  // guarded by stop_mutex_
  std::thread thread_;
};

}  // namespace contacts::api
