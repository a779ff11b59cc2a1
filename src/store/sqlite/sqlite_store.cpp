#include "store/sqlite/sqlite_store.h"

#include <filesystem>
#include <stdexcept>
#include <unordered_set>

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
      "CREATE TABLE IF NOT EXISTS users("
      "id INTEGER PRIMARY KEY AUTOINCREMENT,"
      "username TEXT NOT NULL UNIQUE,"
      "password_hash TEXT NOT NULL,"
      "is_staff INTEGER NOT NULL DEFAULT 0,"
      "is_active INTEGER NOT NULL DEFAULT 1,"
      "created_at INTEGER NOT NULL);";
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
  sql += "meta_data=excluded.meta_data,updated_at=excluded.updated_at,version=excluded.version "
         "RETURNING id, created_at = updated_at";
  return sql;
}

}  // namespace

struct SqliteStore::WriteStatements {
  sqlite::Statement upsert;
  sqlite::Statement bump_version;
  sqlite::Statement read_version;
  WriteStatements(sqlite3* db)
      : upsert(db, upsert_sql()),
        bump_version(db, "UPDATE store_meta SET value = value + 1 WHERE key = 'data_version'"),
        read_version(db, "SELECT value FROM store_meta WHERE key = 'data_version'") {}
};

SqliteStore::SqliteStore(const std::string& data_dir) {
  std::filesystem::create_directories(data_dir);
  path_ = (std::filesystem::path(data_dir) / "contacts.db").string();
  write_db_ = sqlite::open_database(path_);
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
}

SqliteStore::~SqliteStore() = default;

UpsertCounts SqliteStore::upsert_batch(std::span<const ContactValues> rows, int64_t now_us,
                                       const std::function<void()>& on_commit) {
  std::lock_guard lock(write_mutex_);
  UpsertCounts counts;
  sqlite3* db = write_db_.get();
  sqlite::exec(db, "BEGIN IMMEDIATE;");
  try {
    write_->bump_version.reset();
    write_->bump_version.step();
    write_->read_version.reset();
    write_->read_version.step();
    const int64_t version = write_->read_version.column_int(0);
    auto& st = write_->upsert;
    std::string email_key;
    std::unordered_set<int64_t> created_here;
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
      for (const auto& v : row.text) st.bind(i++, v);
      for (const auto& v : row.numbers) {
        if (v) st.bind(i++, *v); else st.bind_null(i++);
      }
      st.bind(i++, row.meta_data_json);
      st.bind(i++, now_us);
      st.bind(i++, now_us);
      st.bind(i++, version);
      // A row is new when created_at = updated_at and it was not created earlier in this
      // batch (a later row of the same batch with the same email updates it).
      const bool stepped = st.step();
      if (stepped && st.column_int(1) != 0 && created_here.insert(st.column_int(0)).second) {
        ++counts.inserted;
      } else {
        ++counts.updated;
      }
      while (st.step()) {
      }
    }
    if (on_commit) on_commit();
    sqlite::exec(db, "COMMIT;");
  } catch (...) {
    sqlite::exec(db, "ROLLBACK;");
    throw;
  }
  return counts;
}

void SqliteStore::scan(uint64_t since_version, const std::function<void(Contact&&)>& fn) const {
  auto db = sqlite::open_database(path_, /*read_only=*/true);
  sqlite::Statement st(db.get(), "SELECT id," + column_list() +
                                     ",created_at,updated_at FROM contacts WHERE version > ? "
                                     "ORDER BY id");
  st.bind(1, static_cast<int64_t>(since_version));
  while (st.step()) {
    Contact c;
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
  }
}

uint64_t SqliteStore::data_version() const {
  std::lock_guard lock(read_mutex_);
  sqlite::Statement st(read_db_.get(), "SELECT value FROM store_meta WHERE key = 'data_version'");
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

}  // namespace contacts
