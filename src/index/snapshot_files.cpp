#include "index/snapshot_files.h"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <future>
#include <system_error>

#include "util/log.h"

namespace contacts::index {
namespace {

namespace fs = std::filesystem;

constexpr const char* kBaseName = "base.seg";
constexpr std::string_view kTempPrefix = "base.seg.tmp-";

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
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

// Writes `segment_of(path)` into a temporary file of `dir` renamed to the base, or into
// memory without a `dir`.
template <class Write>
std::shared_ptr<const Segment> write_into_base(const std::string& dir, Write segment_of) {
  if (dir.empty()) return segment_of(std::string());
  const std::string tmp = temp_path(dir);
  try {
    auto seg = segment_of(tmp);
    fs::rename(tmp, base_path(dir));
    return seg;
  } catch (...) {
    std::error_code ec;
    fs::remove(tmp, ec);
    throw;
  }
}

// Builds the base from the store: runs of `run_rows` rows are built in memory and written out
// (temporary files of `dir`, or memory), then merged column by column.
std::shared_ptr<const Segment> build_base(const Store& store, const std::string& dir,
                                          uint32_t run_rows) {
  const SegmentIdentity identity{store.store_id(), store.data_version(), 0};
  std::vector<std::shared_ptr<const Segment>> runs;
  std::vector<std::string> run_files;
  auto builder = std::make_unique<SegmentBuilder>();
  // A full run is finished (sorted, indexed, written) on a second thread while the scan
  // fills the next one: two runs in memory at most.
  std::future<std::shared_ptr<const Segment>> finishing;
  auto flush = [&] {
    const std::string path = dir.empty() ? std::string() : temp_path(dir);
    if (!path.empty()) run_files.push_back(path);
    if (finishing.valid()) runs.push_back(finishing.get());
    finishing = std::async(std::launch::async, [b = std::move(builder), path, identity] {
      return b->finish(path, identity, /*merge_input=*/true);
    });
    builder = std::make_unique<SegmentBuilder>();
  };
  auto remove_run_files = [&] {
    std::error_code ec;
    for (const std::string& f : run_files) fs::remove(f, ec);  // mappings stay readable
  };
  try {
    store.scan(0, [&](Contact&& c) {
      builder->add(c);
      if (builder->rows() == run_rows) flush();
    });
    if (finishing.valid()) runs.push_back(finishing.get());
    if (runs.empty()) {  // one run: it is the base
      return write_into_base(dir, [&](const std::string& path) {
        return builder->finish(path, identity);
      });
    }
    if (builder->rows() > 0) {
      flush();
      runs.push_back(finishing.get());
    }
    std::vector<const Segment*> sources;
    std::vector<Ref> rows;
    for (uint32_t p = 0; p < runs.size(); ++p) {
      sources.push_back(runs[p].get());
      for (uint32_t r = 0; r < runs[p]->rows; ++r) rows.push_back({p, r});
    }
    auto base = write_into_base(dir, [&](const std::string& path) {
      return merge_segments(sources, rows, path, identity);
    });
    remove_run_files();
    return base;
  } catch (...) {
    if (finishing.valid()) finishing.wait();
    remove_run_files();
    throw;
  }
}

}  // namespace

std::string base_path(const std::string& dir) { return (fs::path(dir) / kBaseName).string(); }

std::shared_ptr<const Snapshot> open_snapshot(const Store& store, const std::string& dir,
                                              uint32_t run_rows) {
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
  if (!base) base = build_base(store, dir, run_rows);
  auto snap = snapshot_of(base);
  if (auto newer = catch_up(store, *snap)) snap = std::move(newer);
  return snap;
}

std::shared_ptr<const Snapshot> catch_up(const Store& store, const Snapshot& snap) {
  const uint64_t version = store.data_version();
  if (version == snap.data_version) return nullptr;
  if (version < snap.data_version) {  // the store went back (re-created): start over
    return build_snapshot(store);
  }
  SegmentBuilder builder;
  store.scan(snap.data_version, [&](Contact&& c) { builder.add(c); });
  return stack(snap, builder.finish("", {store.store_id(), version, 0}));
}

std::shared_ptr<const Segment> merge_parts(const Snapshot& snap, size_t first,
                                           const std::string& path, uint64_t store_id) {
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
  return merge_segments(sources, rows, path, {store_id, snap.data_version, 0});
}

std::shared_ptr<const Segment> write_base(const Snapshot& snap, const std::string& dir,
                                          uint64_t store_id) {
  return write_into_base(dir, [&](const std::string& path) {
    return merge_parts(snap, 0, path, store_id);
  });
}

}  // namespace contacts::index
