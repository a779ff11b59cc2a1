#include "store/postgres/pg_pool.h"

#include <stdexcept>

namespace contacts::pg {

PgPool::PgPool(std::string url, size_t max_size) : url_(std::move(url)), max_size_(max_size) {
  if (max_size_ == 0) throw std::invalid_argument("PgPool: max_size must be at least 1");
}

PgPool::Lease::~Lease() {
  if (conn_) pool_->release(std::move(conn_));
}

PgPool::Lease PgPool::acquire() {
  ConnHandle conn;
  {
    std::unique_lock lock(mutex_);
    freed_.wait(lock, [&] { return !idle_.empty() || open_ < max_size_; });
    if (!idle_.empty()) {
      conn = std::move(idle_.back());
      idle_.pop_back();
    } else {
      ++open_;
    }
  }
  try {
    if (!conn) {
      conn = connect(url_);
    } else if (!still_alive(conn.get())) {
      conn.reset();
      conn = connect(url_);
    }
  } catch (...) {
    {
      std::lock_guard lock(mutex_);
      --open_;
    }
    freed_.notify_one();
    throw;
  }
  return Lease(this, std::move(conn));
}

void PgPool::release(ConnHandle conn) {
  // A connection left inside a transaction (a failed ROLLBACK) is not reusable: close it.
  if (PQstatus(conn.get()) == CONNECTION_OK && PQtransactionStatus(conn.get()) != PQTRANS_IDLE) {
    conn.reset();
  }
  {
    std::lock_guard lock(mutex_);
    if (conn) {
      idle_.push_back(std::move(conn));
    } else {
      --open_;
    }
  }
  freed_.notify_one();
}

}  // namespace contacts::pg
