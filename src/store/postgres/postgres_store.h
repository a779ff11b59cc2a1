// The server store: PostgreSQL, shared by every API and worker process.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "store/postgres/pg_pool.h"
#include "store/postgres/search_index_builder.h"
#include "store/store.h"

namespace contacts {

// Each call borrows one connection from a pool of at most `pool_size`, so calls from several
// threads run concurrently; writers of contacts serialise on the data_version row. Ids come
// from an identity column: never reused, but not gap-free (an upsert that updates still uses
// up a sequence value). meta_data is stored as jsonb, so it comes back re-serialised (same
// object; key order and whitespace as jsonb prints them). Text values must not contain NUL.
class PostgresStore final : public Store {
 public:
  // Connects to `url` (libpq URI or key=value string) and applies pending migrations.
  // Throws std::runtime_error when the database cannot be reached or migrated. With
  // BackgroundWork::left_to_services, this process never builds the search index (neither
  // after a bulk import nor at opening): it leaves it to serve and worker processes.
  explicit PostgresStore(const std::string& url, size_t pool_size = 8,
                         BackgroundWork background = BackgroundWork::here);
  ~PostgresStore() override;

  // Applies every migration not yet recorded in schema_migrations, in one transaction under
  // an advisory lock, so several processes may call it at once. Idempotent. Builds the
  // indexes a stopped bulk import left out (the search index in the background).
  void migrate();

  UpsertCounts upsert_batch(std::span<const ContactValues> rows, int64_t now_us,
                            const JobCheckpoint* checkpoint = nullptr) override;
  // Into an empty table: rows are copied straight in and indexes built at the end (see Bulk).
  // Into a table at most twice the import's expected size: the search index is left out
  // and built again after it.
  using Store::begin_bulk_import;
  std::unique_ptr<BulkImport> begin_bulk_import(const BulkImportHint& hint) override;
  // Waits for the search index being built in the background (search_index_builder.h).
  void wait_for_background_work() override;
  // Builds the search index in the background when it is missing or invalid and no other
  // process is at it (a CLI import left it to us).
  void resume_background_work() override;
  // Reads through a cursor in one REPEATABLE READ snapshot, a few thousand rows at a time.
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
  // LISTEN on a dedicated connection; create_job() and finish_job() NOTIFY in their
  // transactions.
  bool notifies() const override { return true; }
  StoreNotices wait_for_notices(std::chrono::milliseconds timeout) override;
  uint64_t publish_data_version() override;
  // Each write is announced (ids from the write's RETURNING or reserved for its COPY,
  // meta_data as jsonb prints it), unless one of its rows has a meta_data value that
  // pg::jsonb_text does not print as jsonb does.
  bool set_commit_listener(CommitListener listener) override;
  // ANALYZE contacts.
  void refresh_statistics() override;
  // pg_class.reltuples (count(*) before the first ANALYZE).
  uint64_t estimated_count() const override;

 private:
  class Bulk;
  // Builds the B-tree indexes of kSecondaryIndexes that do not exist, on `c`.
  static void build_missing_secondary_indexes(PGconn* c);
  // Commits `tx` and, when a listener is set, calls `tell` with it; this process's writes
  // are told in the order they committed.
  void commit_and_announce(pg::Transaction& tx,
                           const std::function<void(const CommitListener&)>& tell);
  // Starts the search index's build in this process, unless it leaves it to services.
  void start_search_index();
  const std::string url_;
  const BackgroundWork background_;
  std::unique_ptr<pg::PgPool> pool_;
  std::mutex listen_mutex_;
  pg::ConnHandle listener_;  // guarded by listen_mutex_
  std::mutex announce_mutex_;
  CommitListener commit_listener_;  // guarded by announce_mutex_
  std::unique_ptr<pg::SearchIndexBuilder> search_index_;  // destroyed first: cancels its build
};

}  // namespace contacts
