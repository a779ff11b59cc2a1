#include "api/read_router.h"

#include <exception>
#include <stdexcept>

namespace contacts::api {

ReadRouter::ReadRouter(ReadPaths paths, Freshness& freshness,
                       std::function<uint64_t()> primary_data_version,
                       std::chrono::milliseconds max_lag, std::chrono::milliseconds probe_interval)
    : index_(paths.index),
      primary_sql_(paths.primary_sql),
      replica_(paths.replica),
      freshness_(freshness),
      primary_data_version_(std::move(primary_data_version)),
      max_lag_(max_lag),
      probe_interval_(probe_interval) {
  const Freshness::Reads& reads = freshness_.reads();
  if (reads.index != &index_ || reads.primary_sql != (primary_sql_ != nullptr)) {
    throw std::invalid_argument("ReadRouter: Freshness knows another index or SQL path");
  }
  if (!replica_) return;
  probe();
  thread_ = std::thread([this] {
    std::unique_lock lock(stop_mutex_);
    while (!stop_cv_.wait_for(lock, probe_interval_, [this] { return stopping_; })) {
      lock.unlock();
      probe();
      lock.lock();
    }
  });
}

ReadRouter::~ReadRouter() {
  {
    std::lock_guard lock(stop_mutex_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

ReadTarget ReadRouter::route(bool want_replica) {
  const uint64_t required = freshness_.published();
  if (want_replica && replica_ && replica_usable_.load()) {
    const uint64_t replica_version = replica_version_.load();
    if (replica_version >= required) return {replica_, true, replica_version};
  }
  const uint64_t indexed = index_.data_version();
  if (indexed >= required) return {&index_, false, indexed};
  freshness_.index_behind();
  if (primary_sql_) return {primary_sql_, false, required};
  return {&index_, false, indexed};
}

void ReadRouter::probe() {
  if (!replica_) return;
  std::lock_guard lock(probe_mutex_);
  uint64_t primary_version = 0;
  try {
    primary_version = primary_data_version_();
  } catch (const std::exception&) {
    return;  // the primary cannot tell how far behind the replica is: keep the last decision
  }
  uint64_t replica_version = 0;
  try {
    replica_version = replica_->data_version();
  } catch (const std::exception&) {
    replica_usable_ = false;
    return;
  }
  replica_version_ = replica_version;
  const auto now = Clock::now();
  if (primary_version > replica_version &&
      (unreplicated_.empty() || unreplicated_.back().second < primary_version)) {
    unreplicated_.emplace_back(now, primary_version);
  }
  while (!unreplicated_.empty() && unreplicated_.front().second <= replica_version) {
    unreplicated_.pop_front();
  }
  const auto lag = unreplicated_.empty() ? Clock::duration::zero()
                                         : now - unreplicated_.front().first;
  replica_usable_ = lag <= max_lag_;
}

}  // namespace contacts::api
