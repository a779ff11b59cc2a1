// The embedded store: one SQLite file (WAL) in the data directory.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "store/sqlite/sqlite_handle.h"
#include "store/sqlite/wal_checkpointer.h"
#include "store/store.h"

namespace contacts {

struct SqliteOptions {
  // The WAL is copied into the database (a checkpoint, in the background) each time a commit
  // leaves it over this size: an import checkpoints seldom, and the WAL stays about that small.
  int64_t wal_checkpoint_bytes = int64_t{64} << 20;
};

class SqliteStore final : public Store {
 public:
  // Opens or creates `<data_dir>/contacts.db` and applies the schema. Throws on failure.
  explicit SqliteStore(const std::string& data_dir, SqliteOptions options = {});
  ~SqliteStore() override;

  UpsertCounts upsert_batch(std::span<const ContactValues> rows, int64_t now_us,
                            const JobCheckpoint* checkpoint = nullptr) override;
  using Store::begin_bulk_import;
  std::unique_ptr<BulkImport> begin_bulk_import(const BulkImportHint& hint) override;
  // Announces every write of contacts; while a listener is set, rows find their contact by
  // e-mail before writing it (write_rows) instead of going through the upsert, which learns
  // no ids.
  bool set_commit_listener(CommitListener listener) override;
  void scan(uint64_t since_version, const std::function<void(Contact&&)>& fn) const override;
  uint64_t data_version() const override;
  uint64_t store_id() const override;
  uint64_t count() const override;
  int64_t save_user(const std::string& username, const std::string& password_hash,
                    bool is_staff) override;
  std::optional<UserRecord> find_user(std::string_view username) const override;
  bool update_user(std::string_view username, const std::optional<std::string>& password_hash,
                   std::optional<bool> is_staff) override;
  bool delete_user(std::string_view username) override;
  ImportJob create_job(const std::string& upload_file_path, int64_t now_us) override;
  std::optional<ImportJob> get_job(int64_t id) const override;
  JobCounts count_jobs() const override;
  std::optional<ImportJob> claim_job(const std::string& worker, int64_t now_us,
                                     int64_t lease_until_us) override;
  bool renew_lease(int64_t job_id, const std::string& worker, int64_t lease_until_us) override;
  bool finish_job(int64_t job_id, const std::string& worker, const std::string& status,
                  const std::string& message, const std::string& error_file_path,
                  int64_t now_us) override;

  const std::string& path() const { return path_; }

 private:
  struct WriteStatements;
  class EmailTable;
  class Bulk;
  // One transaction: a new data version, the rows (through `emails` while it is set and the
  // e-mail index is absent; `emails` is reset once the index exists), the checkpoint.
  UpsertCounts write_batch(std::span<const ContactValues> rows, int64_t now_us,
                           const JobCheckpoint* checkpoint, std::unique_ptr<EmailTable>& emails);
  UpsertCounts upsert_rows(std::span<const ContactValues> rows, int64_t now_us, int64_t version);
  // Each row updates the contact of its e-mail, found in `emails` (a bulk load without the
  // e-mail index) or else in the index, or is inserted; records their ids for the listener.
  UpsertCounts write_rows(std::span<const ContactValues> rows, int64_t now_us, int64_t version,
                          EmailTable* emails);
  void build_email_index();
  std::string path_;
  mutable std::mutex write_mutex_;  // guards write_db_ and write_
  sqlite::DbHandle write_db_;
  std::unique_ptr<WriteStatements> write_;
  mutable std::mutex read_mutex_;  // guards read_db_: cheap reads never wait for a write batch
  sqlite::DbHandle read_db_;
  std::unique_ptr<sqlite::WalCheckpointer> checkpointer_;  // before write_db_ closes
  CommitListener commit_listener_;  // guarded by write_mutex_
  // The ids and created_at of the rows write_rows wrote, for commit_listener_.
  std::vector<int64_t> written_ids_, written_created_;
};

}  // namespace contacts
