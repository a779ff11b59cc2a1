// ContactReader over the in-memory snapshot, with a swap for fresh snapshots.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>

#include "index/snapshot.h"
#include "query/reader.h"

namespace contacts::index {

// Thread-safe. Each call works on the snapshot current when it starts.
class IndexReader final : public ContactReader {
 public:
  explicit IndexReader(std::shared_ptr<const Snapshot> snapshot);

  // Makes `snapshot` current for calls that start from now on; bumps generation().
  void replace(std::shared_ptr<const Snapshot> snapshot);
  std::shared_ptr<const Snapshot> snapshot() const;

  ListPage list(const ListQuery& q) const override;
  uint64_t count(const ContactFilter& filter) const override;
  std::optional<Contact> get(int64_t id) const override;
  AnalyticsSnapshot analytics(const AnalyticsQuery& q) const override;
  FieldPage field_values(const FieldQuery& q) const override;
  // Reads the snapshot current when called, to the end (see index/snapshot_stream.h).
  std::unique_ptr<ContactStream> stream(const ListQuery& q) const override;
  uint64_t generation() const override { return generation_.load(); }
  uint64_t data_version() const override { return snapshot()->data_version; }

 private:
  mutable std::mutex mutex_;
  std::shared_ptr<const Snapshot> snapshot_;
  std::atomic<uint64_t> generation_{1};
};

}  // namespace contacts::index
