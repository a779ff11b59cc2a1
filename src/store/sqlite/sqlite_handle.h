// RAII wrappers for SQLite connections and statements.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace contacts::sqlite {

struct DbCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
struct StmtFinalizer {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using DbHandle = std::unique_ptr<sqlite3, DbCloser>;

// Opens (creating if needed) the database at `path` with WAL and the pragmas we rely on.
// Throws std::runtime_error on failure.
DbHandle open_database(const std::string& path, bool read_only = false);

// Runs one or more statements without results. Throws on failure.
void exec(sqlite3* db, const char* sql);

class Statement {
 public:
  Statement(sqlite3* db, std::string_view sql);
  sqlite3_stmt* get() const { return stmt_.get(); }
  void reset();
  // The text is not copied: it must stay alive until the statement is stepped or reset.
  void bind(int index, std::string_view text);
  void bind(int index, int64_t value);
  void bind_null(int index);
  // Steps once: true when a row is available, false when done. Throws on error.
  bool step();
  int64_t column_int(int col) const { return sqlite3_column_int64(stmt_.get(), col); }
  bool column_is_null(int col) const { return sqlite3_column_type(stmt_.get(), col) == SQLITE_NULL; }
  std::string_view column_text(int col) const;

 private:
  sqlite3* db_;
  std::unique_ptr<sqlite3_stmt, StmtFinalizer> stmt_;
};

}  // namespace contacts::sqlite
