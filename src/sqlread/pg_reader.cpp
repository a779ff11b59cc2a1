#include "sqlread/pg_reader.h"

#include <algorithm>

#include "sqlread/pg_reader_sql.h"
#include "store/postgres/postgres_schema.h"
#include "util/deadline.h"
#include "util/error.h"

namespace contacts {
namespace {

constexpr const char* kSnapshotBegin = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY";
constexpr const char* kQueryCanceled = "57014";

// Runs `fn` (statements on `c`, inside a transaction) under the read's time budget (contract
// section 11): the statement timeout is what is left of it, and a statement cancelled by it
// ends the read as an index scan past its budget does.
template <class Fn>
auto within_budget(PGconn* c, Fn fn) {
  deadline::check();  // a budget already spent sends no statement at all
  if (const auto ms = deadline::remaining_ms()) {
    pg::exec(c, "SELECT set_config('statement_timeout', $1, true)",
             pg::Params().add(std::to_string(*ms)));
  }
  try {
    return fn();
  } catch (const pg::SqlError& e) {
    if (e.sqlstate == kQueryCanceled) throw deadline::Exceeded();
    throw;
  }
}

// A position in the (created_at, id) order.
struct Position {
  int64_t created_at_us;
  int64_t id;
};

Position position_of(const Contact& c) { return {c.created_at_us, c.id}; }
CursorToken token(const Position& p, bool backwards) { return {p.created_at_us, p.id, backwards}; }

// One step of a cursor walk: the rows matching `filter` strictly after `from` (or from the
// start) in (created_at, id) order, ascending or descending.
class CursorWalk {
 public:
  CursorWalk(PGconn* c, const ListQuery& q) : conn_(c), q_(q) {}

  std::vector<Contact> rows(std::optional<Position> from, bool descending, size_t limit) const {
    pg::Statement st;
    st.sql = "SELECT " + pg::contact_select_columns(q_.include_meta) + " FROM contacts WHERE " +
             condition(from, descending, st) + " ORDER BY created_at" +
             (descending ? " DESC, id DESC" : ", id") + " LIMIT " +
             st.bind(static_cast<int64_t>(limit));
    const pg::Result r = pg::exec(conn_, st.sql, st.params);
    std::vector<Contact> out;
    out.reserve(r.rows());
    for (int row = 0; row < r.rows(); ++row) out.push_back(pg::read_contact(r, row));
    return out;
  }

  bool any(Position from, bool descending) const {
    pg::Statement st;
    st.sql = "SELECT EXISTS(SELECT 1 FROM contacts WHERE " + condition(from, descending, st) + ")";
    return pg::exec(conn_, st.sql, st.params).boolean(0, 0);
  }

 private:
  std::string condition(std::optional<Position> from, bool descending, pg::Statement& st) const {
    std::string sql = pg::filter_condition(q_.filter, st);
    if (from) {
      sql += std::string(" AND (created_at, id)") + (descending ? "<" : ">") + "(" +
             st.bind(from->created_at_us) + "," + st.bind(from->id) + ")";
    }
    return sql;
  }

  PGconn* conn_;
  const ListQuery& q_;
};

// The index's cursor pagination (index/list_pages.cpp), step for step.
ListPage cursor_page(PGconn* c, const ListQuery& q) {
  const CursorWalk walk(c, q);
  const bool descending = q.ordering.front().descending;  // display direction
  const size_t size = q.page_size;
  ListPage page;
  if (!q.cursor) {
    page.rows = walk.rows(std::nullopt, descending, size + 1);
    if (page.rows.size() > size) {
      page.rows.pop_back();
      page.next = token(position_of(page.rows.back()), false);
    }
    return page;
  }
  const Position at{q.cursor->created_at_us, q.cursor->id};
  if (!q.cursor->backwards) {
    page.rows = walk.rows(at, descending, size + 1);
    if (page.rows.size() > size) {
      page.rows.pop_back();
      page.next = token(position_of(page.rows.back()), false);
    }
    const Position first = page.rows.empty() ? at : position_of(page.rows.front());
    if (walk.any(first, !descending)) page.previous = token(first, true);
    return page;
  }
  page.rows = walk.rows(at, !descending, size + 1);
  if (page.rows.size() > size) page.rows.pop_back();
  std::reverse(page.rows.begin(), page.rows.end());
  if (!page.rows.empty() && walk.any(position_of(page.rows.front()), !descending)) {
    page.previous = token(position_of(page.rows.front()), true);
  }
  const Position last = page.rows.empty() ? at : position_of(page.rows.back());
  if (walk.any(last, descending)) page.next = token(last, false);
  return page;
}

int64_t clamped(uint64_t n) { return static_cast<int64_t>(std::min<uint64_t>(n, INT64_MAX)); }

ListPage ordered_page(PGconn* c, const ListQuery& q) {
  pg::Statement st;
  st.sql = "SELECT " + pg::contact_select_columns(q.include_meta) + " FROM contacts WHERE " +
           pg::filter_condition(q.filter, st) + " ORDER BY " + pg::order_by(q.ordering) +
           " LIMIT " + st.bind(int64_t{q.page_size} + 1) + " OFFSET " + st.bind(clamped(q.offset));
  const pg::Result r = pg::exec(c, st.sql, st.params);
  ListPage page;
  for (int row = 0; row < r.rows() && page.rows.size() < q.page_size; ++row) {
    page.rows.push_back(pg::read_contact(r, row));
  }
  page.has_more = static_cast<size_t>(r.rows()) > q.page_size;
  return page;
}

// Every matching contact through one server-side cursor, in one REPEATABLE READ transaction:
// one consistent snapshot, whatever is written meanwhile, read a batch at a time.
class CursorStream final : public ContactStream {
 public:
  CursorStream(pg::PgPool::Lease lease, const ListQuery& q)
      : lease_(std::move(lease)), tx_(lease_.get(), kSnapshotBegin) {
    pg::Statement st;
    st.sql = "DECLARE contacts_stream NO SCROLL CURSOR FOR SELECT " +
             pg::contact_select_columns(q.include_meta) + " FROM contacts WHERE " +
             pg::filter_condition(q.filter, st) + " ORDER BY " + pg::order_by(q.ordering);
    pg::exec(lease_.get(), st.sql, st.params);
  }

  bool next(std::vector<Contact>& out, size_t max_rows) override {
    out.clear();
    if (done_) return false;
    const size_t wanted = std::max<size_t>(max_rows, 1);
    const pg::Result r =
        pg::exec(lease_.get(), "FETCH FORWARD " + std::to_string(wanted) + " FROM contacts_stream");
    out.reserve(static_cast<size_t>(r.rows()));
    for (int row = 0; row < r.rows(); ++row) out.push_back(pg::read_contact(r, row));
    if (static_cast<size_t>(r.rows()) < wanted) {
      done_ = true;
      tx_.commit();  // closes the cursor; the connection goes back to the pool with the stream
    }
    return !done_;
  }

 private:
  pg::PgPool::Lease lease_;
  pg::Transaction tx_;
  bool done_ = false;
};

std::vector<ValueCount> top_values(PGconn* c, const char* column, uint32_t limit) {
  pg::Statement st;
  st.sql = std::string("SELECT ") + column + ", count(*) FROM contacts WHERE " + column +
           "<>'' GROUP BY 1 ORDER BY 2 DESC, " + column + " COLLATE " + pg::kTextCollation +
           ", " + column + " COLLATE \"C\" LIMIT " +
           st.bind(int64_t{limit});
  const pg::Result r = pg::exec(c, st.sql, st.params);
  std::vector<ValueCount> out;
  for (int row = 0; row < r.rows(); ++row) {
    out.push_back({std::string(r.text(row, 0)), static_cast<uint64_t>(r.int64(row, 1))});
  }
  return out;
}

uint64_t count_all(PGconn* c) {
  return static_cast<uint64_t>(pg::exec(c, "SELECT count(*) FROM contacts").int64(0, 0));
}

}  // namespace

PostgresReader::PostgresReader(std::string url, size_t pool_size, int64_t count_timeout_ms)
    : pool_(std::make_unique<pg::PgPool>(std::move(url), pool_size)),
      count_timeout_ms_(count_timeout_ms) {}

PostgresReader::~PostgresReader() = default;

ListPage PostgresReader::list(const ListQuery& q) const {
  auto lease = pool_->acquire();
  pg::Transaction tx(lease.get(), kSnapshotBegin);
  ListPage page = within_budget(lease.get(), [&] {
    return q.cursor_strategy ? cursor_page(lease.get(), q) : ordered_page(lease.get(), q);
  });
  tx.commit();
  return page;
}

uint64_t PostgresReader::count(const ContactFilter& filter) const {
  auto lease = pool_->acquire();
  PGconn* c = lease.get();
  pg::Transaction tx(c, "BEGIN READ ONLY");
  const int64_t budget = std::min(std::max<int64_t>(count_timeout_ms_, 0),
                                  deadline::remaining_ms().value_or(INT64_MAX));
  pg::exec(c, "SELECT set_config('statement_timeout', $1, true)",
           pg::Params().add(std::to_string(budget)));
  pg::Statement st;
  st.sql = "SELECT count(*) FROM contacts WHERE " + pg::filter_condition(filter, st);
  uint64_t n = 0;
  try {
    n = static_cast<uint64_t>(pg::exec(c, st.sql, st.params).int64(0, 0));
  } catch (const pg::SqlError& e) {
    if (e.sqlstate != kQueryCanceled) throw;
    throw Error(ErrorCode::count_timeout,
                   "Error counting contacts. The query may be too complex or timeout. Please try "
                   "with simpler filters.");
  }
  tx.commit();
  return n;
}

std::optional<Contact> PostgresReader::get(int64_t id) const {
  auto lease = pool_->acquire();
  pg::Statement st;
  st.sql = "SELECT " + pg::contact_select_columns(true) + " FROM contacts WHERE id=" + st.bind(id);
  pg::Transaction tx(lease.get(), "BEGIN READ ONLY");
  const pg::Result r =
      within_budget(lease.get(), [&] { return pg::exec(lease.get(), st.sql, st.params); });
  tx.commit();
  if (r.rows() == 0) return std::nullopt;
  return pg::read_contact(r, 0);
}

AnalyticsSnapshot PostgresReader::analytics(const AnalyticsQuery& q) const {
  auto lease = pool_->acquire();
  PGconn* c = lease.get();
  pg::Transaction tx(c, kSnapshotBegin);
  AnalyticsSnapshot a = within_budget(c, [&] {
    AnalyticsSnapshot s;
    s.total_contacts = count_all(c);
    s.top_countries = top_values(c, "country", q.limit);
    s.top_industries = top_values(c, "industry", q.limit);
    return s;
  });
  tx.commit();
  return a;
}

FieldPage PostgresReader::field_values(const FieldQuery& q) const {
  pg::Statement st;
  std::string where = "value<>''";
  if (q.search_folded.find('\0') != std::string::npos) {
    where += " AND FALSE";
  } else if (!q.search_folded.empty()) {
    where += " AND folded LIKE " + st.bind(pg::contains_pattern(q.search_folded));
  }
  const std::string source = pg::field_source(q);
  if (q.distinct) {
    st.sql = "SELECT min(id), value FROM " + source + " WHERE " + where +
             " GROUP BY value ORDER BY value COLLATE " + pg::kTextCollation +
             ", value COLLATE \"C\"";
  } else {
    st.sql = "SELECT id, value FROM " + source + " WHERE " + where + " ORDER BY id, pos";
  }
  st.sql += " LIMIT " + st.bind(int64_t{q.limit} + 1) + " OFFSET " + st.bind(clamped(q.offset));
  auto lease = pool_->acquire();
  pg::Transaction tx(lease.get(), "BEGIN READ ONLY");
  const pg::Result r =
      within_budget(lease.get(), [&] { return pg::exec(lease.get(), st.sql, st.params); });
  tx.commit();
  FieldPage page;
  for (int row = 0; row < r.rows() && page.rows.size() < q.limit; ++row) {
    page.rows.push_back({r.int64(row, 0), std::string(r.text(row, 1))});
  }
  page.has_more = static_cast<size_t>(r.rows()) > q.limit;
  return page;
}

std::unique_ptr<ContactStream> PostgresReader::stream(const ListQuery& q) const {
  return std::make_unique<CursorStream>(pool_->acquire(), q);
}

uint64_t PostgresReader::generation() const { return data_version(); }

uint64_t PostgresReader::data_version() const {
  auto lease = pool_->acquire();
  return static_cast<uint64_t>(
      pg::exec(lease.get(), "SELECT value FROM store_meta WHERE key='data_version'").int64(0, 0));
}

}  // namespace contacts
