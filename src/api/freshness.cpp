#include "api/freshness.h"

#include <algorithm>

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
  publish(store_.data_version());
}

uint64_t Freshness::publish_store_writes() {
  const uint64_t version = store_.publish_data_version();
  publish(version);
  return version;
}

void Freshness::learn_from_notice(uint64_t version) { publish(version); }

bool Freshness::learn_from_shared_cache(uint64_t version) { return raise(version); }

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
