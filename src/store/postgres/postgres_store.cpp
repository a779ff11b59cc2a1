#include "store/postgres/postgres_store.h"

#include <xxhash.h>

#include <algorithm>
#include <cstdlib>
#include <numeric>
#include <optional>
#include <stdexcept>
#include <thread>
#include <unordered_map>

#include "store/postgres/jsonb_text.h"
#include "store/postgres/postgres_schema.h"
#include "store/postgres/search_index_builder.h"
#include "util/log.h"
#include "util/release_pages.h"
#include "util/text.h"
#include "util/time.h"

namespace contacts {
namespace {

// Taken (per transaction) by migrate(): any 64-bit constant unique to this application.
constexpr int64_t kMigrationLockKey = 0x636f6e7461637473;  // "contacts"
constexpr const char* kJobsChannel = "contacts_import_jobs";
// Payload: the data_version a finished job recorded.
constexpr const char* kPublishedChannel = "contacts_data_published";

// COPY data is sent in pieces of about this size.
constexpr size_t kCopyPiece = 256 * 1024;

std::string staging_table_sql() {
  std::string sql = "CREATE TEMP TABLE contacts_staging(seq integer NOT NULL, email_key text,";
  for (const auto& f : text_fields()) sql += std::string(f.name) + " text NOT NULL,";
  for (const auto& f : number_fields()) sql += std::string(f.name) + " bigint,";
  for (const auto& f : text_fields()) sql += pg::folded_column(f) + " text,";
  return sql + "meta_data text NOT NULL) ON COMMIT DROP";
}

std::string copy_sql() {
  return "COPY contacts_staging(seq,email_key," + pg::contact_value_columns() + "," +
         pg::folded_columns() + ") FROM STDIN";
}

// Rows a bulk import writes straight into contacts (append_direct_line), with the ids it
// reserved (COPY writes an identity column's values as given).
std::string direct_copy_sql() {
  return "COPY contacts(id,email_key," + pg::contact_value_columns() + "," + pg::folded_columns() +
         ",created_at,updated_at,version) FROM STDIN";
}

// Writes the staged rows; returns a row for each: (seq, id, created_at, NULL, false) for those
// the join updated, (NULL, id, created_at, email_key, inserted) for the others (whose ids
// come from the identity column in seq order; `inserted` false when ON CONFLICT updated). Rows
// whose e-mail key a contact holds update it through a join on the unique e-mail index,
// cheaper than INSERT ... ON CONFLICT, which probes the index again, locks the row and then
// updates it (1M-row re-import: 26.7 s of statements against ~21 s). The others are inserted
// in `seq` order, so ids follow the file; their ON CONFLICT only acts when a writer outside
// data_version's lock (none of ours) added the key meanwhile.
std::string merge_sql() {
  std::string values;  // text and number columns, as staged
  std::string set_staged;
  std::string set_excluded;
  for (const auto& f : text_fields()) values += std::string(f.name) + ",";
  for (const auto& f : number_fields()) values += std::string(f.name) + ",";
  auto assign = [&](const std::string& name) {
    set_staged += name + "=s." + name + ",";
    set_excluded += name + "=EXCLUDED." + name + ",";
  };
  for (const auto& f : text_fields()) assign(std::string(f.name));
  for (const auto& f : number_fields()) assign(std::string(f.name));
  for (const auto& f : text_fields()) assign(pg::folded_column(f));
  const std::string meta = "coalesce(nullif(s.meta_data, ''), '{}')::jsonb";
  return "WITH updated AS (UPDATE contacts c SET " + set_staged + "meta_data=" + meta +
         ", updated_at=$1::bigint, version=$2::bigint FROM contacts_staging s "
         "WHERE c.email_key = s.email_key RETURNING s.seq, c.id, c.created_at), "
         "inserted AS (INSERT INTO contacts(email_key," + pg::contact_value_columns() + "," +
         pg::folded_columns() + ",created_at,updated_at,version) SELECT s.email_key," + values +
         meta + "," + pg::folded_columns() +
         ", $1::bigint, $1::bigint, $2::bigint "
         "FROM contacts_staging s WHERE s.seq NOT IN (SELECT seq FROM updated) ORDER BY s.seq "
         "ON CONFLICT (email_key) WHERE email_key IS NOT NULL DO UPDATE SET " +
         set_excluded +
         "meta_data=EXCLUDED.meta_data, updated_at=EXCLUDED.updated_at, "
         "version=EXCLUDED.version RETURNING id, created_at, email_key, (xmax = 0) AS fresh) "
         "SELECT seq, id, created_at, NULL::text, false FROM updated UNION ALL "
         "SELECT NULL::integer, id, created_at, email_key, fresh FROM inserted";
}

std::string scan_sql() {
  return "SELECT " + pg::contact_select_columns(true) +
         " FROM contacts WHERE version > $1::bigint ORDER BY id";
}

// One staged row: the values of the last row of the batch with this email key, at the position
// of the first one, so ids are assigned in the order rows first appear (as in SqliteStore).
struct StagedRow {
  const ContactValues* values;
  std::optional<std::string> email_key;
};

// email_key, the text and number values, meta_data (`empty_meta` when it has none) and the
// folded columns of `row`, tab-separated.
void append_fields(std::string& data, const StagedRow& row, std::string_view empty_meta = {}) {
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
  const std::string& meta = row.values->meta_data_json;
  pg::append_copy_field(data, meta.empty() ? empty_meta : std::string_view(meta));
  pg::append_folded_fields(data, *row.values);
}

// A line of copy_sql().
void append_line(std::string& data, size_t seq, const StagedRow& row) {
  data += std::to_string(seq);
  data += '\t';
  append_fields(data, row);
  data += '\n';
}

// A line of direct_copy_sql(): a new contact.
void append_direct_line(std::string& data, const StagedRow& row, const std::string& times) {
  append_fields(data, row, /*empty_meta=*/"{}");  // as merge_sql() stores it
  data += times;
}

// A batch's rows, collapsed by e-mail key (the later row wins, at the earlier one's
// position; each collapsed row counts as an update), and where each went.
struct Staged {
  std::vector<StagedRow> rows;
  std::vector<size_t> slot_of_row;                        // rows[slot_of_row[i]] has row i
  std::unordered_map<std::string_view, size_t> slot_of_key;  // views of rows[].email_key
};

Staged stage_rows(std::span<const ContactValues> rows, UpsertCounts& counts) {
  Staged staged;
  // Reserved whole: the rows never move, so the map's views of their keys stay valid.
  staged.rows.reserve(rows.size());
  staged.slot_of_row.reserve(rows.size());
  for (const ContactValues& row : rows) {
    const std::string& email = row[TextField::email];
    if (email.empty()) {
      staged.slot_of_row.push_back(staged.rows.size());
      staged.rows.push_back({&row, std::nullopt});
      continue;
    }
    std::string key = text::fold(email);
    const auto it = staged.slot_of_key.find(key);
    if (it == staged.slot_of_key.end()) {
      const size_t slot = staged.rows.size();
      staged.slot_of_row.push_back(slot);
      staged.rows.push_back({&row, std::move(key)});
      staged.slot_of_key.emplace(*staged.rows.back().email_key, slot);
    } else {
      staged.slot_of_row.push_back(it->second);
      staged.rows[it->second].values = &row;  // a later row of the batch replaces it
      ++counts.updated;
    }
  }
  return staged;
}

// The id and created_at of each staged row, as the write made them.
struct Written {
  std::vector<int64_t> ids, created_at;
  bool whole = true;  // every row's are known
  explicit Written(size_t n) : ids(n, 0), created_at(n, 0) {}
};

// Starts a batch's writes in `c`'s transaction: raises data_version (whose row lock also
// serialises writers, so versions commit in order) and records the job's counters. Returns
// the batch's version; throws LeaseLostError when the worker no longer holds the job.
int64_t begin_batch(PGconn* c, int64_t now_us, const JobCheckpoint* checkpoint) {
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
  return version;
}

// Upserts the staged rows `which` names (in that order) through a staging table and one
// statement (merge_sql()); records their ids and created_at in `written`.
void merge_staged(PGconn* c, const Staged& staged, std::span<const size_t> which, int64_t now_us,
                  int64_t version, UpsertCounts& counts, Written& written) {
  if (which.empty()) return;
  static const std::string kStagingSql = staging_table_sql();
  static const std::string kCopySql = copy_sql();
  static const std::string kMergeSql = merge_sql();
  pg::exec(c, kStagingSql);
  // The insert sorts its rows by seq: in memory (4 MB, the default, spilled 20,000 rows).
  pg::exec(c, "SET LOCAL work_mem = '64MB'");
  {
    // Sent in pieces while the next lines are written: the server parses rows meanwhile.
    pg::CopyIn copy(c, kCopySql);
    std::string data;
    data.reserve(kCopyPiece + 64 * 1024);
    for (size_t seq = 0; seq < which.size(); ++seq) {
      append_line(data, seq, staged.rows[which[seq]]);
      if (data.size() >= kCopyPiece) {
        copy.put(data);
        data.clear();
      }
    }
    copy.put(data);
    copy.finish();
  }
  const pg::Result merged = pg::exec(c, kMergeSql, pg::Params().add(now_us).add(version));
  // Rows without an e-mail are inserted in seq order, so their ids ascend in it.
  std::vector<std::pair<int64_t, int64_t>> keyless;  // id, created_at
  size_t matched = 0;
  auto record = [&](size_t slot, int row) {
    written.ids[slot] = merged.int64(row, 1);
    written.created_at[slot] = merged.int64(row, 2);
    ++matched;
  };
  for (int row = 0; row < merged.rows(); ++row) {
    if (!merged.is_null(row, 0)) {
      ++counts.updated;
      const auto seq = static_cast<size_t>(merged.int64(row, 0));
      if (seq < which.size()) record(which[seq], row);
      continue;
    }
    if (merged.boolean(row, 4)) ++counts.inserted; else ++counts.updated;
    if (merged.is_null(row, 3)) {
      keyless.emplace_back(merged.int64(row, 1), merged.int64(row, 2));
      continue;
    }
    const auto it = staged.slot_of_key.find(merged.text(row, 3));
    if (it != staged.slot_of_key.end()) record(it->second, row);
  }
  std::sort(keyless.begin(), keyless.end());
  size_t next = 0;
  for (const size_t slot : which) {
    if (staged.rows[slot].email_key || next == keyless.size()) continue;
    written.ids[slot] = keyless[next].first;
    written.created_at[slot] = keyless[next++].second;
    ++matched;
  }
  if (matched != which.size()) written.whole = false;
}

// Tells `listener` what a committed batch wrote: each row's id, created_at and meta_data as
// jsonb prints it. A batch with a row it cannot describe is not told (the listener then reads
// the store for its version).
void tell(const CommitListener& listener, uint64_t version, int64_t now_us,
          std::span<const ContactValues> rows, const Staged& staged, const Written& written) {
  if (!written.whole) return;
  std::vector<int64_t> ids(rows.size()), created(rows.size());
  std::vector<std::string> meta(rows.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    const size_t slot = staged.slot_of_row[i];
    ids[i] = written.ids[slot];
    created[i] = written.created_at[slot];
    std::optional<std::string> m = pg::jsonb_text(rows[i].meta_data_json);
    if (!m) return;
    meta[i] = std::move(*m);
  }
  listener(CommittedRows{version, now_us, rows, ids, created, meta});
}

// The e-mail keys a bulk import wrote, as 64-bit hashes (open addressing; 0 marks a free
// slot). A key whose hash is here may have a row already (it goes through the upsert); any
// other key has none, unless another writer added it meanwhile, which the unique index
// reports. 8 bytes a key at most 70 % full: 10M keys take 128 MiB.
class KeyHashes {
 public:
  bool contains(uint64_t h) const {
    if (slots_.empty()) return false;
    h |= 1;
    const size_t mask = slots_.size() - 1;
    for (size_t i = h & mask; slots_[i] != 0; i = (i + 1) & mask) {
      if (slots_[i] == h) return true;
    }
    return false;
  }
  void add(uint64_t h) {
    if ((used_ + 1) * 10 > slots_.size() * 7) grow();
    if (put(h | 1)) ++used_;
  }

 private:
  bool put(uint64_t h) {
    const size_t mask = slots_.size() - 1;
    size_t i = h & mask;
    for (; slots_[i] != 0; i = (i + 1) & mask) {
      if (slots_[i] == h) return false;
    }
    slots_[i] = h;
    return true;
  }
  void grow() {
    std::vector<uint64_t> old(std::max<size_t>(size_t{1} << 16, slots_.size() * 2), 0);
    old.swap(slots_);
    consume_releasing<uint64_t>(old, [this](uint64_t h) {
      if (h != 0) put(h);
    });
  }
  std::vector<uint64_t> slots_;
  size_t used_ = 0;
};

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

PostgresStore::PostgresStore(const std::string& url, size_t pool_size, BackgroundWork background)
    : url_(url),
      background_(background),
      pool_(std::make_unique<pg::PgPool>(url, pool_size)),
      search_index_(std::make_unique<pg::SearchIndexBuilder>(url)) {
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
  // A bulk import that stopped before its end (killed) left indexes out; one that is loading
  // holds the index-work lock and builds them itself.
  const bool repair = pg::exec(c, "SELECT pg_try_advisory_xact_lock($1::bigint)",
                               pg::Params().add(pg::kIndexWorkLockKey))
                          .text(0, 0) == "t";
  if (repair) build_missing_secondary_indexes(c);
  tx.commit();
  const bool search_index_valid = pg::exec(c,
                                           "SELECT coalesce((SELECT indisvalid FROM pg_index "
                                           "WHERE indexrelid = to_regclass('" +
                                               std::string(pg::kSearchIndex) + "')), false)")
                                      .text(0, 0) == "t";
  if (repair && !search_index_valid) start_search_index();
}

void PostgresStore::start_search_index() {
  if (background_ == BackgroundWork::here) search_index_->start();
}

void PostgresStore::resume_background_work() { start_search_index(); }

// Looked up first: CREATE INDEX IF NOT EXISTS would lock the table even when the index exists.
void PostgresStore::build_missing_secondary_indexes(PGconn* c) {
  for (const pg::SecondaryIndex& index : pg::kSecondaryIndexes) {
    if (pg::exec(c, "SELECT to_regclass($1) IS NULL", pg::Params().add(index.name)).text(0, 0) ==
        "t") {
      pg::exec(c, index.create_sql);
    }
  }
}

void PostgresStore::wait_for_background_work() { search_index_->wait(); }

// A bulk import into an empty contacts table writes its rows straight into the table with
// COPY, without the search index and the B-tree indexes of reads (kSecondaryIndexes); the
// unique e-mail index stays, and a row whose e-mail this import wrote before goes through the
// merge (staging table, UPDATE ... FROM, then INSERT: merge_sql()). The B-trees are built at
// the end; the search index after it, in the background (search_index_builder.h: it takes
// longer than the load). If another writer adds an e-mail meanwhile, the unique index stops the batch, which
// is written again through the upsert, as is the rest of the import. From the drops to the
// end of the B-tree builds the import holds the index-work lock (search_index_builder.h) on a
// connection of its own, so no index build of another process runs meanwhile.
//
// Into a table with rows, an import expected to write at least half as many rows as the table
// holds (and 100,000 or more) leaves out the search index alone: every row it updates would
// add its 190 trigram entries again, which costs more than building the index anew, in the
// background, after it (SQL reads scan meanwhile). It holds the index-work lock meanwhile too.
// A build of that index by this process (after an earlier import) is stopped for it, since
// an index being built takes every updated row's trigrams as well; when another process holds
// the lock, the import keeps the index.
class PostgresStore::Bulk final : public BulkImport {
 public:
  Bulk(PostgresStore& store, const BulkImportHint& hint) : store_(store) {
    bool has_rows;
    {
      auto lease = store_.pool_->acquire();  // released before estimated_count() takes one
      has_rows = pg::exec(lease.get(), "SELECT EXISTS(SELECT 1 FROM contacts)").text(0, 0) == "t";
    }
    if (has_rows) {
      if (hint.expected_rows >= kLargeImportRows &&
          hint.expected_rows * 2 >= store_.estimated_count()) {
        leave_out_search_index();
      }
      return;
    }
    lock_conn_ = pg::connect(store_.url_);
    PGconn* c = lock_conn_.get();
    // Asked again and again rather than waited for: a session waiting in a statement holds a
    // snapshot, which a concurrent index build waits for. Builds on an empty table are quick.
    while (!pg::try_index_work_lock(c)) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    pg::Transaction tx(c);
    // No writer can add a row between the check and the drops.
    pg::exec(c, "LOCK TABLE contacts IN SHARE ROW EXCLUSIVE MODE");
    if (pg::exec(c, "SELECT NOT EXISTS(SELECT 1 FROM contacts)").text(0, 0) == "t") {
      pg::exec(c, std::string("DROP INDEX IF EXISTS ") + pg::kSearchIndex);
      for (const pg::SecondaryIndex& index : pg::kSecondaryIndexes) {
        pg::exec(c, std::string("DROP INDEX IF EXISTS ") + index.name);
      }
      loading_empty_ = true;
      direct_ = true;
    }
    tx.commit();
    if (!loading_empty_) lock_conn_.reset();  // releases the lock
  }
  ~Bulk() override {
    try {
      finish();
    } catch (const std::exception&) {
      // The next opening of the store (migrate) builds them.
    }
  }

  UpsertCounts upsert_batch(std::span<const ContactValues> rows, int64_t now_us,
                            const JobCheckpoint* checkpoint) override {
    if (!direct_) return store_.upsert_batch(rows, now_us, checkpoint);
    try {
      return write_directly(rows, now_us, checkpoint);
    } catch (const pg::SqlError& e) {
      if (e.sqlstate != "23505") throw;  // not a unique_violation
      direct_ = false;
      return store_.upsert_batch(rows, now_us, checkpoint);
    }
  }

  void finish() override {
    if (search_left_out_) {
      search_left_out_ = false;
      lock_conn_.reset();  // releases the lock, for the search index's build
      store_.start_search_index();
    }
    if (!loading_empty_) return;
    loading_empty_ = false;
    direct_ = false;
    PGconn* c = lock_conn_.get();
    pg::exec(c, "SET maintenance_work_mem = '256MB'");
    build_missing_secondary_indexes(c);
    lock_conn_.reset();  // releases the lock, for the search index's build
    store_.start_search_index();
  }

 private:
  static constexpr uint64_t kLargeImportRows = 100'000;

  void leave_out_search_index() {
    lock_conn_ = pg::connect(store_.url_);
    PGconn* c = lock_conn_.get();
    if (!pg::try_index_work_lock(c)) {
      // Held by this process's build of the index (after an earlier import, say): stopped,
      // the lock is free once its connection has closed. Held elsewhere: the index is kept.
      bool locked = false;
      if (store_.search_index_->stop_build()) {
        for (int i = 0; i < 40 && !locked; ++i) {
          std::this_thread::sleep_for(std::chrono::milliseconds(50));
          locked = pg::try_index_work_lock(c);
        }
      }
      if (!locked) {
        lock_conn_.reset();
        return;
      }
    }
    search_left_out_ = true;  // from here on, finish() builds it whatever happens next
    pg::exec(c, std::string("DROP INDEX CONCURRENTLY IF EXISTS ") + pg::kSearchIndex);
  }

  UpsertCounts write_directly(std::span<const ContactValues> rows, int64_t now_us,
                              const JobCheckpoint* checkpoint) {
    static const std::string kDirectCopySql = direct_copy_sql();
    UpsertCounts counts;
    const Staged staged = stage_rows(rows, counts);
    std::vector<size_t> direct, merge;  // staged rows copied in, and merged
    std::vector<uint64_t> written_keys;  // hashes of the keys written directly
    direct.reserve(staged.rows.size());
    written_keys.reserve(staged.rows.size());
    for (size_t slot = 0; slot < staged.rows.size(); ++slot) {
      const StagedRow& row = staged.rows[slot];
      if (row.email_key) {
        const uint64_t h = XXH3_64bits(row.email_key->data(), row.email_key->size());
        if (keys_.contains(h)) {
          merge.push_back(slot);
          continue;
        }
        written_keys.push_back(h);
      }
      direct.push_back(slot);
    }
    Written written(staged.rows.size());
    auto lease = store_.pool_->acquire();
    PGconn* c = lease.get();
    pg::Transaction tx(c);
    const int64_t version = begin_batch(c, now_us, checkpoint);
    if (!direct.empty()) {
      // Ids reserved from the identity's sequence, in the rows' order (writers wait for each
      // other on data_version; an id another session took meanwhile would make the unique
      // primary key stop the batch, which then goes through the upsert).
      const int64_t last =
          pg::exec(c,
                   "SELECT setval(s, nextval(s) + $1::bigint - 1) "
                   "FROM pg_get_serial_sequence('contacts', 'id') AS s",
                   pg::Params().add(static_cast<int64_t>(direct.size())))
              .int64(0, 0);
      int64_t id = last - static_cast<int64_t>(direct.size()) + 1;
      const std::string times = "\t" + std::to_string(now_us) + "\t" + std::to_string(now_us) +
                                "\t" + std::to_string(version) + "\n";
      // Sent in pieces while the next lines are written: the server stores rows meanwhile.
      pg::CopyIn copy(c, kDirectCopySql);
      std::string data;
      data.reserve(kCopyPiece + 64 * 1024);
      for (const size_t slot : direct) {
        written.ids[slot] = id;
        written.created_at[slot] = now_us;
        data += std::to_string(id++);
        data += '\t';
        append_direct_line(data, staged.rows[slot], times);
        if (data.size() >= kCopyPiece) {
          copy.put(data);
          data.clear();
        }
      }
      copy.put(data);
      copy.finish();
      counts.inserted += direct.size();
    }
    merge_staged(c, staged, merge, now_us, version, counts, written);
    store_.commit_and_announce(tx, [&](const CommitListener& listener) {
      tell(listener, static_cast<uint64_t>(version), now_us, rows, staged, written);
    });
    for (const uint64_t h : written_keys) keys_.add(h);
    return counts;
  }

  PostgresStore& store_;
  pg::ConnHandle lock_conn_;  // holds the index-work lock while loading_empty_ or search_left_out_
  bool search_left_out_ = false;  // a large import into a table with rows: finish() builds it
  bool loading_empty_ = false;    // indexes were dropped: finish() builds them
  bool direct_ = false;           // rows with new e-mails go straight into contacts
  KeyHashes keys_;
};

std::unique_ptr<BulkImport> PostgresStore::begin_bulk_import(const BulkImportHint& hint) {
  return std::make_unique<Bulk>(*this, hint);
}

UpsertCounts PostgresStore::upsert_batch(std::span<const ContactValues> rows, int64_t now_us,
                                         const JobCheckpoint* checkpoint) {
  UpsertCounts counts;
  const Staged staged = stage_rows(rows, counts);
  std::vector<size_t> all(staged.rows.size());
  std::iota(all.begin(), all.end(), size_t{0});
  Written written(staged.rows.size());
  auto lease = pool_->acquire();
  PGconn* c = lease.get();
  pg::Transaction tx(c);
  const int64_t version = begin_batch(c, now_us, checkpoint);
  merge_staged(c, staged, all, now_us, version, counts, written);
  commit_and_announce(tx, [&](const CommitListener& listener) {
    tell(listener, static_cast<uint64_t>(version), now_us, rows, staged, written);
  });
  return counts;
}

void PostgresStore::commit_and_announce(pg::Transaction& tx,
                                        const std::function<void(const CommitListener&)>& tell) {
  // Held from before the commit until the listener returns: this process's writes, which
  // commit in version order (data_version's row lock), are announced in that order too.
  std::lock_guard lock(announce_mutex_);
  tx.commit();
  if (!commit_listener_) return;
  try {
    tell(commit_listener_);
  } catch (...) {
    // The rows are committed: the listener missed this version and reads the store for it.
  }
}

bool PostgresStore::set_commit_listener(CommitListener listener) {
  std::lock_guard lock(announce_mutex_);
  commit_listener_ = std::move(listener);
  return true;
}

void PostgresStore::scan(uint64_t since_version, const std::function<void(Contact&&)>& fn) const {
  static const std::string kScanSql = scan_sql();
  auto lease = pool_->acquire();
  PGconn* c = lease.get();
  pg::Transaction tx(c, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
  // Rows stream in as the server produces them (single-row mode): at 1M rows a cursor's
  // batches left the server and this thread waiting on each other in turn.
  pg::for_each_row(c, kScanSql, pg::Params().add(static_cast<int64_t>(since_version)),
                   [&](const pg::Result& r) { fn(pg::read_contact(r, 0)); });
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
  // ANALYZE needs the table's ShareUpdateExclusiveLock, which the search index builder's
  // CREATE INDEX CONCURRENTLY holds for minutes after a bulk import: SKIP_LOCKED gives up at
  // once (a warning from the server) rather than holding the job that asked for fresher
  // statistics until the build ends (a 1,000-row job took 98 s after a 1M-row import);
  // autovacuum analyzes later. The two can also wait for each other (ANALYZE for the lock, the
  // build for ANALYZE's transaction); PostgreSQL then cancels ANALYZE (40P01): a few more
  // tries, never failing the job.
  for (int attempt = 1;; ++attempt) {
    try {
      pg::exec(lease.get(), "ANALYZE (SKIP_LOCKED) contacts");
      return;
    } catch (const pg::SqlError& e) {
      if (e.sqlstate != "40P01") throw;
      if (attempt == 3) {
        log_event("warning",
                  "ANALYZE deadlocked with index work three times; statistics are "
                  "left to autovacuum",
                  e.what());
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(250 * attempt));
    }
  }
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
  if (password_hash)
    params.add(*password_hash);
  else
    params.add_null();
  if (is_staff)
    params.add(*is_staff);
  else
    params.add_null();
  params.add(username);
  return pg::exec(lease.get(),
                  "UPDATE users SET password_hash = coalesce($1, password_hash), "
                  "is_staff = coalesce($2::boolean, is_staff) WHERE username = $3",
                  params)
             .affected() == 1;
}

bool PostgresStore::delete_user(std::string_view username) {
  auto lease = pool_->acquire();
  return pg::exec(lease.get(), "DELETE FROM users WHERE username = $1", pg::Params().add(username))
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
