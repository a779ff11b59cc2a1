// Keeps an SQLite database's WAL small without making its writer wait: checkpoints run on a
// thread of their own, on their own connection (PASSIVE: they copy committed pages into the
// database beside the writer, never blocking it), started each time a commit leaves the WAL
// over a threshold. Once a checkpoint has copied everything, the writer's next transaction
// starts the WAL over from its beginning, so the file stays about the threshold's size.
// Should the thread fall behind (the WAL reaches four times the threshold), the writer runs a
// checkpoint itself, after waiting for the thread's if one runs (SQLite runs one at a time):
// without a reader pinning it, the WAL stays about four times the threshold plus a
// transaction, however slow the checkpoints.
#pragma once

#include <sqlite3.h>

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

#include "store/sqlite/sqlite_handle.h"

namespace contacts::sqlite {

class WalCheckpointer {
 public:
  // Watches the commits of `writer` (a connection to `path`, which must outlive this object;
  // its WAL hook is taken, replacing SQLite's automatic checkpoints).
  WalCheckpointer(sqlite3* writer, const std::string& path, int64_t threshold_pages);
  ~WalCheckpointer();
  WalCheckpointer(const WalCheckpointer&) = delete;
  WalCheckpointer& operator=(const WalCheckpointer&) = delete;

  // Checkpoints done so far, by the thread and by the writer.
  uint64_t checkpoints() const;

 private:
  static int on_commit(void* self, sqlite3* db, const char* name, int frames);
  void loop();

  sqlite3* writer_;
  std::string path_;
  int64_t threshold_pages_;
  mutable std::mutex mutex_;
  std::condition_variable wanted_;
  std::condition_variable done_;  // the thread's checkpoint has ended
  bool want_ = false;
  bool running_ = false;  // the thread's checkpoint runs
  bool stop_ = false;
  uint64_t checkpoints_ = 0;
  std::thread thread_;  // last: started once the rest is ready
};

}  // namespace contacts::sqlite
