#include "store/store.h"

namespace contacts {
namespace {

// The default: each batch is one upsert_batch.
class PlainImport final : public BulkImport {
 public:
  explicit PlainImport(Store& store) : store_(store) {}
  UpsertCounts upsert_batch(std::span<const ContactValues> rows, int64_t now_us,
                            const JobCheckpoint* checkpoint) override {
    return store_.upsert_batch(rows, now_us, checkpoint);
  }

 private:
  Store& store_;
};

}  // namespace

std::unique_ptr<BulkImport> Store::begin_bulk_import(const BulkImportHint&) {
  return std::make_unique<PlainImport>(*this);
}

}  // namespace contacts
