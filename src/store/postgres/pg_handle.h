// RAII wrappers for libpq connections and results, and the few calls the store makes.
#pragma once

#include <libpq-fe.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "store/store.h"

namespace contacts::pg {

// The server cannot be reached (the API answers 503): the store's one error type for it.
using Unavailable = StoreUnavailable;

// The server rejected a statement; `sqlstate` is its five-character SQLSTATE code
// (e.g. "57014" for a statement cancelled by statement_timeout).
struct SqlError : std::runtime_error {
  SqlError(const std::string& what, std::string state)
      : std::runtime_error(what), sqlstate(std::move(state)) {}
  std::string sqlstate;
};

struct ConnCloser {
  void operator()(PGconn* c) const { PQfinish(c); }
};
struct ResultClearer {
  void operator()(PGresult* r) const { PQclear(r); }
};
using ConnHandle = std::unique_ptr<PGconn, ConnCloser>;

// Opens a connection to `url` (a libpq URI or key=value string) with client_encoding UTF8.
// Throws StoreUnavailable with libpq's message when the server cannot be reached.
ConnHandle connect(const std::string& url);

// Every failed call throws StoreUnavailable when the connection is gone or the server is
// shutting down or starting (SQLSTATE classes 08 and 57P), SqlError otherwise.

// Waits until the connection's socket is readable or `timeout` passed; false on timeout.
bool wait_readable(PGconn* c, std::chrono::milliseconds timeout);

// True when an idle connection (one that does not LISTEN) is still usable: the server sent
// nothing since its last query (a server that restarted has closed it). Does not block.
bool still_alive(PGconn* c);

// A query result. Values are read as text; numbers are parsed and checked.
class Result {
 public:
  explicit Result(PGresult* r) : res_(r) {}
  const PGresult* raw() const { return res_.get(); }
  int rows() const { return PQntuples(res_.get()); }
  bool is_null(int row, int col) const { return PQgetisnull(res_.get(), row, col) != 0; }
  std::string_view text(int row, int col) const;
  // Throws std::runtime_error when the value is not an integer.
  int64_t int64(int row, int col) const;
  std::optional<int64_t> optional_int64(int row, int col) const;
  bool boolean(int row, int col) const { return text(row, col) == "t"; }
  // Rows touched by an INSERT/UPDATE/DELETE.
  uint64_t affected() const;

 private:
  std::unique_ptr<PGresult, ResultClearer> res_;
};

// Query parameters, sent as text and typed by the server from their use in the query.
class Params {
 public:
  Params& add(std::string_view text);
  Params& add(const char* text) { return add(std::string_view(text)); }
  Params& add(int64_t value);
  Params& add(bool value) { return add(std::string_view(value ? "t" : "f")); }
  Params& add(std::optional<int64_t> value);
  Params& add_null();
  int size() const { return static_cast<int>(values_.size()); }
  // Pointers into this object: valid until the next add().
  std::vector<const char*> pointers() const;

 private:
  std::vector<std::optional<std::string>> values_;
};

// Runs `sql` (one or more statements, no parameters). Throws on failure.
Result exec(PGconn* c, const char* sql);
inline Result exec(PGconn* c, const std::string& sql) { return exec(c, sql.c_str()); }
// Runs one parameterised statement. Throws on failure.
Result exec(PGconn* c, const std::string& sql, const Params& params);

// Runs one parameterised query in libpq's single-row mode: `row` gets each row (a Result of
// one row) as it arrives, so the server sends the next rows while the caller handles this
// one (a cursor's FETCH leaves one side idle while the other works). Throws on failure, after
// the connection has been drained (usable again, its transaction aborted).
void for_each_row(PGconn* c, const std::string& sql, const Params& params,
                  const std::function<void(const Result&)>& row);

// Appends `value` to a COPY text-format line, escaping backslash, tab, newline and CR.
void append_copy_field(std::string& line, std::string_view value);
// Runs `copy_sql` (COPY ... FROM STDIN) and sends `data` (COPY text format). Throws on failure.
void copy_in(PGconn* c, const std::string& copy_sql, std::string_view data);

// A COPY ... FROM STDIN sent piece by piece, so that the server parses and stores the rows
// sent while the caller prepares the next ones. Destroyed before finish(), it abandons the
// statement (which fails, as does its transaction).
class CopyIn {
 public:
  CopyIn(PGconn* c, const std::string& copy_sql);  // throws on failure
  ~CopyIn();
  CopyIn(const CopyIn&) = delete;
  CopyIn& operator=(const CopyIn&) = delete;
  void put(std::string_view data);  // COPY text format, whole lines or not; throws on failure
  void finish();                    // ends the data; throws when the server rejected any of it

 private:
  // Throws the error result of the statement if there is one, else (when `otherwise` is not
  // null) the connection's error under that name.
  void throw_result_error(const char* otherwise);
  PGconn* conn_;
  bool done_ = false;
};

// A transaction on `c`: begun by the constructor, rolled back by the destructor unless
// commit() succeeded. Not copyable.
class Transaction {
 public:
  explicit Transaction(PGconn* c, const char* begin_sql = "BEGIN");
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  void commit();

 private:
  PGconn* conn_;
  bool done_ = false;
};

}  // namespace contacts::pg
