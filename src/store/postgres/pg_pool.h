// A small bounded pool of PostgreSQL connections.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <string>
#include <vector>

#include "store/postgres/pg_handle.h"

namespace contacts::pg {

// Opens at most `max_size` connections to `url`, lazily. Safe for concurrent use.
class PgPool {
 public:
  // One connection, exclusively the holder's until the lease is destroyed. Move-only.
  class Lease {
   public:
    Lease(Lease&& other) noexcept : pool_(other.pool_), conn_(std::move(other.conn_)) {}
    Lease& operator=(Lease&&) = delete;
    ~Lease();
    PGconn* get() const { return conn_.get(); }

   private:
    friend class PgPool;
    Lease(PgPool* pool, ConnHandle conn) : pool_(pool), conn_(std::move(conn)) {}
    PgPool* pool_;
    ConnHandle conn_;
  };

  // Throws std::invalid_argument when `max_size` is 0. Opens nothing yet.
  PgPool(std::string url, size_t max_size);
  PgPool(const PgPool&) = delete;
  PgPool& operator=(const PgPool&) = delete;

  // Waits until a connection is free. A connection that broke (PQstatus != CONNECTION_OK) is
  // reset first. Throws std::runtime_error when no connection can be opened.
  Lease acquire();

  size_t max_size() const { return max_size_; }

 private:
  void release(ConnHandle conn);

  const std::string url_;
  const size_t max_size_;
  std::mutex mutex_;
  std::condition_variable freed_;
  std::vector<ConnHandle> idle_;  // guarded by mutex_
  size_t open_ = 0;               // connections idle or leased; guarded by mutex_
};

}  // namespace contacts::pg
