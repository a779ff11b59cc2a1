// Builds the trigram search index of the contacts table (contacts_search_trgm) in the
// background with CREATE INDEX CONCURRENTLY: reads and writes go on while it runs.
//
// Why in the background: at about 100 µs a row (190 trigrams a contact, measured on this
// machine), the index takes longer to build than the rows take to load (100 s for 1M rows).
// It serves only the SQL read paths (the replica, and the primary while a read index catches
// up); until it is valid those paths search by scanning the table: same answers, slower.
//
// Index work, one process at a time: the builder holds the advisory lock kIndexWorkLockKey
// (session level) while it works, as does a bulk import into an empty table from the moment
// it drops the read indexes until it has built its B-trees again, and migrate() while it
// repairs indexes. A process that cannot take it leaves the work to the holder. (Without it,
// a plain CREATE INDEX waiting for a build's table lock, while the build waits for that
// statement's transaction to end, is a deadlock.) A build that stops half-way (cancelled at
// shutdown, process killed) leaves an invalid index, which the next build drops first.
#pragma once

#include <libpq-fe.h>

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

namespace contacts::pg {

inline constexpr int64_t kIndexWorkLockKey = 0x636f6e7461637473 + 1;  // "contacts" + 1
// Takes the index-work lock for `c`'s session if nobody holds it; true when taken.
bool try_index_work_lock(PGconn* c);

class SearchIndexBuilder {
 public:
  explicit SearchIndexBuilder(std::string url) : url_(std::move(url)) {}
  // Cancels a build in progress (the next start finishes the work) and waits for the thread.
  ~SearchIndexBuilder();
  SearchIndexBuilder(const SearchIndexBuilder&) = delete;
  SearchIndexBuilder& operator=(const SearchIndexBuilder&) = delete;

  // Starts a build unless one runs in this process. Returns at once.
  void start();
  // Waits until this process's build (if any) has ended, finished or failed.
  void wait();
  // Stops this process's build, if one runs (it is cancelled, leaving an invalid index the
  // next build drops), and returns once it has ended; start() works again afterwards. For a
  // large import, which leaves the index out and starts it again when done: updating an index
  // being built costs it 190 trigram entries a row. Returns whether a build was running.
  bool stop_build();

 private:
  void run();
  // Cancels the build's statement until the thread ends; `lock` holds mutex_.
  void cancel_until_ended(std::unique_lock<std::mutex>& lock);

  const std::string url_;
  std::mutex mutex_;
  std::condition_variable ended_;
  std::thread thread_;
  bool running_ = false;
  bool stopping_ = false;
  bool stopping_build_ = false;  // stop_build() waits for the build to end
  PGcancel* cancel_ = nullptr;  // of the build's connection while it runs; guarded by mutex_
};

}  // namespace contacts::pg
