#include "api/freshness.h"

#include <algorithm>
#include <chrono>
#include <thread>

namespace contacts::api {

Freshness::Freshness(Store& store, ResponseCache& cache) : Freshness(store, cache, Reads{}) {}

Freshness::Freshness(Store& store, ResponseCache& cache, Reads reads)
    : store_(store), cache_(cache), reads_(std::move(reads)) {}

bool Freshness::raise(uint64_t version) {
  const uint64_t before = published_.load();
  uint64_t seen = before;
  while (seen < version && !published_.compare_exchange_weak(seen, version)) {
  }
  return version > before;
}

void Freshness::publish(uint64_t version) {
  raise(version);
  cache_.publish(version);
}

void Freshness::publish_finished_job() {
  if (reads_.refresh_index) reads_.refresh_index();
  const uint64_t version = store_.data_version();
  publish(version);
  wait_until_cache_holds(version);
}

void Freshness::job_rows_written() {
  if (reads_.wake_index) reads_.wake_index();
}

void Freshness::job_started() {
  if (reads_.importing) reads_.importing(true);
}

void Freshness::job_ended() {
  if (reads_.importing) reads_.importing(false);
}

uint64_t Freshness::publish_store_writes() {
  const uint64_t version = store_.publish_data_version();
  publish(version);
  wait_until_cache_holds(version);
  return version;
}

void Freshness::wait_until_cache_holds(uint64_t version) {
  const auto until = std::chrono::steady_clock::now() + kCacheAcknowledgeWait;
  while (!cache_.holds_published(version) && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

void Freshness::learn_from_notice(uint64_t version) { publish(version); }

bool Freshness::learn_from_shared_cache(uint64_t version) { return raise(version); }

bool Freshness::learn_from_store() {
  try {
    return raise(store_.data_version());
  } catch (const std::exception&) {
    return false;  // the store is down too: no job can finish meanwhile
  }
}

bool Freshness::may_say_completed(uint64_t version) {
  raise(version);
  if (reads_.primary_sql) return true;
  return reads_.index != nullptr && reads_.index->data_version() >= version;
}

bool Freshness::cached_answer_fresh(uint64_t entry_version, uint64_t reader_version) const {
  return entry_version >= std::max(published(), reader_version);
}

void Freshness::index_behind() {
  if (reads_.wake_index) reads_.wake_index();
}

}  // namespace contacts::api
