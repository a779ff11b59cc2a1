// ContactReader answered by SQL on a PostgreSQL database: the primary or a hot-standby replica.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "query/reader.h"
#include "store/postgres/pg_pool.h"

namespace contacts {

// Reads the schema PostgresStore writes (migration 2 or later: folded columns) and returns
// exactly what the in-memory index (index::IndexReader) returns for the same data. Only reads:
// every statement runs in a read-only transaction, so a streaming replica serves it as well.
//
// Thread-safe: each call borrows one connection from its own pool of at most `pool_size`.
// Every method throws pg::Unavailable (= StoreUnavailable, answered 503) when the server cannot
// be reached (connection refused or broken), and pg::SqlError for any other database failure.
class PostgresReader final : public ContactReader {
 public:
  // Connects lazily (the first call opens the first connection). `count_timeout_ms` limits
  // count() (PostgreSQL statement_timeout; 0 = none).
  PostgresReader(std::string url, size_t pool_size, int64_t count_timeout_ms);
  ~PostgresReader() override;

  // Cursor pages walk (created_at, id) by keyset; limit-offset pages sort in SQL. The page and
  // the checks for next/previous run in one REPEATABLE READ snapshot.
  ListPage list(const ListQuery& q) const override;
  // Exact, filtered or not. Throws Error(count_timeout) when it takes
  // longer than count_timeout_ms.
  uint64_t count(const ContactFilter& filter) const override;
  std::optional<Contact> get(int64_t id) const override;
  AnalyticsSnapshot analytics(const AnalyticsQuery& q) const override;
  FieldPage field_values(const FieldQuery& q) const override;
  // A server-side cursor in one REPEATABLE READ READ ONLY transaction (one consistent
  // snapshot, any ordering, a batch per next()). The stream holds one of the pool's
  // connections until it is destroyed, and the transaction open until the last batch.
  std::unique_ptr<ContactStream> stream(const ListQuery& q) const override;
  // The database's data_version, read on every call (one indexed row): every upsert batch
  // moves it in the transaction that writes the rows, so it changes whenever the data does.
  uint64_t generation() const override;
  uint64_t data_version() const override;

 private:
  std::unique_ptr<pg::PgPool> pool_;
  const int64_t count_timeout_ms_;
};

}  // namespace contacts
