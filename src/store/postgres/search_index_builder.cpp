#include "store/postgres/search_index_builder.h"

#include <chrono>
#include <cstdio>

#include "store/postgres/pg_handle.h"
#include "store/postgres/postgres_schema.h"
#include "util/log.h"

namespace contacts::pg {
void SearchIndexBuilder::cancel_until_ended(std::unique_lock<std::mutex>& lock) {
  // Again until the thread ends: a cancel that arrives between two statements is lost.
  while (running_) {
    if (cancel_) {
      char err[256];
      PQcancel(cancel_, err, sizeof err);
    }
    ended_.wait_for(lock, std::chrono::milliseconds(200));
  }
}

SearchIndexBuilder::~SearchIndexBuilder() {
  std::unique_lock lock(mutex_);
  stopping_ = true;
  cancel_until_ended(lock);
  lock.unlock();
  if (thread_.joinable()) thread_.join();
}

bool SearchIndexBuilder::stop_build() {
  std::unique_lock lock(mutex_);
  if (!running_) return false;
  stopping_build_ = true;
  cancel_until_ended(lock);
  stopping_build_ = false;
  return true;
}

void SearchIndexBuilder::start() {
  std::lock_guard lock(mutex_);
  if (running_ || stopping_) return;
  if (thread_.joinable()) thread_.join();  // the previous build has ended
  running_ = true;
  thread_ = std::thread([this] { run(); });
}

void SearchIndexBuilder::wait() {
  std::unique_lock lock(mutex_);
  ended_.wait(lock, [this] { return !running_; });
}

bool try_index_work_lock(PGconn* c) {
  return exec(c, "SELECT pg_try_advisory_lock($1::bigint)", Params().add(kIndexWorkLockKey))
             .text(0, 0) == "t";
}

void SearchIndexBuilder::run() {
  try {
    ConnHandle conn = connect(url_);
    PGconn* c = conn.get();
    if (try_index_work_lock(c)) {
      {
        std::lock_guard lock(mutex_);
        if (!stopping_) cancel_ = PQgetCancel(c);
      }
      // NULL: missing; f: left invalid by a build that stopped half-way.
      const Result state = exec(c,
                                "SELECT indisvalid FROM pg_index "
                                "WHERE indexrelid = to_regclass('" +
                                    std::string(kSearchIndex) + "')");
      const bool valid = state.rows() == 1 && state.text(0, 0) == "t";
      bool stop;
      {
        std::lock_guard lock(mutex_);
        stop = stopping_ || stopping_build_;
      }
      if (!valid && !stop) {
        const auto start = std::chrono::steady_clock::now();
        if (state.rows() == 1)
          exec(c, std::string("DROP INDEX CONCURRENTLY IF EXISTS ") + kSearchIndex);
        exec(c, "SET maintenance_work_mem = '256MB'");
        exec(c, search_index_sql(/*concurrently=*/true));
        const double s =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        char msg[96];
        std::snprintf(msg, sizeof msg, "search index for SQL reads built in %.1f s", s);
        log_event("info", msg);
      }
    }
  } catch (const std::exception& e) {
    std::lock_guard lock(mutex_);
    if (stopping_build_) {
      log_event("info", "search index build stopped for a large import; it is built after it");
    } else if (!stopping_) {
      log_event("warning", "search index for SQL reads not built", e.what());
    }
  }
  std::lock_guard lock(mutex_);
  if (cancel_) PQfreeCancel(cancel_);
  cancel_ = nullptr;
  running_ = false;
  ended_.notify_all();
}

}  // namespace contacts::pg
