#include "store/postgres/postgres_store.h"

#include <cstdlib>
#include <stdexcept>
#include <unordered_map>

#include "store/postgres/postgres_schema.h"
#include "util/text.h"
#include "util/time.h"

namespace contacts {
namespace {

// Taken (per transaction) by migrate(): any 64-bit constant unique to this application.
constexpr int64_t kMigrationLockKey = 0x636f6e7461637473;  // "contacts"
constexpr int kScanFetchRows = 2000;
constexpr const char* kJobsChannel = "contacts_import_jobs";
// Payload: the data_version a finished job recorded.
constexpr const char* kPublishedChannel = "contacts_data_published";

std::string staging_table_sql() {
  std::string sql = "CREATE TEMP TABLE contacts_staging(seq integer NOT NULL, email_key text,";
  for (const auto& f : text_fields()) sql += std::string(f.name) + " text NOT NULL,";
  for (const auto& f : number_fields()) sql += std::string(f.name) + " bigint,";
  for (const auto& f : text_fields()) sql += pg::folded_column(f) + " text,";
  return sql + pg::kSearchColumn + " text NOT NULL, meta_data text NOT NULL) ON COMMIT DROP";
}

std::string copy_sql() {
  return "COPY contacts_staging(seq,email_key," + pg::contact_value_columns() + "," +
         pg::folded_columns() + ") FROM STDIN";
}

// Inserts the staged rows in `seq` order; returns one row: (inserted, updated).
std::string merge_sql() {
  std::string values;  // text and number columns, as staged
  std::string folded;  // folded columns, as staged
  std::string updates;
  auto update = [&](const std::string& name) { updates += name + "=EXCLUDED." + name + ","; };
  for (const auto& f : text_fields()) values += std::string(f.name) + ",";
  for (const auto& f : number_fields()) values += std::string(f.name) + ",";
  for (const auto& f : text_fields()) folded += pg::folded_column(f) + ",";
  folded += pg::kSearchColumn;
  for (const auto& f : text_fields()) update(std::string(f.name));
  for (const auto& f : number_fields()) update(std::string(f.name));
  for (const auto& f : text_fields()) update(pg::folded_column(f));
  update(pg::kSearchColumn);
  return "WITH written AS (INSERT INTO contacts(email_key," + pg::contact_value_columns() + "," +
         pg::folded_columns() + ",created_at,updated_at,version) SELECT email_key," + values +
         "coalesce(nullif(meta_data, ''), '{}')::jsonb," + folded +
         ", $1::bigint, $1::bigint, $2::bigint "
         "FROM contacts_staging ORDER BY seq "
         "ON CONFLICT (email_key) WHERE email_key IS NOT NULL DO UPDATE SET " +
         updates +
         "meta_data=EXCLUDED.meta_data, updated_at=EXCLUDED.updated_at, "
         "version=EXCLUDED.version RETURNING (xmax = 0) AS inserted) "
         "SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) "
         "FROM written";
}

std::string scan_sql() {
  return "DECLARE contacts_scan NO SCROLL CURSOR FOR SELECT " + pg::contact_select_columns(true) +
         " FROM contacts WHERE version > $1::bigint ORDER BY id";
}

// One staged row: the values of the last row of the batch with this email key, at the position
// of the first one, so ids are assigned in the order rows first appear (as in SqliteStore).
struct StagedRow {
  const ContactValues* values;
  std::optional<std::string> email_key;
};

void append_line(std::string& data, size_t seq, const StagedRow& row) {
  data += std::to_string(seq);
  data += '\t';
  if (row.email_key)
    pg::append_copy_field(data, *row.email_key);
  else
    data += "\\N";
  for (const std::string& v : row.values->text) {
    data += '\t';
    pg::append_copy_field(data, v);
  }
  for (const auto& v : row.values->numbers) {
    data += '\t';
    if (v)
      data += std::to_string(*v);
    else
      data += "\\N";
  }
  data += '\t';
  pg::append_copy_field(data, row.values->meta_data_json);
  pg::append_folded_fields(data, *row.values);
  data += '\n';
}

constexpr const char* kJobColumns =
    "id, status, total_rows, success_count, error_count, errors_file_bytes, upload_file_path, "
    "error_file_path, message, started_at, finished_at, created_at, updated_at, data_version";

ImportJob read_job(const pg::Result& r, int row) {
  ImportJob j;
  j.id = r.int64(row, 0);
  j.status = r.text(row, 1);
  j.total_rows = static_cast<uint64_t>(r.int64(row, 2));
  j.success_count = static_cast<uint64_t>(r.int64(row, 3));
  j.error_count = static_cast<uint64_t>(r.int64(row, 4));
  j.errors_file_bytes = static_cast<uint64_t>(r.int64(row, 5));
  j.upload_file_path = r.text(row, 6);
  j.error_file_path = r.text(row, 7);
  j.message = r.text(row, 8);
  j.started_at_us = r.optional_int64(row, 9);
  j.finished_at_us = r.optional_int64(row, 10);
  j.created_at_us = r.int64(row, 11);
  j.updated_at_us = r.int64(row, 12);
  j.data_version = static_cast<uint64_t>(r.int64(row, 13));
  return j;
}

}  // namespace

PostgresStore::PostgresStore(const std::string& url, size_t pool_size)
    : url_(url), pool_(std::make_unique<pg::PgPool>(url, pool_size)) {
  migrate();
}

PostgresStore::~PostgresStore() = default;

void PostgresStore::migrate() {
  auto lease = pool_->acquire();
  PGconn* c = lease.get();
  pg::Transaction tx(c);
  pg::exec(c, "SELECT pg_advisory_xact_lock($1::bigint)", pg::Params().add(kMigrationLockKey));
  pg::exec(c,
           "CREATE TABLE IF NOT EXISTS schema_migrations(version integer PRIMARY KEY, "
           "applied_at timestamptz NOT NULL DEFAULT now())");
  const pg::Result applied = pg::exec(c, "SELECT coalesce(max(version), 0) FROM schema_migrations");
  const int64_t current = applied.int64(0, 0);
  for (const pg::Migration& m : pg::migrations()) {
    if (m.version <= current) continue;
    pg::exec(c, m.sql);
    if (m.backfill) m.backfill(c);
    if (!m.sql_after_backfill.empty()) pg::exec(c, m.sql_after_backfill);
    pg::exec(c, "INSERT INTO schema_migrations(version, applied_at) VALUES($1::integer, now())",
             pg::Params().add(int64_t{m.version}));
  }
  // A bulk import that stopped before its end (killed) left the search index out. (Looked up
  // first: CREATE INDEX IF NOT EXISTS would lock the table even when the index exists.)
  if (pg::exec(c, "SELECT to_regclass('contacts_search_trgm') IS NULL").text(0, 0) == "t") {
    pg::exec(c, pg::kSearchIndexSql);
  }
  tx.commit();
}

// A bulk import into an empty contacts table loads without the trigram index on
// search_folded (its upkeep was most of an upsert's time: hundreds of trigrams a row) and
// builds it once at the end, as CREATE INDEX does best. Meanwhile the SQL read paths search
// without it (slower, same answers). The e-mail index stays: upserts need it.
class PostgresStore::Bulk final : public BulkImport {
 public:
  explicit Bulk(PostgresStore& store) : store_(store) {
    auto lease = store_.pool_->acquire();
    PGconn* c = lease.get();
    pg::Transaction tx(c);
    // No writer can add a row between the check and the drop.
    pg::exec(c, "LOCK TABLE contacts IN SHARE ROW EXCLUSIVE MODE");
    if (pg::exec(c, "SELECT NOT EXISTS(SELECT 1 FROM contacts)").text(0, 0) == "t") {
      pg::exec(c, "DROP INDEX IF EXISTS contacts_search_trgm");
      dropped_ = true;
    }
    tx.commit();
  }
  ~Bulk() override {
    try {
      finish();
    } catch (const std::exception&) {
      // The next opening of the store (migrate) builds it.
    }
  }

  UpsertCounts upsert_batch(std::span<const ContactValues> rows, int64_t now_us,
                            const JobCheckpoint* checkpoint) override {
    return store_.upsert_batch(rows, now_us, checkpoint);
  }

  void finish() override {
    if (!dropped_) return;
    auto lease = store_.pool_->acquire();
    PGconn* c = lease.get();
    pg::exec(c, "SET maintenance_work_mem = '256MB'");
    pg::exec(c, pg::kSearchIndexSql);
    pg::exec(c, "RESET maintenance_work_mem");
    dropped_ = false;
  }

 private:
  PostgresStore& store_;
  bool dropped_ = false;
};

std::unique_ptr<BulkImport> PostgresStore::begin_bulk_import() {
  return std::make_unique<Bulk>(*this);
}

UpsertCounts PostgresStore::upsert_batch(std::span<const ContactValues> rows, int64_t now_us,
                                         const JobCheckpoint* checkpoint) {
  UpsertCounts counts;
  std::vector<StagedRow> staged;
  staged.reserve(rows.size());
  std::unordered_map<std::string, size_t> slot_of_key;
  for (const ContactValues& row : rows) {
    const std::string& email = row[TextField::email];
    if (email.empty()) {
      staged.push_back({&row, std::nullopt});
      continue;
    }
    std::string key = text::fold(email);
    const auto [it, fresh] = slot_of_key.try_emplace(key, staged.size());
    if (fresh) {
      staged.push_back({&row, std::move(key)});
    } else {
      staged[it->second].values = &row;  // a later row of the batch replaces the earlier one
      ++counts.updated;
    }
  }

  auto lease = pool_->acquire();
  PGconn* c = lease.get();
  pg::Transaction tx(c);
  // The row lock on data_version also serialises writers, so versions commit in order.
  const int64_t version =
      pg::exec(c,
               "UPDATE store_meta SET value = value + 1 WHERE key = 'data_version' "
               "RETURNING value")
          .int64(0, 0);
  if (checkpoint) {
    const pg::Result cp = pg::exec(
        c,
        "UPDATE import_jobs SET total_rows = $1::bigint, success_count = $2::bigint, "
        "error_count = $3::bigint, errors_file_bytes = $4::bigint, updated_at = $5::bigint "
        "WHERE id = $6::bigint AND worker = $7 AND status = 'running'",
        pg::Params()
            .add(static_cast<int64_t>(checkpoint->total_rows))
            .add(static_cast<int64_t>(checkpoint->success_count))
            .add(static_cast<int64_t>(checkpoint->error_count))
            .add(static_cast<int64_t>(checkpoint->errors_file_bytes))
            .add(now_us)
            .add(checkpoint->job_id)
            .add(checkpoint->worker));
    if (cp.affected() != 1) throw LeaseLostError();  // ~Transaction rolls back
  }
  if (!staged.empty()) {
    static const std::string kStagingSql = staging_table_sql();
    static const std::string kCopySql = copy_sql();
    static const std::string kMergeSql = merge_sql();
    pg::exec(c, kStagingSql);
    std::string data;
    data.reserve(staged.size() * 256);
    for (size_t i = 0; i < staged.size(); ++i) append_line(data, i, staged[i]);
    pg::copy_in(c, kCopySql, data);
    const pg::Result merged = pg::exec(c, kMergeSql, pg::Params().add(now_us).add(version));
    counts.inserted += static_cast<uint64_t>(merged.int64(0, 0));
    counts.updated += static_cast<uint64_t>(merged.int64(0, 1));
  }
  tx.commit();
  return counts;
}

void PostgresStore::scan(uint64_t since_version, const std::function<void(Contact&&)>& fn) const {
  static const std::string kScanSql = scan_sql();
  auto lease = pool_->acquire();
  PGconn* c = lease.get();
  pg::Transaction tx(c, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
  pg::exec(c, kScanSql, pg::Params().add(static_cast<int64_t>(since_version)));
  const std::string fetch = "FETCH " + std::to_string(kScanFetchRows) + " FROM contacts_scan";
  for (;;) {
    const pg::Result r = pg::exec(c, fetch);
    for (int row = 0; row < r.rows(); ++row) fn(pg::read_contact(r, row));
    if (r.rows() < kScanFetchRows) break;
  }
  tx.commit();
}

uint64_t PostgresStore::data_version() const {
  auto lease = pool_->acquire();
  return static_cast<uint64_t>(
      pg::exec(lease.get(), "SELECT value FROM store_meta WHERE key = 'data_version'").int64(0, 0));
}

uint64_t PostgresStore::store_id() const {
  auto lease = pool_->acquire();
  return static_cast<uint64_t>(
      pg::exec(lease.get(), "SELECT value FROM store_meta WHERE key = 'store_id'").int64(0, 0));
}

uint64_t PostgresStore::count() const {
  auto lease = pool_->acquire();
  return static_cast<uint64_t>(pg::exec(lease.get(), "SELECT count(*) FROM contacts").int64(0, 0));
}

uint64_t PostgresStore::estimated_count() const {
  int64_t estimate;
  {
    auto lease = pool_->acquire();
    estimate = pg::exec(lease.get(),
                        "SELECT reltuples::bigint FROM pg_class WHERE oid = 'contacts'::regclass")
                   .int64(0, 0);
  }  // released: count() takes its own connection
  // reltuples is -1 until the table was first analysed (or vacuumed): count then.
  return estimate >= 0 ? static_cast<uint64_t>(estimate) : count();
}

void PostgresStore::refresh_statistics() {
  auto lease = pool_->acquire();
  pg::exec(lease.get(), "ANALYZE contacts");
}

StoreNotices PostgresStore::wait_for_notices(std::chrono::milliseconds timeout) {
  std::lock_guard lock(listen_mutex_);
  StoreNotices notices;
  try {
    if (!listener_ || PQstatus(listener_.get()) != CONNECTION_OK) {
      listener_.reset();
      listener_ = pg::connect(url_);
      pg::exec(listener_.get(), std::string("LISTEN ") + kJobsChannel);
      pg::exec(listener_.get(), std::string("LISTEN ") + kPublishedChannel);
      // Notices sent while nobody listened are lost: report what they could have said.
      notices.jobs_queued = true;
      notices.published_version = static_cast<uint64_t>(
          pg::exec(listener_.get(), "SELECT value FROM store_meta WHERE key = 'data_version'")
              .int64(0, 0));
    }
  } catch (const std::exception&) {
    listener_.reset();
    std::this_thread::sleep_for(timeout);
    return {};
  }
  PGconn* c = listener_.get();
  if (!pg::wait_readable(c, timeout)) return notices;
  if (PQconsumeInput(c) == 0) {
    listener_.reset();  // connection lost; the next call reconnects and reports a catch-up
    return notices;
  }
  while (PGnotify* n = PQnotifies(c)) {
    if (std::string_view(n->relname) == kPublishedChannel) {
      const uint64_t v = std::strtoull(n->extra, nullptr, 10);
      if (v > notices.published_version) notices.published_version = v;
    } else {
      notices.jobs_queued = true;
    }
    PQfreemem(n);
  }
  return notices;
}

uint64_t PostgresStore::publish_data_version() {
  auto lease = pool_->acquire();
  const pg::Result r = pg::exec(
      lease.get(),
      "SELECT value, pg_notify($1, value::text) FROM store_meta WHERE key = 'data_version'",
      pg::Params().add(std::string_view(kPublishedChannel)));
  return static_cast<uint64_t>(r.int64(0, 0));
}

int64_t PostgresStore::save_user(const std::string& username, const std::string& password_hash,
                                 bool is_staff) {
  auto lease = pool_->acquire();
  return pg::exec(
             lease.get(),
             "INSERT INTO users(username, password_hash, is_staff, created_at) "
             "VALUES($1, $2, $3::boolean, $4::bigint) ON CONFLICT(username) DO UPDATE SET "
             "password_hash = EXCLUDED.password_hash, is_staff = EXCLUDED.is_staff "
             "RETURNING id",
             pg::Params().add(username).add(password_hash).add(is_staff).add(timeutil::now_us()))
      .int64(0, 0);
}

bool PostgresStore::update_user(std::string_view username,
                                const std::optional<std::string>& password_hash,
                                std::optional<bool> is_staff) {
  auto lease = pool_->acquire();
  pg::Params params;
  if (password_hash) params.add(*password_hash); else params.add_null();
  if (is_staff) params.add(*is_staff); else params.add_null();
  params.add(username);
  return pg::exec(lease.get(),
                  "UPDATE users SET password_hash = coalesce($1, password_hash), "
                  "is_staff = coalesce($2::boolean, is_staff) WHERE username = $3",
                  params)
             .affected() == 1;
}

bool PostgresStore::delete_user(std::string_view username) {
  auto lease = pool_->acquire();
  return pg::exec(lease.get(), "DELETE FROM users WHERE username = $1",
                  pg::Params().add(username))
             .affected() == 1;
}

std::optional<UserRecord> PostgresStore::find_user(std::string_view username) const {
  auto lease = pool_->acquire();
  const pg::Result r = pg::exec(lease.get(),
                                "SELECT id, username, password_hash, is_staff, is_active "
                                "FROM users WHERE username = $1",
                                pg::Params().add(username));
  if (r.rows() == 0) return std::nullopt;
  UserRecord u;
  u.id = r.int64(0, 0);
  u.username = r.text(0, 1);
  u.password_hash = r.text(0, 2);
  u.is_staff = r.boolean(0, 3);
  u.is_active = r.boolean(0, 4);
  return u;
}

ImportJob PostgresStore::create_job(const std::string& upload_file_path, int64_t now_us) {
  auto lease = pool_->acquire();
  pg::Transaction tx(lease.get());
  const pg::Result r =
      pg::exec(lease.get(),
               std::string("INSERT INTO import_jobs(status, upload_file_path, message, created_at, "
                           "updated_at) VALUES('pending', $1, 'Queued', $2::bigint, $2::bigint) "
                           "RETURNING ") +
                   kJobColumns,
               pg::Params().add(upload_file_path).add(now_us));
  // Delivered to every LISTENing worker when the job's row is committed.
  pg::exec(lease.get(), std::string("NOTIFY ") + kJobsChannel);
  tx.commit();
  return read_job(r, 0);
}

std::optional<ImportJob> PostgresStore::get_job(int64_t id) const {
  auto lease = pool_->acquire();
  const pg::Result r = pg::exec(
      lease.get(), std::string("SELECT ") + kJobColumns + " FROM import_jobs WHERE id = $1::bigint",
      pg::Params().add(id));
  if (r.rows() == 0) return std::nullopt;
  return read_job(r, 0);
}

JobCounts PostgresStore::count_jobs() const {
  auto lease = pool_->acquire();
  const pg::Result r =
      pg::exec(lease.get(), "SELECT status, count(*) FROM import_jobs GROUP BY status");
  JobCounts counts;
  for (int i = 0; i < r.rows(); ++i) counts.add(r.text(i, 0), static_cast<uint64_t>(r.int64(i, 1)));
  return counts;
}

std::optional<ImportJob> PostgresStore::claim_job(const std::string& worker, int64_t now_us,
                                                  int64_t lease_until_us) {
  auto lease = pool_->acquire();
  PGconn* c = lease.get();
  pg::Transaction tx(c);
  // SKIP LOCKED: a job another transaction is claiming right now is not this caller's.
  const pg::Result candidate =
      pg::exec(c,
               "SELECT id FROM import_jobs WHERE status = 'pending' OR (status = 'running' AND "
               "lease_expires_at < $1::bigint) ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED",
               pg::Params().add(now_us));
  if (candidate.rows() == 0) {
    tx.commit();
    return std::nullopt;
  }
  const pg::Result r =
      pg::exec(c,
               std::string("UPDATE import_jobs SET status = 'running', message = 'Processing', "
                           "worker = $1, lease_expires_at = $2::bigint, "
                           "started_at = coalesce(started_at, $3::bigint), updated_at = $3::bigint "
                           "WHERE id = $4::bigint RETURNING ") +
                   kJobColumns,
               pg::Params().add(worker).add(lease_until_us).add(now_us).add(candidate.int64(0, 0)));
  ImportJob job = read_job(r, 0);
  tx.commit();
  return job;
}

bool PostgresStore::renew_lease(int64_t job_id, const std::string& worker, int64_t lease_until_us) {
  auto lease = pool_->acquire();
  return pg::exec(lease.get(),
                  "UPDATE import_jobs SET lease_expires_at = $1::bigint WHERE id = $2::bigint "
                  "AND worker = $3 AND status = 'running'",
                  pg::Params().add(lease_until_us).add(job_id).add(worker))
             .affected() == 1;
}

bool PostgresStore::finish_job(int64_t job_id, const std::string& worker, const std::string& status,
                               const std::string& message, const std::string& error_file_path,
                               int64_t now_us) {
  auto lease = pool_->acquire();
  pg::Transaction tx(lease.get());
  const pg::Result r =
      pg::exec(lease.get(),
               "UPDATE import_jobs SET status = $1, message = $2, error_file_path = $3, "
               "finished_at = $4::bigint, updated_at = $4::bigint, lease_expires_at = 0, "
               "data_version = (SELECT value FROM store_meta WHERE key = 'data_version') "
               "WHERE id = $5::bigint AND worker = $6 AND status = 'running' "
               "RETURNING data_version",
               pg::Params()
                   .add(status)
                   .add(message)
                   .add(error_file_path)
                   .add(now_us)
                   .add(job_id)
                   .add(worker));
  if (r.rows() != 1) return false;
  // Every process LISTENing learns, once this commits, that readers must show this version.
  pg::exec(lease.get(), "SELECT pg_notify($1, $2)",
           pg::Params().add(std::string_view(kPublishedChannel)).add(r.text(0, 0)));
  tx.commit();
  return true;
}

}  // namespace contacts
