// Store: the durable source of truth for contacts (and, later, users and import jobs).
// Reads for the API go through the read index (index/), which is loaded from a Store.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>

#include "model/contact.h"

namespace contacts {

// A user who can sign in. Only a salted, slow hash of the password is ever stored.
struct UserRecord {
  int64_t id = 0;
  std::string username;
  std::string password_hash;
  bool is_staff = false;  // admin: may use the import endpoints
  bool is_active = true;
};

// An import job (contract section 8). Times in microseconds since the epoch.
struct ImportJob {
  int64_t id = 0;
  std::string status;  // "pending", "running", "completed" or "failed"
  uint64_t total_rows = 0;
  uint64_t success_count = 0;
  uint64_t error_count = 0;
  uint64_t errors_file_bytes = 0;  // size of the errors CSV at the last checkpoint
  std::string upload_file_path;
  std::string error_file_path;  // "" until the job finishes with errors
  std::string message;          // "Queued", "Processing", "Completed" or why it failed
  std::optional<int64_t> started_at_us;
  std::optional<int64_t> finished_at_us;
  int64_t created_at_us = 0;
  int64_t updated_at_us = 0;
  uint64_t data_version = 0;  // the store's data_version when the job finished
};

// How many import jobs are in each state.
struct JobCounts {
  uint64_t pending = 0;
  uint64_t running = 0;  // includes jobs whose worker died and whose lease has not been taken
  uint64_t completed = 0;
  uint64_t failed = 0;
  // Adds `n` jobs of `status` (as ImportJob::status has it; others are ignored).
  void add(std::string_view status, uint64_t n) {
    if (status == "pending") pending += n;
    if (status == "running") running += n;
    if (status == "completed") completed += n;
    if (status == "failed") failed += n;
  }
};

// What other connections announced; see Store::wait_for_notices().
struct StoreNotices {
  bool jobs_queued = false;
  // The newest data_version a finished job recorded (finish_job); 0 = none announced.
  uint64_t published_version = 0;
};

// Progress of a running job, committed in the same transaction as the rows it counts.
struct JobCheckpoint {
  int64_t job_id = 0;
  std::string worker;  // the claim this progress belongs to
  uint64_t total_rows = 0;
  uint64_t success_count = 0;
  uint64_t error_count = 0;
  uint64_t errors_file_bytes = 0;
};

// Thrown by any store call when the database cannot be reached (server down, connection
// lost). The API answers it with 503; the next call tries again.
class StoreUnavailable : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Thrown by upsert_batch when the checkpoint's worker no longer holds the job.
class LeaseLostError : public std::runtime_error {
 public:
  LeaseLostError() : std::runtime_error("import job lease lost") {}
};

struct UpsertCounts {
  uint64_t inserted = 0;
  uint64_t updated = 0;
};

// What a store may know of a large import before it starts.
struct BulkImportHint {
  // About how many rows the import will write (0: unknown), e.g. from the file's size.
  uint64_t expected_rows = 0;
  // From the size of a CSV file: rows of Apollo-style exports take 400 to 700 bytes.
  static BulkImportHint for_file_bytes(uint64_t bytes) { return {bytes / 500}; }
};

// The rows of one committed write, as the store now holds them (Store::set_commit_listener).
struct CommittedRows {
  uint64_t version = 0;  // the data_version the write committed as
  int64_t now_us = 0;    // every row's updated_at
  std::span<const ContactValues> rows;
  std::span<const int64_t> ids;            // rows[i] is now contact ids[i]
  std::span<const int64_t> created_at_us;  // and was created then
  // When not empty, rows[i]'s meta_data as the store keeps it (PostgreSQL prints jsonb its
  // own way: key order, spacing), which replaces rows[i].meta_data_json.
  std::span<const std::string> meta_data_json;
};
using CommitListener = std::function<void(const CommittedRows&)>;

// One large import's writes (a CLI import or a job), batch by batch: Store::upsert_batch's
// contract, with room for the store to load faster while it lasts. Used from one thread.
class BulkImport {
 public:
  virtual ~BulkImport() = default;
  // As Store::upsert_batch.
  virtual UpsertCounts upsert_batch(std::span<const ContactValues> rows, int64_t now_us,
                                    const JobCheckpoint* checkpoint = nullptr) = 0;
  // Called once the last batch is in: whatever the store set aside to load faster is restored
  // (an import that stops before is restored by the store's next write or opening).
  virtual void finish() {}
};

// Who does the work a store runs in the background after a bulk import (PostgreSQL: the
// search index of SQL reads, which takes longer than the load): the process that opened it
// (`here`: serve, worker, migrate), or the long-lived processes of the deployment
// (`left_to_services`: the CLI import, which would otherwise wait for it; serve and worker
// start it when they learn of the import, or at their next start).
enum class BackgroundWork { here, left_to_services };

// Safe for concurrent use from several threads: writes are serialised inside the store.
// Failures throw std::runtime_error with a message for logs (never shown to clients).
class Store {
 public:
  virtual ~Store() = default;

  // Writes `rows` in one transaction. A row whose lower-cased (case-folded) non-empty email
  // matches an existing contact replaces every field of it (same id and created_at, new
  // updated_at); other rows become new contacts with fresh ids. Rows are applied in order,
  // so a later row of the same batch wins. With a `checkpoint`, the job's counters are written
  // in the same transaction; when `checkpoint->worker` no longer holds the job (its lease was
  // taken over), nothing is written and LeaseLostError is thrown.
  virtual UpsertCounts upsert_batch(std::span<const ContactValues> rows, int64_t now_us,
                                    const JobCheckpoint* checkpoint = nullptr) = 0;

  // Starts a large import. By default its batches go to upsert_batch; the embedded store
  // loads an empty table without its e-mail index (rows deduplicated by e-mail in memory) and
  // builds the index at the end; PostgreSQL copies rows into an empty table without its read
  // indexes.
  virtual std::unique_ptr<BulkImport> begin_bulk_import(const BulkImportHint& hint);
  std::unique_ptr<BulkImport> begin_bulk_import() { return begin_bulk_import(BulkImportHint{}); }
  // Waits for work the store runs in the background after a bulk import (PostgreSQL: its
  // search index); destroying the store stops that work instead, for the next opening.
  virtual void wait_for_background_work() {}
  // Starts, in the background, that work when another process left it undone (a CLI import
  // ends before it; see BackgroundWork). Returns at once; does nothing when none is due or
  // another process does it.
  virtual void resume_background_work() {}

  // Has the store call `listener` right after each write whose rows it can describe whole
  // (ids and created_at included), in version order, on the writing thread, under a lock of
  // the store's: the listener copies what it keeps and must not call the store. A write it
  // does not describe (another process's, or one of a store that learns no ids) is not
  // announced: the missing version tells the listener to read the store instead. An empty
  // listener stops the calls. Returns false when the store announces nothing.
  virtual bool set_commit_listener(CommitListener listener) {
    (void)listener;
    return false;
  }

  // Calls `fn` for every contact with version > `since_version`, in id order.
  virtual void scan(uint64_t since_version, const std::function<void(Contact&&)>& fn) const = 0;

  // A number that grows with every committed write of contacts.
  virtual uint64_t data_version() const = 0;

  // A random number fixed when the store was created: tells one database from another (or
  // from its own re-creation) for caches kept outside it.
  virtual uint64_t store_id() const = 0;

  virtual uint64_t count() const = 0;

  // Creates `username`, or replaces the password hash and staff flag of the existing user
  // of that name. Returns the user's id.
  virtual int64_t save_user(const std::string& username, const std::string& password_hash,
                            bool is_staff) = 0;
  // The user named `username` (exact match), or nullopt.
  virtual std::optional<UserRecord> find_user(std::string_view username) const = 0;
  // Sets what is given of the user's password hash and staff flag; false when there is no
  // such user. Tokens issued before stop working at once (api::Authenticator checks them).
  virtual bool update_user(std::string_view username, const std::optional<std::string>& password_hash,
                           std::optional<bool> is_staff) = 0;
  // Deletes the user; false when there is none.
  virtual bool delete_user(std::string_view username) = 0;

  // A new job, "pending" with message "Queued".
  virtual ImportJob create_job(const std::string& upload_file_path, int64_t now_us) = 0;
  virtual std::optional<ImportJob> get_job(int64_t id) const = 0;
  // Takes the oldest job that is pending, or running under an expired lease, for `worker`
  // until `lease_until_us`: it becomes "running"/"Processing". nullopt when there is none.
  // Two callers never get the same job while its lease holds.
  virtual std::optional<ImportJob> claim_job(const std::string& worker, int64_t now_us,
                                             int64_t lease_until_us) = 0;
  // The number of jobs in each state, as of now (for /metrics).
  virtual JobCounts count_jobs() const = 0;
  // Extends the lease; false when `worker` no longer holds the job.
  virtual bool renew_lease(int64_t job_id, const std::string& worker, int64_t lease_until_us) = 0;
  // Ends the job as "completed" or "failed" with `message`; false when `worker` no longer
  // holds it. Records the current data_version in the job.
  virtual bool finish_job(int64_t job_id, const std::string& worker, const std::string& status,
                          const std::string& message, const std::string& error_file_path,
                          int64_t now_us) = 0;

  // Cross-process notices (PostgreSQL LISTEN/NOTIFY): when notifies(), wait_for_notices() blocks
  // until another connection queued a job or finished one, or `timeout` passed (an empty
  // result). After (re)connecting the listener both fields are set, since notices may have been
  // missed meanwhile. Only one thread may wait. Stores without notifications return at once;
  // their readers poll instead.
  virtual bool notifies() const { return false; }
  virtual StoreNotices wait_for_notices(std::chrono::milliseconds /*timeout*/) { return {}; }
  // Announces the current data_version as published, as finish_job() does (for writes made
  // outside jobs, e.g. `contacts-api import`). Returns it.
  virtual uint64_t publish_data_version() { return data_version(); }

  // Writes whatever the store keeps for query planning after a large write (PostgreSQL:
  // ANALYZE, so the row-count estimate is current). Default: nothing to do.
  virtual void refresh_statistics() {}

  // The number of contacts as the store estimates it cheaply (PostgreSQL: pg_class.reltuples,
  // within 1% after refresh_statistics()); exact where counting is cheap.
  virtual uint64_t estimated_count() const { return count(); }
};

}  // namespace contacts
