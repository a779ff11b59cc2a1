#include "store/postgres/pg_handle.h"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <exception>
#include <optional>
#include <stdexcept>

#include <poll.h>

#include "metrics/service_metrics.h"

namespace contacts::pg {
namespace {

// The server is unreachable, gone, or not accepting queries right now (as opposed to a
// query that failed on its own).
bool unavailable(PGconn* c, const PGresult* r) {
  if (!c || PQstatus(c) != CONNECTION_OK) return true;
  const char* state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
  if (!state) return r == nullptr;
  const std::string_view s(state);
  return s.starts_with("08") || s.starts_with("57P");
}

[[noreturn]] void throw_pg_error(PGconn* c, std::string_view what, const PGresult* r = nullptr) {
  const char* msg = r ? PQresultErrorMessage(r) : nullptr;
  if (!msg || !*msg) msg = c ? PQerrorMessage(c) : "no connection";
  std::string text = "postgres: " + std::string(what) + ": " + msg;
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  if (unavailable(c, r)) {
    metrics::count_store_error(metrics::StoreErrorKind::unavailable);
    throw StoreUnavailable(text);
  }
  metrics::count_store_error(metrics::StoreErrorKind::sql);
  const char* state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
  throw SqlError(text, state ? state : "");
}

Result checked(PGconn* c, PGresult* raw, std::string_view what) {
  Result result(raw);
  const ExecStatusType status = raw ? PQresultStatus(raw) : PGRES_FATAL_ERROR;
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) throw_pg_error(c, what, raw);
  return result;
}

std::string_view first_words(std::string_view sql) { return sql.substr(0, 60); }

}  // namespace

ConnHandle connect(const std::string& url) {
  const char* keys[] = {"dbname", "client_encoding", "application_name", nullptr};
  const char* values[] = {url.c_str(), "UTF8", "contacts-api", nullptr};
  ConnHandle conn(PQconnectdbParams(keys, values, /*expand_dbname=*/1));
  if (!conn) throw std::runtime_error("postgres: cannot allocate a connection");
  if (PQstatus(conn.get()) != CONNECTION_OK) throw_pg_error(conn.get(), "cannot connect");
  // Notices ("already exists, skipping") are expected and are not errors.
  PQsetNoticeProcessor(
      conn.get(), [](void*, const char*) {}, nullptr);
  return conn;
}

std::string_view Result::text(int row, int col) const {
  return {PQgetvalue(res_.get(), row, col), static_cast<size_t>(PQgetlength(res_.get(), row, col))};
}

int64_t Result::int64(int row, int col) const {
  const std::string_view s = text(row, col);
  int64_t v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || s.empty()) {
    throw std::runtime_error("postgres: not an integer: '" + std::string(s) + "'");
  }
  return v;
}

std::optional<int64_t> Result::optional_int64(int row, int col) const {
  if (is_null(row, col)) return std::nullopt;
  return int64(row, col);
}

uint64_t Result::affected() const {
  const std::string_view s = PQcmdTuples(res_.get());
  uint64_t v = 0;
  std::from_chars(s.data(), s.data() + s.size(), v);
  return v;
}

Params& Params::add(std::string_view text) {
  values_.emplace_back(std::string(text));
  return *this;
}

Params& Params::add(int64_t value) {
  values_.emplace_back(std::to_string(value));
  return *this;
}

Params& Params::add(std::optional<int64_t> value) { return value ? add(*value) : add_null(); }

Params& Params::add_null() {
  values_.emplace_back(std::nullopt);
  return *this;
}

std::vector<const char*> Params::pointers() const {
  std::vector<const char*> out;
  out.reserve(values_.size());
  for (const auto& v : values_) out.push_back(v ? v->c_str() : nullptr);
  return out;
}

Result exec(PGconn* c, const char* sql) { return checked(c, PQexec(c, sql), first_words(sql)); }

Result exec(PGconn* c, const std::string& sql, const Params& params) {
  const std::vector<const char*> values = params.pointers();
  return checked(c,
                 PQexecParams(c, sql.c_str(), params.size(), nullptr, values.data(), nullptr,
                              nullptr, /*resultFormat=*/0),
                 first_words(sql));
}

void for_each_row(PGconn* c, const std::string& sql, const Params& params,
                  const std::function<void(const Result&)>& row) {
  const std::vector<const char*> values = params.pointers();
  if (PQsendQueryParams(c, sql.c_str(), params.size(), nullptr, values.data(), nullptr, nullptr,
                        /*resultFormat=*/0) != 1) {
    throw_pg_error(c, first_words(sql));
  }
  PQsetSingleRowMode(c);  // refused only when not right after the send: rows then come in one result
  std::optional<Result> failure;
  std::exception_ptr thrown;  // what `row` threw: the remaining results are drained first
  while (PGresult* raw = PQgetResult(c)) {
    Result r(raw);
    const ExecStatusType status = PQresultStatus(raw);
    if (status == PGRES_SINGLE_TUPLE || (status == PGRES_TUPLES_OK && r.rows() > 0)) {
      if (thrown || failure) continue;
      try {
        row(r);
      } catch (...) {
        thrown = std::current_exception();
      }
    } else if (status != PGRES_TUPLES_OK && !failure) {
      failure.emplace(std::move(r));
    }
  }
  if (thrown) std::rethrow_exception(thrown);
  if (failure) throw_pg_error(c, first_words(sql), failure->raw());
}

namespace {

// Whether a byte of `w` may need escaping in COPY text: below 0x0E (tab, newline and carriage
// return are among them) or a backslash. Exact as a yes/no (the usual "has a byte less than"
// test of eight bytes at once).
bool may_need_escape(uint64_t w) {
  constexpr uint64_t kOnes = 0x0101010101010101ULL, kHighs = 0x8080808080808080ULL;
  const uint64_t below = (w - kOnes * 0x0E) & ~w & kHighs;
  const uint64_t x = w ^ (kOnes * static_cast<uint8_t>('\\'));
  const uint64_t backslash = (x - kOnes) & ~x & kHighs;
  return (below | backslash) != 0;
}

}  // namespace

void append_copy_field(std::string& line, std::string_view value) {
  // Runs of plain bytes are appended whole, and found eight bytes at a time: a byte at a time
  // was a quarter, then (with runs) half, of the bulk writer thread's time.
  const size_t n = value.size();
  size_t plain = 0;  // the first byte not appended yet
  size_t i = 0;
  while (i < n) {
    if (i + 8 <= n) {
      uint64_t w;
      std::memcpy(&w, value.data() + i, 8);
      if (!may_need_escape(w)) {
        i += 8;
        continue;
      }
    }
    for (const size_t end = std::min(n, i + 8); i < end; ++i) {
      const char* escaped;
      switch (value[i]) {
        case '\\': escaped = "\\\\"; break;
        case '\t': escaped = "\\t"; break;
        case '\n': escaped = "\\n"; break;
        case '\r': escaped = "\\r"; break;
        default: continue;
      }
      line.append(value.data() + plain, i - plain);
      line.append(escaped, 2);
      plain = i + 1;
    }
  }
  line.append(value.data() + plain, n - plain);
}

CopyIn::CopyIn(PGconn* c, const std::string& copy_sql) : conn_(c) {
  PGresult* raw = PQexec(c, copy_sql.c_str());
  Result start(raw);
  if (!raw || PQresultStatus(raw) != PGRES_COPY_IN) throw_pg_error(c, "COPY", raw);
}

CopyIn::~CopyIn() {
  if (done_) return;
  PQputCopyEnd(conn_, "abandoned");  // the statement fails; the connection is usable again
  while (PGresult* r = PQgetResult(conn_)) PQclear(r);
}

void CopyIn::put(std::string_view data) {
  constexpr size_t kChunk = 1 << 20;
  for (size_t off = 0; off < data.size(); off += kChunk) {
    const size_t n = std::min(kChunk, data.size() - off);
    if (PQputCopyData(conn_, data.data() + off, static_cast<int>(n)) != 1) {
      // The server may have ended the COPY with an error already: report that one (its
      // SQLSTATE tells a unique violation from a lost connection).
      done_ = true;
      throw_result_error("COPY data");
    }
  }
}

void CopyIn::finish() {
  done_ = true;
  if (PQputCopyEnd(conn_, nullptr) != 1) throw_result_error("COPY end");
  throw_result_error(nullptr);
}

void CopyIn::throw_result_error(const char* otherwise) {
  std::optional<Result> failure;
  while (PGresult* raw = PQgetResult(conn_)) {
    Result r(raw);
    if (PQresultStatus(raw) != PGRES_COMMAND_OK && !failure) failure.emplace(std::move(r));
  }
  if (failure) throw_pg_error(conn_, "COPY", failure->raw());
  if (otherwise) throw_pg_error(conn_, otherwise);
}

void copy_in(PGconn* c, const std::string& copy_sql, std::string_view data) {
  CopyIn copy(c, copy_sql);
  copy.put(data);
  copy.finish();
}

bool wait_readable(PGconn* c, std::chrono::milliseconds timeout) {
  pollfd fd{PQsocket(c), POLLIN, 0};
  if (fd.fd < 0) return true;  // no socket: let the caller's next libpq call report it
  return ::poll(&fd, 1, static_cast<int>(timeout.count())) != 0;
}

bool still_alive(PGconn* c) {
  if (PQstatus(c) != CONNECTION_OK) return false;
  // An idle pooled connection (no LISTEN) is sent nothing unless the server ends it: a
  // terminated backend sends a FATAL error and closes. Anything readable means "replace it".
  return !wait_readable(c, std::chrono::milliseconds(0));
}

Transaction::Transaction(PGconn* c, const char* begin_sql) : conn_(c) { exec(c, begin_sql); }

Transaction::~Transaction() {
  if (done_) return;
  // A failed rollback leaves the connection outside PQTRANS_IDLE; the pool resets it.
  PGresult* r = PQexec(conn_, "ROLLBACK");
  PQclear(r);
}

void Transaction::commit() {
  exec(conn_, "COMMIT");
  done_ = true;
}

}  // namespace contacts::pg
