#include "index/row_feed.h"

#include <algorithm>
#include <chrono>
#include <optional>
#include <utility>

#include "util/thread_priority.h"

namespace contacts::index {
namespace {

// A chunk of rows goes from the store's writer to the feed's thread; as many are in flight as
// scan_into keeps between a scan and its builder.
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
  if (!changed_.wait_for(lock, std::chrono::seconds(10), [this] {
        return stopping_ || !spare_.empty() || chunks_ < kChunks;
      }) || stopping_) {
    return std::nullopt;
  }
  if (!spare_.empty()) {
    std::vector<Contact> chunk = std::move(spare_.back());
    spare_.pop_back();
    return chunk;
  }
  ++chunks_;
  return std::vector<Contact>();
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
      if (builder_holds_chunk_) --chunks_;
      builder_holds_chunk_ = false;
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
      if (builder_holds_chunk_) --chunks_;
      builder_holds_chunk_ = false;
      auto stale = std::exchange(current_, std::make_unique<FedRows>(dir_, chunk.version - 1));
      lock.unlock();
      stale.reset();  // removes its piece files
      lock.lock();
    }
    mid_version_ = !chunk.last;
    const uint32_t piece_rows = piece_rows_;
    lock.unlock();
    std::vector<Contact> back;
    bool recycled = false;  // `back` is a chunk to fill again
    int dropped = 0;        // chunks the builder let go of
    FedRows& f = *current_;
    try {
      if (!f.broken) {
        std::vector<Contact>& rows = chunk.rows;
        // Ids ascend through the builder; a row of an id at or below the last one (written
        // again, or an older contact) waits in `updates` for the refresh.
        size_t kept = 0;
        for (size_t i = 0; i < rows.size(); ++i) {
          if (rows[i].id > f.last_id) {
            f.last_id = rows[i].id;
            if (kept != i) std::swap(rows[kept], rows[i]);
            ++kept;
          } else {
            f.updates.push_back(rows[i]);
          }
        }
        f.rows += rows.size();
        if (f.updates.size() > kMaxUpdates) {
          f.broken = true;
          std::vector<Contact>().swap(f.updates);
        }
        rows.resize(kept);
        if (kept == 0 || f.broken) {
          back = std::move(rows);
          recycled = true;
        } else {
          try {
            back = f.builder.add_batch(std::move(rows));
          } catch (...) {
            // Thrown before the builder took the chunk (it is still in `rows`) or after
            // (`rows` was moved from, and is empty).
            if (!rows.empty()) {
              back = std::move(rows);
              recycled = true;
            } else {
              builder_holds_chunk_ = true;
            }
            throw;
          }
          recycled = builder_holds_chunk_;  // `back` is the chunk it held before
          builder_holds_chunk_ = true;
          if (f.builder.rows() >= piece_rows) {
            // finish() lets go of the chunk first, whether it then writes the piece or throws.
            builder_holds_chunk_ = false;
            dropped = 1;
            f.pieces.finish(f.builder, SegmentIdentity{store_id_, f.to, 0});
          }
        }
      } else {
        back = std::move(chunk.rows);
        recycled = true;
      }
    } catch (...) {
      // A piece could not be written (disk full, memory): these rows are lost to the feed,
      // whose refresh reads the store instead.
      f.broken = true;
    }
    lock.lock();
    // Its Contacts' strings keep their memory for the listener to fill again.
    if (recycled) spare_.push_back(std::move(back));
    chunks_ -= static_cast<size_t>(dropped);
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
