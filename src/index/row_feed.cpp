#include "index/row_feed.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <optional>
#include <utility>

#include "util/log.h"
#include "util/thread_priority.h"

namespace contacts::index {
namespace {

// A chunk of rows goes from the store's writer to the feed's thread; as many wait for the
// thread as scan_into keeps between a scan and its builder.
constexpr size_t kChunkRows = 2048;
constexpr size_t kChunks = 6;
// Rows written again while the feed holds them (an e-mail repeated in a file) are kept whole
// until the refresh; beyond this many the feed gives its rows up and the refresh reads the
// store instead (their memory stays bounded).
constexpr size_t kMaxUpdates = 32'768;

}  // namespace

RowFeed::RowFeed(std::string dir, uint64_t store_id, uint64_t version, uint32_t piece_rows)
    : dir_(std::move(dir)),
      store_id_(store_id),
      announced_(version),
      piece_rows_(piece_rows),
      current_(std::make_unique<FedRows>(dir_, version)) {
  thread_ = std::thread([this] {
    priority::name_this_thread("index-feed");
    priority::lower_this_thread(priority::kBackground);
    run();
  });
}

RowFeed::~RowFeed() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  thread_.join();
}

std::optional<std::vector<Contact>> RowFeed::take_spare(std::unique_lock<std::mutex>& lock) {
  // The store's writer waits here, holding its write lock, while the feed's thread builds:
  // bounded, so that nothing the feed does can stop the store's writes for long (the rows
  // are then not announced whole, and the refresh reads the store).
  if (!changed_.wait_for(lock, std::chrono::seconds(10),
                         [this] { return stopping_ || full_.size() < kChunks; }) ||
      stopping_) {
    return std::nullopt;
  }
  if (spare_.empty()) return std::vector<Contact>();
  std::vector<Contact> chunk = std::move(spare_.back());
  spare_.pop_back();
  return chunk;
}

void RowFeed::committed(const CommittedRows& rows) noexcept {
  try {
    const size_t n = std::min(rows.rows.size(), rows.ids.size());
    size_t i = 0;
    bool first = true;
    std::unique_lock lock(mutex_);
    do {
      std::optional<std::vector<Contact>> spare = take_spare(lock);
      if (!spare) return;
      std::vector<Contact> chunk = std::move(*spare);
      lock.unlock();
      const size_t count = std::min(kChunkRows, n - i);
      chunk.resize(count);
      for (Contact& c : chunk) {
        c.id = rows.ids[i];
        c.values = rows.rows[i];  // into the strings the chunk held: no allocation, mostly
        if (!rows.meta_data_json.empty()) c.values.meta_data_json = rows.meta_data_json[i];
        c.created_at_us = rows.created_at_us[i];
        c.updated_at_us = rows.now_us;
        ++i;
      }
      lock.lock();
      full_.push_back({rows.version, first, i == n, std::move(chunk)});
      first = false;
      changed_.notify_all();
    } while (i < n);
    announced_ = std::max(announced_, rows.version);
    changed_.notify_all();
  } catch (...) {
    // Not announced whole: the feed sees the version missing when the next one comes, or a
    // first chunk without its last, and starts again after it (the refresh reads the store).
  }
}

std::vector<std::vector<Contact>> RowFeed::build(std::vector<Contact>&& rows,
                                                 uint32_t piece_rows) {
  FedRows& f = *current_;
  std::vector<std::vector<Contact>> done;
  if (f.broken) {
    done.push_back(std::move(rows));
    return done;
  }
  // Rows of new contacts (created by the write that announced them) and of older ones, each
  // to its run while their ids ascend there, else to `updates`.
  std::vector<Contact> fresh;
  {
    std::lock_guard lock(mutex_);
    if (!spare_.empty()) {
      fresh = std::move(spare_.back());
      spare_.pop_back();
    }
  }
  size_t kept = 0, fresh_rows = 0;
  for (size_t i = 0; i < rows.size(); ++i) {
    Contact& c = rows[i];
    const bool created = c.created_at_us == c.updated_at_us;
    DeltaRun& run = created ? f.inserted : f.updated;
    if (c.id <= run.last_id) {
      // Written again: an insert earlier in the same write, or an older contact met out of
      // order.
      f.updates.push_back(c);
      continue;
    }
    run.last_id = c.id;
    if (created) {
      if (fresh_rows == fresh.size()) fresh.emplace_back();
      std::swap(fresh[fresh_rows++], c);  // slots swap strings: none is freed
    } else {
      if (kept != i) std::swap(rows[kept], c);
      ++kept;
    }
  }
  f.rows += rows.size();
  rows.resize(kept);
  fresh.resize(fresh_rows);
  if (f.updates.size() > kMaxUpdates) {
    f.broken = true;
    std::vector<Contact>().swap(f.updates);
  }
  auto add = [&](DeltaRun& run, std::vector<Contact>&& batch) {
    if (batch.empty() || f.broken) {
      done.push_back(std::move(batch));
      return;
    }
    // Returns the batch it held before (empty the first time): the builder keeps this one.
    done.push_back(run.builder.add_batch(std::move(batch)));
    if (run.builder.rows() >= piece_rows) {
      run.pieces.finish(run.builder, SegmentIdentity{store_id_, f.to, 0});
    }
  };
  try {
    add(f.updated, std::move(rows));
    add(f.inserted, std::move(fresh));
  } catch (...) {
    // A piece could not be written (disk full, memory): these rows are lost to the feed,
    // whose refresh reads the store instead.
    f.broken = true;
  }
  return done;
}

void RowFeed::run() {
  std::unique_lock lock(mutex_);
  for (;;) {
    changed_.wait(lock, [this] {
      return stopping_ || !full_.empty() || (take_wanted_ && !handed_ && !mid_version_);
    });
    if (stopping_) break;
    if (take_wanted_ && !handed_ && !mid_version_ &&
        (current_->to >= take_version_ || full_.empty())) {
      // Between two versions: the rows so far go to the refresh; a new run follows them.
      const uint64_t to = current_->to;
      handed_ = std::exchange(current_, std::make_unique<FedRows>(dir_, to));
      changed_.notify_all();
      continue;
    }
    if (full_.empty()) continue;
    Chunk chunk = std::move(full_.front());
    full_.pop_front();
    changed_.notify_all();  // the listener may wait for room
    if (chunk.first && (mid_version_ || chunk.version != current_->to + 1)) {
      // A version the feed was not told of (or not whole): what it holds cannot make a delta
      // that follows the index; it starts again after the version before this one.
      auto stale = std::exchange(current_, std::make_unique<FedRows>(dir_, chunk.version - 1));
      lock.unlock();
      stale.reset();  // removes its piece files
      lock.lock();
    }
    mid_version_ = !chunk.last;
    const uint32_t piece_rows = piece_rows_;
    lock.unlock();
    std::vector<std::vector<Contact>> done = build(std::move(chunk.rows), piece_rows);
    lock.lock();
    // Their Contacts' strings keep their memory for the listener to fill again.
    for (auto& rows : done) {
      if (spare_.size() < 2 * kChunks && rows.capacity() > 0) spare_.push_back(std::move(rows));
    }
    if (chunk.last) current_->to = chunk.version;
    changed_.notify_all();
  }
}

std::unique_ptr<FedRows> RowFeed::take(uint64_t since, uint64_t version, uint32_t piece_rows) {
  std::unique_lock lock(mutex_);
  piece_rows_ = piece_rows;
  if (announced_ < version) {
    changed_.wait_for(lock, std::chrono::milliseconds(20),
                      [&] { return stopping_ || announced_ >= version; });
  }
  take_wanted_ = true;
  take_version_ = version;
  changed_.notify_all();
  // The thread hands its rows over between two versions: at once, or after the chunks of
  // the version the listener is queueing. A version never finished (a listener failed half
  // way) leaves the thread mid-version: given up after a while, the store is read instead.
  changed_.wait_for(lock, std::chrono::seconds(5),
                    [this] { return stopping_ || handed_ != nullptr; });
  take_wanted_ = false;
  std::unique_ptr<FedRows> got = std::move(handed_);
  if (!got || got->broken || got->from > since || got->to < version) {
    lock.unlock();
    if (got && got->rows > 0) {
      char text[200];
      std::snprintf(text, sizeof text,
                    "index feed given up (%s): %llu rows of versions %llu-%llu, the refresh "
                    "reads the store since %llu up to %llu",
                    got->broken ? "too many rows written again" : "a write it was not told of",
                    static_cast<unsigned long long>(got->rows),
                    static_cast<unsigned long long>(got->from),
                    static_cast<unsigned long long>(got->to),
                    static_cast<unsigned long long>(since),
                    static_cast<unsigned long long>(version));
      log_event("info", text);
    }
    return nullptr;  // its piece files go with it
  }
  rows_taken_ += got->rows;
  return got;
}

uint64_t RowFeed::rows_taken() const {
  std::lock_guard lock(mutex_);
  return rows_taken_;
}

}  // namespace contacts::index
