#include "index/snapshot_files.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <exception>
#include <filesystem>
#include <mutex>
#include <optional>
#include <system_error>
#include <thread>
#include <vector>

#include "util/log.h"
#include "util/thread_priority.h"

namespace contacts::index {
namespace {

namespace fs = std::filesystem;

constexpr const char* kBaseName = "base.seg";
constexpr std::string_view kTempPrefix = "base.seg.tmp-";

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Delta files: delta-SINCE-TO.seg holds the rows written after data version SINCE, as of TO.
constexpr std::string_view kDeltaPrefix = "delta-";

std::string delta_path(const std::string& dir, uint64_t since, uint64_t to) {
  char name[80];
  std::snprintf(name, sizeof name, "delta-%020llu-%020llu.seg",
                static_cast<unsigned long long>(since), static_cast<unsigned long long>(to));
  return (fs::path(dir) / name).string();
}

struct DeltaFile {
  uint64_t since;
  uint64_t to;
  fs::path path;
};

std::vector<DeltaFile> delta_files(const std::string& dir) {
  std::vector<DeltaFile> out;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    unsigned long long since = 0, to = 0;
    char tail[8] = {};
    if (name.rfind(kDeltaPrefix, 0) == 0 &&
        std::sscanf(name.c_str(), "delta-%llu-%llu%7s", &since, &to, tail) == 3 &&
        std::string_view(tail) == ".seg") {
      out.push_back({since, to, entry.path()});
    }
  }
  return out;
}

// Deletes the delta files whose rows a base or delta of version `upto` holds.
void remove_deltas_upto(const std::string& dir, uint64_t upto) {
  std::error_code ec;
  for (const DeltaFile& d : delta_files(dir)) {
    if (d.to <= upto) fs::remove(d.path, ec);
  }
}

// Temporary files of processes that died while writing a base: each can be gigabytes.
void remove_stale_temporaries(const std::string& dir) {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind(kTempPrefix, 0) != 0) continue;
    const long pid = std::strtol(name.c_str() + kTempPrefix.size(), nullptr, 10);
    if (pid > 0 && (::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM)) continue;
    fs::remove(entry.path(), ec);
  }
}

std::string temp_path(const std::string& dir) {
  static std::atomic<uint64_t> counter{0};
  return (fs::path(dir) / (std::string(kTempPrefix) + std::to_string(::getpid()) + "-" +
                           std::to_string(counter.fetch_add(1))))
      .string();
}

// Writes `segment_of(path)` into a temporary file of `dir` renamed to `target` (a path in
// `dir`), or into memory without a `dir` (`target` is then unused).
template <class Write>
std::shared_ptr<const Segment> write_into(const std::string& dir, const std::string& target,
                                          Write segment_of) {
  if (dir.empty()) return segment_of(std::string());
  const std::string tmp = temp_path(dir);
  try {
    auto seg = segment_of(tmp);
    fs::rename(tmp, target);
    // What writing and loading it touched is not what queries will read: given back, the
    // file's pages come back as queries read them (a refresh every 0.5 s of a slow import
    // otherwise keeps each delta's loaded pages, and a compaction the new base's, resident).
    seg->bytes->release_all();
    return seg;
  } catch (...) {
    std::error_code ec;
    fs::remove(tmp, ec);
    throw;
  }
}

template <class Write>
std::shared_ptr<const Segment> write_into_base(const std::string& dir, Write segment_of) {
  return write_into(dir, base_path(dir), segment_of);
}

// `snap` with the deltas persisted in `dir` that continue it stacked on it, in order; the
// delta files that do not continue it are deleted.
std::shared_ptr<const Snapshot> stack_delta_files(const Store& store, std::shared_ptr<const Snapshot> snap,
                                                  const std::string& dir) {
  std::vector<DeltaFile> files = delta_files(dir);
  // Longest reach first: a merged delta replaces the ones it was merged from.
  std::sort(files.begin(), files.end(), [](const DeltaFile& a, const DeltaFile& b) { return a.to > b.to; });
  std::vector<fs::path> used;
  for (;;) {
    const DeltaFile* next = nullptr;
    for (const DeltaFile& d : files) {
      if (d.since <= snap->data_version && d.to > snap->data_version && d.to <= store.data_version()) {
        next = &d;
        break;
      }
    }
    if (!next) break;
    try {
      auto seg = load_segment(SegmentBytes::open(next->path.string()));
      if (seg->bytes->identity().store_id != store.store_id() || seg->data_version != next->to) {
        throw SegmentFileError(next->path.string() + " belongs to another database");
      }
      snap = stack(*snap, std::move(seg), next->since);
      used.push_back(next->path);
    } catch (const SegmentFileError& e) {
      log_event("warning", "index delta file unusable, reading its rows from the store", e.what());
      break;
    }
  }
  std::error_code ec;
  for (const DeltaFile& d : files) {
    if (std::find(used.begin(), used.end(), d.path) == used.end()) fs::remove(d.path, ec);
  }
  return snap;
}

// Adds every contact of `store` with version > `since` to `builder`, in batches that the
// builder spreads over two cores. The store is read on a thread of its own, a batch ahead of
// the builder: reading rows (SQLite's or libpq's decoding, one Contact a row) costs about as
// much as the builder's share, which left one core idle while a refresh caught up with an
// import or a start built the base. Contacts are swapped into batches that go round between
// the scan and the builder (kBatches in flight), and the scan gets the swapped-out strings
// back to fill: no memory is allocated for a row. After each whole batch, `after_batch` may
// finish the builder's rows so far. An exception of the scan is rethrown here; one of the
// builder stops the scan first.
template <class AfterBatch>
void scan_into(const Store& store, uint64_t since, SegmentBuilder& builder, AfterBatch after_batch) {
  constexpr size_t kBatchRows = 2048;
  constexpr size_t kBatches = 6;  // filled by the scan, queued, in the builder
  struct Handoff {
    std::mutex mutex;
    std::condition_variable changed;
    std::deque<std::vector<Contact>> full, spare;
    bool scanned = false;    // the scan ended, or failed (error)
    bool cancelled = false;  // the builder failed: the scan stops
    std::exception_ptr error;
  } h;
  for (size_t i = 0; i < kBatches; ++i) h.spare.emplace_back(kBatchRows);
  struct Cancelled {};
  std::thread scanner([&] {
    priority::name_this_thread("index-scan");
    std::vector<Contact> batch;
    size_t filled = 0;
    auto take_spare = [&] {
      std::unique_lock lock(h.mutex);
      h.changed.wait(lock, [&] { return h.cancelled || !h.spare.empty(); });
      if (h.cancelled) throw Cancelled{};
      batch = std::move(h.spare.front());
      h.spare.pop_front();
      batch.resize(kBatchRows);
    };
    auto hand_over = [&] {
      batch.resize(filled);
      filled = 0;
      std::lock_guard lock(h.mutex);
      h.full.push_back(std::move(batch));
      h.changed.notify_all();
    };
    try {
      take_spare();
      store.scan(since, [&](Contact&& c) {
        std::swap(batch[filled++], c);
        if (filled == kBatchRows) {
          hand_over();
          take_spare();
        }
      });
      if (filled > 0) hand_over();
    } catch (const Cancelled&) {
      // the builder failed; its exception is the one that goes on
    } catch (...) {
      std::lock_guard lock(h.mutex);
      h.error = std::current_exception();
    }
    std::lock_guard lock(h.mutex);
    h.scanned = true;
    h.changed.notify_all();
  });
  try {
    for (;;) {
      std::vector<Contact> batch;
      {
        std::unique_lock lock(h.mutex);
        h.changed.wait(lock, [&] { return h.scanned || !h.full.empty(); });
        if (h.full.empty()) break;
        batch = std::move(h.full.front());
        h.full.pop_front();
      }
      const bool whole = batch.size() == kBatchRows;
      std::vector<Contact> used = builder.add_batch(std::move(batch));
      {
        std::lock_guard lock(h.mutex);
        h.spare.push_back(std::move(used));
        h.changed.notify_all();
      }
      if (whole) after_batch();
    }
  } catch (...) {
    {
      std::lock_guard lock(h.mutex);
      h.cancelled = true;
      h.changed.notify_all();
    }
    scanner.join();
    throw;
  }
  scanner.join();
  if (h.error) std::rethrow_exception(h.error);
}

std::atomic<uint32_t> g_base_chunk_rows{kBaseChunkRows};
std::atomic<uint32_t> g_delta_piece_rows{kDeltaPieceRows};

// One segment of `first`'s rows then `second`'s (every row live, ids of `second` above
// those of `first`), written into `path`.
std::shared_ptr<const Segment> append_segments(const Segment& first, const Segment& second,
                                               const std::string& path,
                                               const SegmentIdentity& identity) {
  std::vector<Ref> rows;
  rows.reserve(size_t{first.rows} + second.rows);
  for (uint32_t r = 0; r < first.rows; ++r) rows.push_back({0, r});
  for (uint32_t r = 0; r < second.rows; ++r) rows.push_back({1, r});
  return merge_segments({&first, &second}, rows, path, identity);
}

// Builds the base from the store in one pass: contacts are handed to the builder in batches
// that it spreads over two cores, then written column by column, also on two cores. The
// builder holds its rows in memory (about 0.55 KB a contact), so a store of more than
// g_base_chunk_rows contacts is built in chunks of that many: each chunk is written to a
// temporary file and merged into the chunks before it (merge_segments, which holds 32-bit
// arrays of a column, not its values): memory stays that of one chunk at any size.
std::shared_ptr<const Segment> build_base(const Store& store, const std::string& dir) {
  const SegmentIdentity identity{store.store_id(), store.data_version(), 0};
  const auto start = std::chrono::steady_clock::now();
  const uint32_t chunk_rows = std::max<uint32_t>(g_base_chunk_rows.load(), 1);
  std::shared_ptr<const Segment> built;  // the chunks finished so far, merged
  std::string built_path;                // its temporary file ("" in memory)
  struct Cleanup {
    std::string& path;
    ~Cleanup() {
      std::error_code ec;
      if (!path.empty()) fs::remove(path, ec);
    }
  } cleanup{built_path};
  // A temporary file of `dir` (a mapping stays readable once its file is removed), or memory.
  auto temporary = [&] { return dir.empty() ? std::string() : temp_path(dir); };
  auto remove = [](const std::string& path) {
    std::error_code ec;
    if (!path.empty()) fs::remove(path, ec);
  };
  SegmentBuilder builder;
  uint32_t chunks = 0;
  // The builder's rows become a chunk, merged into the ones before; the files superseded are
  // removed at once, so the disk holds one merged copy and one chunk, not every step.
  auto finish_chunk = [&] {
    const std::string chunk_path = temporary();
    auto chunk = builder.finish(chunk_path, identity);
    ++chunks;
    if (!built) {
      built = std::move(chunk);
      built_path = chunk_path;
      return;
    }
    const std::string merged_path = temporary();
    built = append_segments(*built, *chunk, merged_path, identity);
    remove(chunk_path);
    remove(built_path);
    built_path = merged_path;
  };
  scan_into(store, 0, builder, [&] {
    if (builder.rows() >= chunk_rows) finish_chunk();
  });
  const double scan_s = seconds_since(start);
  const uint32_t rows = builder.rows() + (built ? built->rows : 0);
  auto base = write_into_base(dir, [&](const std::string& path) {
    if (!built) return builder.finish(path, identity);
    if (builder.rows() > 0) finish_chunk();
    // The merged chunks are a finished, synced segment file: renamed, not written again.
    if (!path.empty()) fs::rename(built_path, path);
    built_path.clear();
    return built;
  });
  char text[200];
  std::snprintf(text, sizeof text,
                "index base built from the store: %u contacts, scan %.1f s, writing %.1f s%s",
                rows, scan_s, seconds_since(start) - scan_s,
                chunks > 1 ? (" (" + std::to_string(chunks) + " chunks merged)").c_str() : "");
  log_event("info", text);
  return base;
}

}  // namespace

std::string base_path(const std::string& dir) { return (fs::path(dir) / kBaseName).string(); }

void set_base_chunk_rows(uint32_t rows) { g_base_chunk_rows = rows == 0 ? kBaseChunkRows : rows; }

void set_delta_piece_rows(uint32_t rows) {
  g_delta_piece_rows = rows == 0 ? kDeltaPieceRows : rows;
}

std::shared_ptr<const Snapshot> open_snapshot(const Store& store, const std::string& dir) {
  const auto start = std::chrono::steady_clock::now();
  std::shared_ptr<const Segment> base;
  if (!dir.empty()) {
    fs::create_directories(dir);
    remove_stale_temporaries(dir);
    const std::string path = base_path(dir);
    std::string why;
    if (!fs::exists(path)) {
      why = "no snapshot file yet";
    } else {
      try {
        auto loaded = load_segment(SegmentBytes::open(path));
        if (loaded->bytes->identity().store_id != store.store_id()) {
          why = "the snapshot file belongs to another database";
        } else if (loaded->data_version > store.data_version()) {
          why = "the snapshot file is newer than the database (restored from a backup?)";
        } else {
          base = std::move(loaded);
        }
      } catch (const SegmentFileError& e) {
        why = e.what();
      }
    }
    if (base) {
      char text[160];
      std::snprintf(text, sizeof text,
                    "index snapshot loaded: %u contacts at data version %llu in %.2f s",
                    base->rows, static_cast<unsigned long long>(base->data_version),
                    seconds_since(start));
      log_event("info", text);
    } else {
      log_event(fs::exists(path) ? "warning" : "info",
                "index snapshot unusable, rebuilding it from the store", why);
    }
  }
  if (!base) base = build_base(store, dir);
  auto snap = snapshot_of(base);
  if (!dir.empty()) snap = stack_delta_files(store, std::move(snap), dir);
  if (auto newer = catch_up(store, *snap, dir)) snap = std::move(newer);
  return snap;
}

std::shared_ptr<const Snapshot> catch_up(const Store& store, const Snapshot& snap,
                                         const std::string& dir,
                                         const std::function<void(uint64_t)>& rows_read) {
  const uint64_t version = store.data_version();
  if (version == snap.data_version) return nullptr;
  if (version < snap.data_version) {  // the store went back (re-created): start over
    return build_snapshot(store);
  }
  const SegmentIdentity identity{store.store_id(), version, 0};
  // The rows of a long import are built in pieces of delta_piece_rows(), each written to a
  // temporary file of `dir` (memory without one) without orders or postings, then merged into
  // the delta (merge_segments: a column at a time, which orders and indexes the values once):
  // a refresh holds one piece's rows and one column's values, not the job's rows.
  DeltaRun run(dir);
  const uint32_t piece_rows = delta_piece_rows(snap.rows);
  uint64_t read_before_piece = 0;  // rows of the pieces finished
  scan_into(store, snap.data_version, run.builder, [&] {
    if (rows_read) rows_read(read_before_piece + run.builder.rows());
    if (run.builder.rows() >= piece_rows) {
      read_before_piece += run.builder.rows();
      run.pieces.finish(run.builder, identity);
    }
  });
  return stack_runs(snap, version, store.store_id(), {&run}, {}, dir);
}

DeltaPieces::~DeltaPieces() {
  std::error_code ec;
  for (const std::string& path : paths_) {
    if (!path.empty()) fs::remove(path, ec);
  }
}

void DeltaPieces::finish(SegmentBuilder& builder, const SegmentIdentity& identity) {
  paths_.push_back(dir_.empty() ? std::string() : temp_path(dir_));
  segments_.push_back(builder.finish(paths_.back(), identity, SegmentBuilder::Finish::piece));
  // Loading a piece reads its dictionaries' offsets (about 190 bytes a row): given back at
  // once, or every finished piece would stay resident until the merge.
  segments_.back()->bytes->release_all();
}

uint32_t delta_piece_rows(uint32_t snapshot_rows) {
  // On a large snapshot a piece grows to 1/64 of it (a few % of its steady memory; fewer
  // pieces to merge).
  return std::max<uint32_t>({g_delta_piece_rows.load(), snapshot_rows / 64, 1});
}

std::shared_ptr<const Snapshot> stack_runs(const Snapshot& snap, uint64_t to, uint64_t store_id,
                                           const std::vector<DeltaRun*>& runs,
                                           std::vector<Contact> updates, const std::string& dir) {
  const SegmentIdentity identity{store_id, to, 0};
  std::vector<DeltaRun*> used;
  for (DeltaRun* run : runs) {
    if (run->builder.rows() > 0 || !run->pieces.segments().empty()) used.push_back(run);
  }
  // The last row of each id wins; they become a run of their own, the last.
  std::optional<DeltaRun> side;
  if (!updates.empty()) {
    std::stable_sort(updates.begin(), updates.end(),
                     [](const Contact& a, const Contact& b) { return a.id < b.id; });
    side.emplace(dir);
    for (size_t i = 0; i < updates.size(); ++i) {
      if (i + 1 < updates.size() && updates[i + 1].id == updates[i].id) continue;
      side->builder.add(updates[i]);
    }
    std::vector<Contact>().swap(updates);
    used.push_back(&*side);
  }
  if (used.empty()) return stack(snap, SegmentBuilder().finish("", identity));
  auto delta = write_into(dir, delta_path(dir, snap.data_version, to), [&](const std::string& path) {
    // One run of rows still in its builder is the delta as it is.
    if (used.size() == 1 && used[0]->pieces.segments().empty()) {
      return used[0]->builder.finish(path, identity);
    }
    std::vector<const Segment*> sources;
    struct Cursor {
      uint32_t first_source, end_source;  // the run's pieces among `sources`
      uint32_t source = 0, row = 0;
    };
    std::vector<Cursor> cursors;
    for (DeltaRun* run : used) {
      if (run->builder.rows() > 0) run->pieces.finish(run->builder, identity);
      Cursor c{static_cast<uint32_t>(sources.size()), 0};
      for (const auto& segment : run->pieces.segments()) sources.push_back(segment.get());
      c.end_source = static_cast<uint32_t>(sources.size());
      c.source = c.first_source;
      cursors.push_back(c);
    }
    // Every run's rows in id order; of an id in several runs, the last run's row.
    auto at_end = [&](const Cursor& c) { return c.source == c.end_source; };
    auto id_of = [&](const Cursor& c) { return sources[c.source]->ids[c.row]; };
    auto step = [&](Cursor& c) {
      if (++c.row == sources[c.source]->rows) {
        c.row = 0;
        ++c.source;
      }
    };
    for (Cursor& c : cursors) {  // pieces without rows
      while (!at_end(c) && sources[c.source]->rows == 0) ++c.source;
    }
    std::vector<Ref> rows;
    for (;;) {
      int64_t low = INT64_MAX;
      for (const Cursor& c : cursors) {
        if (!at_end(c)) low = std::min(low, id_of(c));
      }
      if (low == INT64_MAX) break;
      Ref pick{};
      for (Cursor& c : cursors) {
        if (at_end(c) || id_of(c) != low) continue;
        pick = {c.source, c.row};
        step(c);
        while (!at_end(c) && sources[c.source]->rows == 0) ++c.source;
      }
      rows.push_back(pick);
    }
    // Two columns at a time when the rows outnumber the index's (a bulk load into a young
    // index: its end waits for this merge, and the memory that counts is the index's after
    // it); otherwise one, which holds half as much beside the index serving reads.
    const MergeThreads threads = rows.size() >= snap.rows ? MergeThreads::two : MergeThreads::one;
    return merge_segments(sources, rows, path, identity, threads);
  });
  return stack(snap, std::move(delta));
}

std::shared_ptr<const Snapshot> merge_deltas(const Snapshot& snap, const std::string& dir,
                                             uint64_t store_id) {
  const uint64_t since = snap.parts.size() > 1 ? snap.parts[1].since : snap.data_version;
  auto merged = write_into(dir, delta_path(dir, since, snap.data_version),
                           [&](const std::string& path) {
                             return merge_parts(snap, 1, path, store_id, MergeThreads::two);
                           });
  if (!dir.empty()) {
    std::error_code ec;
    for (size_t p = 1; p < snap.parts.size(); ++p) {
      const std::string file = delta_path(dir, snap.parts[p].since, snap.parts[p].segment->data_version);
      if (file != delta_path(dir, since, snap.data_version)) fs::remove(file, ec);
    }
  }
  return stack(*snapshot_of(snap.parts[0].segment), std::move(merged), since);
}

std::shared_ptr<const Segment> merge_parts(const Snapshot& snap, size_t first,
                                           const std::string& path, uint64_t store_id,
                                           MergeThreads threads, const std::atomic<bool>* stop) {
  Snapshot suffix;
  suffix.parts.assign(snap.parts.begin() + static_cast<std::ptrdiff_t>(first), snap.parts.end());
  std::vector<const Segment*> sources;
  uint64_t live = 0;
  for (const Part& part : suffix.parts) {
    sources.push_back(part.segment.get());
    live += part.live_rows();
  }
  std::vector<Ref> rows;
  rows.reserve(live);
  for_each_live_in_id_order(suffix, [&](const Ref& r) {
    rows.push_back(r);
    return true;
  });
  return merge_segments(sources, rows, path, {store_id, snap.data_version, 0}, threads, stop);
}

std::shared_ptr<const Segment> write_base(const Snapshot& snap, const std::string& dir,
                                          uint64_t store_id, const std::atomic<bool>* stop) {
  auto base = write_into_base(dir, [&](const std::string& path) {
    return merge_parts(snap, 0, path, store_id, MergeThreads::one, stop);
  });
  if (!dir.empty()) remove_deltas_upto(dir, snap.data_version);
  return base;
}

}  // namespace contacts::index
