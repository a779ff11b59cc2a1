#include "store/sqlite/sqlite_handle.h"

#include <stdexcept>

#include "metrics/service_metrics.h"

namespace contacts::sqlite {

static std::runtime_error sqlite_error(sqlite3* db, std::string_view what) {
  metrics::count_store_error(metrics::StoreErrorKind::sql);
  return std::runtime_error(std::string(what) + ": " + (db ? sqlite3_errmsg(db) : "no db"));
}

DbHandle open_database(const std::string& path, bool read_only) {
  // Before SQLite initialises (the first open): no global memory statistics, whose mutex
  // every allocation of every connection would take.
  static const bool configured = [] {
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    return true;
  }();
  (void)configured;
  sqlite3* raw = nullptr;
  const int flags = (read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) |
                    SQLITE_OPEN_NOMUTEX;
  const int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  DbHandle db(raw);
  if (rc != SQLITE_OK) throw sqlite_error(raw, "cannot open database");
  sqlite3_busy_timeout(db.get(), 30000);
  // 16 KiB pages for a new database (an existing one keeps its size): a few contacts a page,
  // fewer pages and WAL frames to write per row.
  if (!read_only) exec(db.get(), "PRAGMA page_size=16384; PRAGMA journal_mode=WAL;");
  exec(db.get(),
       "PRAGMA synchronous=NORMAL; PRAGMA temp_store=MEMORY; PRAGMA cache_size=-65536;"
       "PRAGMA foreign_keys=ON;");
  return db;
}

void exec(sqlite3* db, const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    metrics::count_store_error(metrics::StoreErrorKind::sql);
    std::string msg = err ? err : "unknown error";
    sqlite3_free(err);
    throw std::runtime_error("sqlite: " + msg);
  }
}

Statement::Statement(sqlite3* db, std::string_view sql) : db_(db) {
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v3(db, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT,
                         &raw, nullptr) != SQLITE_OK) {
    throw sqlite_error(db, "prepare");
  }
  stmt_.reset(raw);
}

void Statement::reset() {
  sqlite3_reset(stmt_.get());
  sqlite3_clear_bindings(stmt_.get());
}

void Statement::bind(int index, std::string_view text) {
  if (sqlite3_bind_text(stmt_.get(), index, text.data(), static_cast<int>(text.size()),
                        SQLITE_STATIC) != SQLITE_OK) {
    throw sqlite_error(db_, "bind");
  }
}

void Statement::bind(int index, int64_t value) {
  if (sqlite3_bind_int64(stmt_.get(), index, value) != SQLITE_OK) throw sqlite_error(db_, "bind");
}

void Statement::bind_null(int index) {
  if (sqlite3_bind_null(stmt_.get(), index) != SQLITE_OK) throw sqlite_error(db_, "bind");
}

bool Statement::step() {
  const int rc = sqlite3_step(stmt_.get());
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  throw sqlite_error(db_, "step");
}

std::string_view Statement::column_text(int col) const {
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_.get(), col));
  if (!p) return {};
  return {p, static_cast<size_t>(sqlite3_column_bytes(stmt_.get(), col))};
}

}  // namespace contacts::sqlite
