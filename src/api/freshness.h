// The freshness protocol, in one place: when a data version is published, who waits for it,
// and how the read router, the response cache and the other instances learn of it.
//
// The contract: no reader sees pre-import results once a job says `completed`, on any instance
// (docs/architecture.md, "Cache and freshness across instances"). The rule that keeps it:
//
// 1. The published version is the newest store data_version that a finished import made
//    visible. It never goes down: whoever raises it, in any order and from any thread, leaves
//    the maximum of what was there and what they bring.
// 2. A version is published by the process that wrote it:
//    - this process's job runner, after the job's last rows are committed and before the job
//      is marked completed (publish_finished_job); finish_job then records the version in the
//      job and, on PostgreSQL, NOTIFYs it in the same transaction;
//    - `contacts-api import`, once its last batch is committed (publish_store_writes; on
//      PostgreSQL the store NOTIFYs it, as finish_job does).
// 3. Who waits: the job runner. Before it publishes, it waits until this process's read index
//    shows every committed write, so reads here answer from the index with the job's rows
//    the moment it says `completed` (an embedded store has nothing else to answer from).
//    Nobody else waits: a job status read of a completed job says `completed` only when reads
//    here show its version (SQL on the primary always does; otherwise the index must have
//    caught up) and says `running` until then (may_say_completed).
// 4. The response cache is told every version this process publishes, before the job is
//    marked completed (and the finisher waits, up to kCacheAcknowledgeWait, until a shared
//    cache acknowledged it: one whose reply came late is told again when it answers, and
//    other instances reading it meanwhile would see the older version), and every version a
//    PostgreSQL notice brings (a second chance for the
//    shared key when the finisher could not reach it). A shared cache (Redis) keeps the
//    maximum under one key that every instance reads with each lookup, and a hit needs an
//    entry at least as new as the published version (cached_answer_fresh): moving it
//    invalidates every older entry on every instance at once, without deleting anything.
// 5. A process learns of versions published by others from PostgreSQL's NOTIFY
//    (NoticeListener: learn_from_notice), from the shared cache's key read with every lookup
//    (learn_from_shared_cache) and from job status reads (may_say_completed). Versions learned
//    from the cache or from a job status are not sent back to the cache.
// 6. No read answers from data older than the published version. ReadRouter asks published()
//    and uses the replica or the index only when it holds it; when the index is behind it
//    calls index_behind(), which wakes the index refresher, and the read goes to SQL on the
//    primary (always current) meanwhile. Only an embedded store has no such fallback; rule 3
//    keeps its jobs from saying `completed` before its index has the rows.
// 7. A shared cache that does not answer a lookup (Redis down, or slower than its timeout
//    on a loaded machine) cannot tell what other instances published, and their notice may
//    still be on its way: the read then takes the store's data_version, newer than or equal
//    to anything published, as published (learn_from_store), so it answers from the index
//    only when the index holds every committed write, else from SQL on the primary.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>

#include "cache/response_cache.h"
#include "query/reader.h"
#include "store/store.h"

namespace contacts::api {

// Thread-safe: every method may be called from any thread, concurrently.
class Freshness {
 public:
  // What a serving process reads from: its read index, how the index is kept current, and
  // whether reads it cannot answer yet have SQL on the primary to go to.
  struct Reads {
    const ContactReader* index = nullptr;  // the read index (index::IndexReader)
    // Blocks until the index shows every write committed before the call
    // (index::Refresher::refresh_now).
    std::function<void()> refresh_index;
    // Asks for a rebuild at once and returns without waiting (index::Refresher::wake).
    std::function<void()> wake_index;
    bool primary_sql = false;  // ReadRouter has SQL on the primary (PostgreSQL)
    // An import job of this process starts (true) or has ended (false): the index puts its
    // compactions off meanwhile (index::Refresher::import_started and import_ended).
    std::function<void(bool)> importing;
  };

  // `cache` is told what this process publishes. Without `reads` (a `worker` process,
  // `contacts-api import`) there is no index to wait for or wake.
  Freshness(Store& store, ResponseCache& cache);
  Freshness(Store& store, ResponseCache& cache, Reads reads);
  Freshness(const Freshness&) = delete;
  Freshness& operator=(const Freshness&) = delete;

  // The newest version this process knows to be published; no read answers from older data.
  uint64_t published() const { return published_.load(); }
  // What it was given; ReadRouter checks its own paths against it.
  const Reads& reads() const { return reads_; }

  // This process's job runner, for ingest::JobRunnerOptions::before_complete: waits until the
  // index shows the job's rows, then publishes the store's data_version here and to the
  // cache, all before the job is marked completed.
  void publish_finished_job();
  // This process's job runner, for ingest::JobRunnerOptions::after_rows_written: asks the
  // index to read the job's rows now, while the store finishes (publish_finished_job waits
  // for that refresh).
  void job_rows_written();
  // `contacts-api import`, after its last batch: the store announces its data_version to the
  // other processes (Store::publish_data_version), then it is published here and to the
  // cache. Returns it.
  uint64_t publish_store_writes();
  // This process's job runner, for ingest::JobRunnerOptions::on_job_start and on_job_end:
  // tells the index (Reads::importing).
  void job_started();
  void job_ended();

  // A PostgreSQL notice: a job finished elsewhere at `version` (NoticeListener). Raised here
  // and told to the cache.
  void learn_from_notice(uint64_t version);
  // The shared cache's published version, as read with a lookup (CacheLookup::published).
  // Raised here. True when it is newer than what this process knew: the reader picked for
  // the request may now be too old, pick again.
  bool learn_from_shared_cache(uint64_t version);
  // The shared cache did not answer (rule 7): raised to the store's data_version. True when
  // that is newer than what this process knew (pick the reader again). A store that cannot
  // answer either leaves it as it was (false).
  bool learn_from_store();
  // A job status read found the job completed at `version`: raised here. True when reads
  // here show that version now, so the job may say `completed`; else it says `running`.
  bool may_say_completed(uint64_t version);

  // Whether a cached answer computed from `entry_version` may be served: it is at least as
  // new as the published version and as `reader_version` (the version the reader picked for
  // the request shows, on the primary path; 0 on the replica's), so an index refresh after
  // writes outside jobs renews cached answers too.
  bool cached_answer_fresh(uint64_t entry_version, uint64_t reader_version) const;

  // ReadRouter found the index older than published(): wakes the index refresher. Does not
  // block.
  void index_behind();

  // How long a finisher waits for the shared cache to acknowledge its version (rule 4):
  // longer than the cache's reconnect interval (0.5 s).
  static constexpr std::chrono::milliseconds kCacheAcknowledgeWait{2000};

 private:
  // Rule 4: until the cache holds `version`, at most kCacheAcknowledgeWait.
  void wait_until_cache_holds(uint64_t version);
  // Raises published_ to at least `version`; true when `version` was newer than it.
  bool raise(uint64_t version);
  // Raises, then tells the cache.
  void publish(uint64_t version);

  Store& store_;
  ResponseCache& cache_;
  const Reads reads_;
  std::atomic<uint64_t> published_{0};
};

}  // namespace contacts::api
