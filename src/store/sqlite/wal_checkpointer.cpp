#include "store/sqlite/wal_checkpointer.h"

#include "util/thread_priority.h"

namespace contacts::sqlite {

WalCheckpointer::WalCheckpointer(sqlite3* writer, const std::string& path,
                                 int64_t threshold_pages)
    : writer_(writer), path_(path), threshold_pages_(threshold_pages), thread_([this] {
        priority::name_this_thread("wal-checkpoint");
        loop();
      }) {
  sqlite3_wal_hook(writer_, &WalCheckpointer::on_commit, this);
}

WalCheckpointer::~WalCheckpointer() {
  sqlite3_wal_hook(writer_, nullptr, nullptr);
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wanted_.notify_all();
  thread_.join();
}

uint64_t WalCheckpointer::checkpoints() const {
  std::lock_guard lock(mutex_);
  return checkpoints_;
}

// Runs in the writer's thread after each commit, with the frames the WAL now holds.
int WalCheckpointer::on_commit(void* raw, sqlite3* db, const char* name, int frames) {
  auto* self = static_cast<WalCheckpointer*>(raw);
  if (frames < self->threshold_pages_) return SQLITE_OK;
  if (frames >= 4 * self->threshold_pages_) {
    // The thread fell behind (or a reader pins the WAL): copy here, as SQLite would. A
    // checkpoint the thread is still running would make this one give up at once (one
    // checkpoint at a time), and the WAL grow on: the writer waits for it first.
    std::unique_lock lock(self->mutex_);
    self->done_.wait(lock, [self] { return !self->running_; });
    lock.unlock();
    sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
    lock.lock();
    ++self->checkpoints_;
    return SQLITE_OK;
  }
  {
    std::lock_guard lock(self->mutex_);
    self->want_ = true;
  }
  self->wanted_.notify_one();
  return SQLITE_OK;
}

void WalCheckpointer::loop() {
  DbHandle db;
  std::unique_lock lock(mutex_);
  for (;;) {
    wanted_.wait(lock, [this] { return stop_ || want_; });
    if (stop_) return;
    want_ = false;
    running_ = true;
    lock.unlock();
    try {
      if (!db) db = open_database(path_);
      sqlite3_wal_checkpoint_v2(db.get(), "main", SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
    } catch (const std::exception&) {
      // The writer's own checkpoint (at four times the threshold) takes over.
    }
    lock.lock();
    running_ = false;
    done_.notify_all();
    ++checkpoints_;
  }
}

}  // namespace contacts::sqlite
