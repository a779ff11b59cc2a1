#include "store/sqlite/sqlite_store.h"

#include <algorithm>
#include <filesystem>
#include <stdexcept>
#include <unordered_set>

#include <xxhash.h>

#include "util/release_pages.h"
#include "util/text.h"
#include "util/time.h"

namespace contacts {
namespace {

constexpr int kSchemaVersion = 1;

std::string column_list() {
  std::string cols;
  for (const auto& f : text_fields()) {
    cols += f.name;
    cols += ",";
  }
  for (const auto& f : number_fields()) {
    cols += f.name;
    cols += ",";
  }
  cols += "meta_data";
  return cols;
}

std::string schema_sql() {
  std::string sql =
      "CREATE TABLE IF NOT EXISTS store_meta(key TEXT PRIMARY KEY, value INTEGER NOT NULL);"
      "CREATE TABLE IF NOT EXISTS contacts("
      "id INTEGER PRIMARY KEY AUTOINCREMENT,"
      "email_key TEXT,";
  for (const auto& f : text_fields()) sql += std::string(f.name) + " TEXT NOT NULL DEFAULT '',";
  for (const auto& f : number_fields()) sql += std::string(f.name) + " INTEGER,";
  sql +=
      "meta_data TEXT NOT NULL DEFAULT '{}',"
      "created_at INTEGER NOT NULL,"
      "updated_at INTEGER NOT NULL,"
      "version INTEGER NOT NULL);"
      "CREATE UNIQUE INDEX IF NOT EXISTS contacts_email_key ON contacts(email_key) "
      "WHERE email_key IS NOT NULL;"
      "CREATE INDEX IF NOT EXISTS contacts_version ON contacts(version);"
      "INSERT OR IGNORE INTO store_meta(key, value) VALUES('data_version', 0);"
      "INSERT OR IGNORE INTO store_meta(key, value) VALUES('store_id', abs(random()));"
      "CREATE TABLE IF NOT EXISTS users("
      "id INTEGER PRIMARY KEY AUTOINCREMENT,"
      "username TEXT NOT NULL UNIQUE,"
      "password_hash TEXT NOT NULL,"
      "is_staff INTEGER NOT NULL DEFAULT 0,"
      "is_active INTEGER NOT NULL DEFAULT 1,"
      "created_at INTEGER NOT NULL);"
      "CREATE TABLE IF NOT EXISTS import_jobs("
      "id INTEGER PRIMARY KEY AUTOINCREMENT,"
      "status TEXT NOT NULL,"
      "total_rows INTEGER NOT NULL DEFAULT 0,"
      "success_count INTEGER NOT NULL DEFAULT 0,"
      "error_count INTEGER NOT NULL DEFAULT 0,"
      "errors_file_bytes INTEGER NOT NULL DEFAULT 0,"
      "upload_file_path TEXT NOT NULL,"
      "error_file_path TEXT NOT NULL DEFAULT '',"
      "message TEXT NOT NULL,"
      "started_at INTEGER, finished_at INTEGER,"
      "created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,"
      "worker TEXT NOT NULL DEFAULT '', lease_expires_at INTEGER NOT NULL DEFAULT 0,"
      "data_version INTEGER NOT NULL DEFAULT 0);"
      "CREATE INDEX IF NOT EXISTS import_jobs_status ON import_jobs(status, id);";
  return sql;
}

std::string upsert_sql() {
  const std::string cols = column_list();
  std::string sql = "INSERT INTO contacts(email_key," + cols + ",created_at,updated_at,version) VALUES(?";
  const size_t n = kTextFieldCount + kNumberFieldCount + 1;
  for (size_t i = 0; i < n + 3; ++i) sql += ",?";
  sql += ") ON CONFLICT(email_key) WHERE email_key IS NOT NULL DO UPDATE SET ";
  for (const auto& f : text_fields()) sql += std::string(f.name) + "=excluded." + std::string(f.name) + ",";
  for (const auto& f : number_fields()) sql += std::string(f.name) + "=excluded." + std::string(f.name) + ",";
  // No RETURNING: it queues each row's answer in a temporary table, a sixth of a re-import's
  // time; upsert_rows counts the new rows by their ids instead.
  sql += "meta_data=excluded.meta_data,updated_at=excluded.updated_at,version=excluded.version";
  return sql;
}

std::string insert_sql() {
  std::string sql = "INSERT INTO contacts(email_key," + column_list() +
                    ",created_at,updated_at,version) VALUES(?";
  for (size_t i = 0; i < kTextFieldCount + kNumberFieldCount + 1 + 3; ++i) sql += ",?";
  return sql + ")";
}

std::string update_by_id_sql() {
  std::string sql = "UPDATE contacts SET ";
  int i = 1;
  for (const auto& f : text_fields()) sql += std::string(f.name) + "=?" + std::to_string(i++) + ",";
  for (const auto& f : number_fields()) sql += std::string(f.name) + "=?" + std::to_string(i++) + ",";
  sql += "meta_data=?" + std::to_string(i) + ",updated_at=?" + std::to_string(i + 1) +
         ",version=?" + std::to_string(i + 2) + " WHERE id=?" + std::to_string(i + 3);
  return sql;
}

constexpr const char* kEmailIndexSql =
    "CREATE UNIQUE INDEX IF NOT EXISTS contacts_email_key ON contacts(email_key) "
    "WHERE email_key IS NOT NULL";

// Runs `st` (reset, then bound) for its one integer; leaves it reset, holding no read mark.
int64_t single_int(sqlite::Statement& st) {
  const int64_t value = st.step() ? st.column_int(0) : 0;
  st.reset();
  return value;
}

// Binds a row's payload (text fields, numbers, meta_data) from parameter `i` on; returns the
// next parameter.
int bind_payload(sqlite::Statement& st, const ContactValues& row, int i) {
  for (const auto& v : row.text) st.bind(i++, v);
  for (const auto& v : row.numbers) {
    if (v) st.bind(i++, *v); else st.bind_null(i++);
  }
  st.bind(i++, row.meta_data_json);
  return i;
}

}  // namespace

struct SqliteStore::WriteStatements {
  sqlite::Statement upsert;
  sqlite::Statement insert;
  sqlite::Statement update_by_id;
  sqlite::Statement email_key_of;
  sqlite::Statement id_by_email;
  sqlite::Statement max_id;
  sqlite::Statement count_ids_above;
  sqlite::Statement bump_version;
  sqlite::Statement read_version;
  sqlite::Statement has_email_index;
  WriteStatements(sqlite3* db)
      : upsert(db, upsert_sql()),
        insert(db, insert_sql()),
        update_by_id(db, update_by_id_sql()),
        email_key_of(db, "SELECT email_key, created_at FROM contacts WHERE id = ?"),
        id_by_email(db, "SELECT id, created_at FROM contacts WHERE email_key = ?"),
        max_id(db, "SELECT coalesce(max(id), 0) FROM contacts"),
        count_ids_above(db, "SELECT count(*) FROM contacts WHERE id > ?"),
        bump_version(db, "UPDATE store_meta SET value = value + 1 WHERE key = 'data_version'"),
        read_version(db, "SELECT value FROM store_meta WHERE key = 'data_version'"),
        has_email_index(db, "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND "
                            "name = 'contacts_email_key'") {}
};

// The e-mails of the rows a bulk import inserted, for the import to find the row an e-mail
// already has without the e-mail index: open addressing over 64-bit slots, each the upper 32
// bits of the e-mail key's XXH3 hash (which also pick the slot) beside 1 + the row's id minus
// the first id. A slot whose hash matches is checked against the row's key in the table,
// so a hash collision costs one read, never a wrong answer. 8 bytes a row (at most 70% full).
class SqliteStore::EmailTable {
 public:
  // The id of the row holding `key`, if any (`key_of` reads a row's key).
  template <class KeyOf>
  std::optional<int64_t> find(std::string_view key, uint64_t hash, KeyOf key_of) const {
    if (slots_.empty()) return std::nullopt;
    const uint32_t tag = static_cast<uint32_t>(hash >> 32);
    const size_t mask = slots_.size() - 1;
    for (size_t i = tag & mask; slots_[i] != 0; i = (i + 1) & mask) {
      if (slots_[i] >> 32 != tag) continue;
      const int64_t id = first_id_ + static_cast<int64_t>(slots_[i] & 0xFFFFFFFF) - 1;
      if (key_of(id) == key) return id;
    }
    return std::nullopt;
  }
  // Records that row `id` holds the key of `hash`. False when ids are too far apart to be
  // recorded (the import then goes on with the e-mail index).
  bool add(uint64_t hash, int64_t id) {
    if (first_id_ == 0) first_id_ = id;
    const int64_t offset = id - first_id_ + 1;
    if (offset <= 0 || offset >= int64_t{UINT32_MAX}) return false;
    if ((used_ + 1) * 10 > slots_.size() * 7) grow();
    put(static_cast<uint32_t>(hash >> 32), static_cast<uint32_t>(offset));
    ++used_;
    return true;
  }

 private:
  void put(uint32_t tag, uint32_t offset) {
    const size_t mask = slots_.size() - 1;
    size_t i = tag & mask;
    while (slots_[i] != 0) i = (i + 1) & mask;
    slots_[i] = uint64_t{tag} << 32 | offset;
  }
  void grow() {
    std::vector<uint64_t> old(std::max<size_t>(size_t{1} << 16, slots_.size() * 2), 0);
    old.swap(slots_);
    consume_releasing<uint64_t>(old, [this](uint64_t slot) {
      if (slot != 0) put(static_cast<uint32_t>(slot >> 32), static_cast<uint32_t>(slot));
    });
  }
  std::vector<uint64_t> slots_;
  size_t used_ = 0;
  int64_t first_id_ = 0;
};

// A bulk import into an empty contacts table: the e-mail index is dropped when it starts and
// built once at the end (one sort instead of a random B-tree insert, and a written page, per
// row); meanwhile rows find their e-mail's earlier row through an EmailTable. As soon as the
// index exists again (another writer needed it, the store was reopened, a batch failed), the
// import goes on through the index.
class SqliteStore::Bulk final : public BulkImport {
 public:
  explicit Bulk(SqliteStore& store) : store_(store) {
    std::lock_guard lock(store_.write_mutex_);
    sqlite3* db = store_.write_db_.get();
    sqlite::exec(db, "BEGIN IMMEDIATE;");
    try {
      sqlite::Statement empty(db, "SELECT NOT EXISTS(SELECT 1 FROM contacts)");
      empty.step();
      const bool is_empty = empty.column_int(0) != 0;
      empty.reset();  // a statement still running would lock the table against DROP
      if (is_empty) {
        sqlite::exec(db, "DROP INDEX IF EXISTS contacts_email_key;");
        emails_ = std::make_unique<EmailTable>();
      }
      sqlite::exec(db, "COMMIT;");
    } catch (...) {
      sqlite::exec(db, "ROLLBACK;");
      throw;
    }
  }
  ~Bulk() override {
    // The job's pages stay in the writing connection's cache otherwise: memory a server would
    // keep for nothing until the next import.
    std::lock_guard lock(store_.write_mutex_);
    sqlite3_db_release_memory(store_.write_db_.get());
  }

  UpsertCounts upsert_batch(std::span<const ContactValues> rows, int64_t now_us,
                            const JobCheckpoint* checkpoint) override {
    try {
      return store_.write_batch(rows, now_us, checkpoint, emails_);
    } catch (...) {
      emails_.reset();  // the table may name rows rolled back: go on through the index
      throw;
    }
  }

  void finish() override {
    if (!emails_) return;
    emails_.reset();
    store_.build_email_index();
  }

 private:
  SqliteStore& store_;
  std::unique_ptr<EmailTable> emails_;  // null: through the index
};

SqliteStore::SqliteStore(const std::string& data_dir, SqliteOptions options) {
  std::filesystem::create_directories(data_dir);
  path_ = (std::filesystem::path(data_dir) / "contacts.db").string();
  write_db_ = sqlite::open_database(path_);
  // A 128 MiB page cache holds the e-mail index of a few million contacts for updates (an
  // import job in a server gives it back when it ends: Bulk's destructor). The WAL is
  // checkpointed beside the writer (sqlite/wal_checkpointer.h).
  int64_t page_size = 4096;
  {
    sqlite::Statement st(write_db_.get(), "PRAGMA page_size");
    if (st.step()) page_size = st.column_int(0);
  }
  sqlite::exec(write_db_.get(), "PRAGMA cache_size=-131072;");
  sqlite::exec(write_db_.get(), "BEGIN IMMEDIATE;");
  try {
    sqlite::exec(write_db_.get(), schema_sql().c_str());
    sqlite::exec(write_db_.get(),
                 ("INSERT OR IGNORE INTO store_meta(key, value) VALUES('schema_version', " +
                  std::to_string(kSchemaVersion) + ");")
                     .c_str());
    sqlite::exec(write_db_.get(), "COMMIT;");
  } catch (...) {
    sqlite::exec(write_db_.get(), "ROLLBACK;");
    throw;
  }
  write_ = std::make_unique<WriteStatements>(write_db_.get());
  read_db_ = sqlite::open_database(path_, /*read_only=*/true);
  checkpointer_ = std::make_unique<sqlite::WalCheckpointer>(
      write_db_.get(), path_, std::max<int64_t>(1, options.wal_checkpoint_bytes / page_size));
}

SqliteStore::~SqliteStore() = default;

std::unique_ptr<BulkImport> SqliteStore::begin_bulk_import(const BulkImportHint&) {
  return std::make_unique<Bulk>(*this);
}

UpsertCounts SqliteStore::upsert_batch(std::span<const ContactValues> rows, int64_t now_us,
                                       const JobCheckpoint* checkpoint) {
  std::unique_ptr<EmailTable> none;
  return write_batch(rows, now_us, checkpoint, none);
}

void SqliteStore::build_email_index() {
  std::lock_guard lock(write_mutex_);
  sqlite3* db = write_db_.get();
  // The sort spills to temporary files rather than memory.
  sqlite::exec(db, "PRAGMA temp_store=FILE;");
  try {
    sqlite::exec(db, (std::string("BEGIN IMMEDIATE;") + kEmailIndexSql + ";COMMIT;").c_str());
  } catch (...) {
    sqlite3_exec(db, "ROLLBACK;", nullptr, nullptr, nullptr);
    sqlite::exec(db, "PRAGMA temp_store=MEMORY;");
    throw;
  }
  sqlite::exec(db, "PRAGMA temp_store=MEMORY;");
}

UpsertCounts SqliteStore::write_batch(std::span<const ContactValues> rows, int64_t now_us,
                                      const JobCheckpoint* checkpoint,
                                      std::unique_ptr<EmailTable>& emails) {
  std::lock_guard lock(write_mutex_);
  UpsertCounts counts;
  sqlite3* db = write_db_.get();
  bool announce = false;
  int64_t version = 0;
  sqlite::exec(db, "BEGIN IMMEDIATE;");
  try {
    write_->bump_version.reset();
    write_->bump_version.step();
    // Left reset by single_int: a statement left stepped keeps a read mark after COMMIT, which
    // stops checkpoints from restarting the WAL: it would grow with every batch of an import.
    write_->read_version.reset();
    version = single_int(write_->read_version);
    write_->has_email_index.reset();
    const bool indexed = single_int(write_->has_email_index) != 0;
    if (indexed) emails.reset();
    if (!emails) {
      // A bulk import that stopped early left the index out: build it before using it.
      if (!indexed) sqlite::exec(db, kEmailIndexSql);
    }
    announce = static_cast<bool>(commit_listener_);
    // The upsert learns no ids; a listener is told them, so its rows find their contacts by
    // e-mail first (in the index, or the bulk load's EmailTable).
    counts = announce || emails ? write_rows(rows, now_us, version, emails.get())
                                : upsert_rows(rows, now_us, version);
    if (checkpoint) {
      sqlite::Statement cp(db,
                           "UPDATE import_jobs SET total_rows = ?, success_count = ?, "
                           "error_count = ?, errors_file_bytes = ?, updated_at = ? "
                           "WHERE id = ? AND worker = ? AND status = 'running'");
      cp.bind(1, static_cast<int64_t>(checkpoint->total_rows));
      cp.bind(2, static_cast<int64_t>(checkpoint->success_count));
      cp.bind(3, static_cast<int64_t>(checkpoint->error_count));
      cp.bind(4, static_cast<int64_t>(checkpoint->errors_file_bytes));
      cp.bind(5, now_us);
      cp.bind(6, checkpoint->job_id);
      cp.bind(7, checkpoint->worker);
      cp.step();
      if (sqlite3_changes(db) != 1) throw LeaseLostError();
    }
    sqlite::exec(db, "COMMIT;");
  } catch (...) {
    sqlite::exec(db, "ROLLBACK;");
    throw;
  }
  if (announce) {
    try {
      commit_listener_(CommittedRows{static_cast<uint64_t>(version), now_us, rows, written_ids_,
                                     written_created_, {}});
    } catch (...) {
      // The rows are committed: a listener's failure must not make the caller write them
      // again. It missed this version, and reads the store for it.
    }
  }
  return counts;
}

bool SqliteStore::set_commit_listener(CommitListener listener) {
  std::lock_guard lock(write_mutex_);
  commit_listener_ = std::move(listener);
  return true;
}

UpsertCounts SqliteStore::upsert_rows(std::span<const ContactValues> rows, int64_t now_us,
                                      int64_t version) {
  // Ids are AUTOINCREMENT: the rows this batch creates are the ones above the largest id
  // before it (a row created and then updated by a later row of the batch counts once).
  const int64_t max_id_before = single_int(write_->max_id);
  auto& st = write_->upsert;
  std::string email_key;
  for (const ContactValues& row : rows) {
    st.reset();
    int i = 1;
    const std::string& email = row[TextField::email];
    if (email.empty()) {
      st.bind_null(i++);
    } else {
      email_key = text::fold(email);
      st.bind(i++, email_key);
    }
    i = bind_payload(st, row, i);
    st.bind(i++, now_us);
    st.bind(i++, now_us);
    st.bind(i++, version);
    while (st.step()) {
    }
  }
  st.reset();
  write_->count_ids_above.bind(1, max_id_before);
  UpsertCounts counts;
  counts.inserted = static_cast<uint64_t>(single_int(write_->count_ids_above));
  counts.updated = rows.size() - counts.inserted;
  return counts;
}

UpsertCounts SqliteStore::write_rows(std::span<const ContactValues> rows, int64_t now_us,
                                     int64_t version, EmailTable* emails) {
  UpsertCounts counts;
  sqlite3* db = write_db_.get();
  // A key read through the bulk load's e-mail table, with that row's created_at: the
  // matched row's (the last one read) is the contact's.
  int64_t created_of_key = 0;
  auto key_of = [&](int64_t id) {
    auto& st = write_->email_key_of;
    st.reset();
    st.bind(1, id);
    std::string key;
    if (st.step()) {
      key = st.column_text(0);
      created_of_key = st.column_int(1);
    }
    st.reset();
    return key;
  };
  // What the commit listener is told: each row's id and created_at.
  const bool listened = static_cast<bool>(commit_listener_);
  written_ids_.clear();
  written_created_.clear();
  std::string email_key;
  for (const ContactValues& row : rows) {
    const std::string& email = row[TextField::email];
    uint64_t hash = 0;
    if (!email.empty()) {
      email_key = text::fold(email);
      std::optional<int64_t> id;
      std::optional<int64_t> created;  // the contact's created_at, read with its id
      if (emails) {
        hash = XXH3_64bits(email_key.data(), email_key.size());
        id = emails->find(email_key, hash, key_of);
        if (id) created = created_of_key;
      } else {
        auto& st = write_->id_by_email;
        st.reset();
        st.bind(1, email_key);
        if (st.step()) {
          id = st.column_int(0);
          created = st.column_int(1);
        }
        st.reset();
      }
      if (id) {
        auto& st = write_->update_by_id;
        st.reset();
        int i = bind_payload(st, row, 1);
        st.bind(i++, now_us);
        st.bind(i++, version);
        st.bind(i++, *id);
        st.step();
        st.reset();
        ++counts.updated;
        if (listened) {
          written_ids_.push_back(*id);
          written_created_.push_back(created.value_or(now_us));
        }
        continue;
      }
    }
    auto& st = write_->insert;
    st.reset();
    int i = 1;
    if (email.empty()) st.bind_null(i++); else st.bind(i++, email_key);
    i = bind_payload(st, row, i);
    st.bind(i++, now_us);
    st.bind(i++, now_us);
    st.bind(i++, version);
    st.step();
    st.reset();
    ++counts.inserted;
    const int64_t id = sqlite3_last_insert_rowid(db);
    if (listened) {
      written_ids_.push_back(id);
      written_created_.push_back(now_us);
    }
    if (emails && !email.empty() && !emails->add(hash, id)) {
      throw std::runtime_error("contact ids too far apart for a bulk import");
    }
  }
  return counts;
}

void SqliteStore::scan(uint64_t since_version, const std::function<void(Contact&&)>& fn) const {
  auto db = sqlite::open_database(path_, /*read_only=*/true);
  // A scan reads each page once, or fetches rows by id through the OS's page cache: a small
  // page cache of its own (8 MiB, not the 64 MiB of the connections that answer queries)
  // keeps a refresh's memory down while an import runs beside it.
  sqlite::exec(db.get(), "PRAGMA cache_size=-8192;");
  const std::string select = "SELECT id," + column_list() + ",created_at,updated_at FROM contacts ";
  Contact c;  // reused: its strings keep their memory unless `fn` moves them out
  auto emit = [&](sqlite::Statement& st) {
    int col = 0;
    c.id = st.column_int(col++);
    for (auto& v : c.values.text) v = st.column_text(col++);
    for (auto& v : c.values.numbers) {
      if (st.column_is_null(col)) v.reset(); else v = st.column_int(col);
      ++col;
    }
    c.values.meta_data_json = st.column_text(col++);
    c.created_at_us = st.column_int(col++);
    c.updated_at_us = st.column_int(col++);
    fn(std::move(c));
  };
  // One read transaction: every statement below sees the same snapshot.
  sqlite::exec(db.get(), "BEGIN");
  struct Rollback {
    sqlite3* db;
    ~Rollback() { sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr); }
  } end{db.get()};
  std::vector<int64_t> ids;
  int64_t from_id = INT64_MIN;  // the one pass below starts at this id
  if (since_version > 0) {
    // The changed rows' ids from the version index (a refresh after a write reads only
    // them). Left to the planner, `version > ? ORDER BY id` scans the whole table in id order:
    // 2.7 s at 10M rows for a 1,000-row delta.
    sqlite::Statement changed(db.get(), "SELECT id FROM contacts INDEXED BY contacts_version "
                                        "WHERE version > ?");
    changed.bind(1, static_cast<int64_t>(since_version));
    while (changed.step()) ids.push_back(changed.column_int(0));
    if (ids.empty()) return;
    std::sort(ids.begin(), ids.end());
    sqlite::Statement last(db.get(), "SELECT max(id) FROM contacts");
    last.step();
    // Rows from the first changed id to the end, about: new rows are appended there, so an
    // import's delta is usually that whole range, read in one pass from its first id.
    const uint64_t tail = static_cast<uint64_t>(last.column_int(0) - ids.front()) + 1;
    from_id = ids.front();
    if (tail > ids.size() * uint64_t{3}) {
      // Scattered changes (updates): each row fetched by id, in id order, when that reads
      // fewer pages than the pass (a lookup costs a few times a row of a pass).
      sqlite::Statement span(db.get(), "SELECT min(id) FROM contacts");
      span.step();
      const uint64_t rows = static_cast<uint64_t>(last.column_int(0) - span.column_int(0)) + 1;
      if (ids.size() * uint64_t{4} < rows) {
        sqlite::Statement one(db.get(), select + "WHERE id = ?");
        for (const int64_t id : ids) {
          one.reset();
          one.bind(1, id);
          if (one.step()) emit(one);
        }
        return;
      }
    }
  }
  // One pass in id order from `from_id`: the whole table, or the range the changes are in.
  sqlite::Statement st(db.get(), select + "WHERE id >= ? AND version > ? ORDER BY id");
  st.bind(1, from_id);
  st.bind(2, static_cast<int64_t>(since_version));
  while (st.step()) emit(st);
}

uint64_t SqliteStore::data_version() const {
  std::lock_guard lock(read_mutex_);
  sqlite::Statement st(read_db_.get(), "SELECT value FROM store_meta WHERE key = 'data_version'");
  st.step();
  return static_cast<uint64_t>(st.column_int(0));
}

uint64_t SqliteStore::store_id() const {
  std::lock_guard lock(read_mutex_);
  sqlite::Statement st(read_db_.get(), "SELECT value FROM store_meta WHERE key = 'store_id'");
  st.step();
  return static_cast<uint64_t>(st.column_int(0));
}

uint64_t SqliteStore::count() const {
  std::lock_guard lock(read_mutex_);
  sqlite::Statement st(read_db_.get(), "SELECT count(*) FROM contacts");
  st.step();
  return static_cast<uint64_t>(st.column_int(0));
}

int64_t SqliteStore::save_user(const std::string& username, const std::string& password_hash,
                               bool is_staff) {
  std::lock_guard lock(write_mutex_);
  sqlite::Statement st(write_db_.get(),
                       "INSERT INTO users(username, password_hash, is_staff, created_at) "
                       "VALUES(?, ?, ?, ?) ON CONFLICT(username) DO UPDATE SET "
                       "password_hash = excluded.password_hash, is_staff = excluded.is_staff "
                       "RETURNING id");
  st.bind(1, username);
  st.bind(2, password_hash);
  st.bind(3, int64_t{is_staff ? 1 : 0});
  st.bind(4, timeutil::now_us());
  st.step();
  const int64_t id = st.column_int(0);
  while (st.step()) {
  }
  return id;
}

bool SqliteStore::update_user(std::string_view username,
                              const std::optional<std::string>& password_hash,
                              std::optional<bool> is_staff) {
  std::lock_guard lock(write_mutex_);
  sqlite::Statement st(write_db_.get(),
                       "UPDATE users SET password_hash = coalesce(?, password_hash), "
                       "is_staff = coalesce(?, is_staff) WHERE username = ? RETURNING id");
  if (password_hash) st.bind(1, *password_hash); else st.bind_null(1);
  if (is_staff) st.bind(2, int64_t{*is_staff ? 1 : 0}); else st.bind_null(2);
  st.bind(3, username);
  const bool found = st.step();
  while (st.step()) {
  }
  return found;
}

bool SqliteStore::delete_user(std::string_view username) {
  std::lock_guard lock(write_mutex_);
  sqlite::Statement st(write_db_.get(), "DELETE FROM users WHERE username = ? RETURNING id");
  st.bind(1, username);
  const bool found = st.step();
  while (st.step()) {
  }
  return found;
}

std::optional<UserRecord> SqliteStore::find_user(std::string_view username) const {
  std::lock_guard lock(read_mutex_);
  sqlite::Statement st(read_db_.get(),
                       "SELECT id, username, password_hash, is_staff, is_active FROM users "
                       "WHERE username = ?");
  st.bind(1, username);
  if (!st.step()) return std::nullopt;
  UserRecord u;
  u.id = st.column_int(0);
  u.username = st.column_text(1);
  u.password_hash = st.column_text(2);
  u.is_staff = st.column_int(3) != 0;
  u.is_active = st.column_int(4) != 0;
  return u;
}

namespace {

constexpr const char* kJobColumns =
    "id, status, total_rows, success_count, error_count, errors_file_bytes, upload_file_path, "
    "error_file_path, message, started_at, finished_at, created_at, updated_at, data_version";

ImportJob read_job(const sqlite::Statement& st) {
  ImportJob j;
  j.id = st.column_int(0);
  j.status = st.column_text(1);
  j.total_rows = static_cast<uint64_t>(st.column_int(2));
  j.success_count = static_cast<uint64_t>(st.column_int(3));
  j.error_count = static_cast<uint64_t>(st.column_int(4));
  j.errors_file_bytes = static_cast<uint64_t>(st.column_int(5));
  j.upload_file_path = st.column_text(6);
  j.error_file_path = st.column_text(7);
  j.message = st.column_text(8);
  if (!st.column_is_null(9)) j.started_at_us = st.column_int(9);
  if (!st.column_is_null(10)) j.finished_at_us = st.column_int(10);
  j.created_at_us = st.column_int(11);
  j.updated_at_us = st.column_int(12);
  j.data_version = static_cast<uint64_t>(st.column_int(13));
  return j;
}

}  // namespace

ImportJob SqliteStore::create_job(const std::string& upload_file_path, int64_t now_us) {
  std::lock_guard lock(write_mutex_);
  sqlite::Statement st(write_db_.get(),
                       std::string("INSERT INTO import_jobs(status, upload_file_path, message, "
                                   "created_at, updated_at) VALUES('pending', ?, 'Queued', ?, ?) "
                                   "RETURNING ") + kJobColumns);
  st.bind(1, upload_file_path);
  st.bind(2, now_us);
  st.bind(3, now_us);
  st.step();
  ImportJob job = read_job(st);
  while (st.step()) {
  }
  return job;
}

std::optional<ImportJob> SqliteStore::get_job(int64_t id) const {
  std::lock_guard lock(read_mutex_);
  sqlite::Statement st(read_db_.get(),
                       std::string("SELECT ") + kJobColumns + " FROM import_jobs WHERE id = ?");
  st.bind(1, id);
  if (!st.step()) return std::nullopt;
  return read_job(st);
}

JobCounts SqliteStore::count_jobs() const {
  std::lock_guard lock(read_mutex_);
  sqlite::Statement st(read_db_.get(), "SELECT status, count(*) FROM import_jobs GROUP BY status");
  JobCounts counts;
  while (st.step()) counts.add(st.column_text(0), static_cast<uint64_t>(st.column_int(1)));
  return counts;
}

std::optional<ImportJob> SqliteStore::claim_job(const std::string& worker, int64_t now_us,
                                                int64_t lease_until_us) {
  std::lock_guard lock(write_mutex_);
  // One statement: SQLite serialises writers, so two processes never claim the same row.
  sqlite::Statement st(
      write_db_.get(),
      std::string("UPDATE import_jobs SET status = 'running', message = 'Processing', "
                  "worker = ?1, lease_expires_at = ?2, started_at = coalesce(started_at, ?3), "
                  "updated_at = ?3 WHERE id = (SELECT id FROM import_jobs WHERE status = "
                  "'pending' OR (status = 'running' AND lease_expires_at < ?3) ORDER BY id "
                  "LIMIT 1) RETURNING ") + kJobColumns);
  st.bind(1, worker);
  st.bind(2, lease_until_us);
  st.bind(3, now_us);
  if (!st.step()) return std::nullopt;
  ImportJob job = read_job(st);
  while (st.step()) {
  }
  return job;
}

bool SqliteStore::renew_lease(int64_t job_id, const std::string& worker, int64_t lease_until_us) {
  std::lock_guard lock(write_mutex_);
  sqlite::Statement st(write_db_.get(),
                       "UPDATE import_jobs SET lease_expires_at = ? WHERE id = ? AND worker = ? "
                       "AND status = 'running'");
  st.bind(1, lease_until_us);
  st.bind(2, job_id);
  st.bind(3, worker);
  st.step();
  return sqlite3_changes(write_db_.get()) == 1;
}

bool SqliteStore::finish_job(int64_t job_id, const std::string& worker, const std::string& status,
                             const std::string& message, const std::string& error_file_path,
                             int64_t now_us) {
  std::lock_guard lock(write_mutex_);
  sqlite::Statement st(
      write_db_.get(),
      "UPDATE import_jobs SET status = ?, message = ?, error_file_path = ?, finished_at = ?, "
      "updated_at = ?, lease_expires_at = 0, data_version = (SELECT value FROM store_meta "
      "WHERE key = 'data_version') WHERE id = ? AND worker = ? AND status = 'running'");
  st.bind(1, status);
  st.bind(2, message);
  st.bind(3, error_file_path);
  st.bind(4, now_us);
  st.bind(5, now_us);
  st.bind(6, job_id);
  st.bind(7, worker);
  st.step();
  return sqlite3_changes(write_db_.get()) == 1;
}

}  // namespace contacts
