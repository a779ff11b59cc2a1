#include "util/line_writer.h"

namespace contacts {

BufferedLineWriter::BufferedLineWriter(std::FILE* out, std::chrono::milliseconds interval,
                                       size_t max_pending)
    : out_(out), max_pending_(max_pending) {
  flusher_ = std::thread([this, interval] {
    std::unique_lock lock(mutex_);
    while (!stopping_) {
      wake_.wait_for(lock, interval, [this] { return stopping_; });
      lock.unlock();
      flush();
      lock.lock();
    }
  });
}

BufferedLineWriter::~BufferedLineWriter() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  flusher_.join();
  flush();
}

void BufferedLineWriter::write(std::string_view line) {
  bool full;
  {
    std::lock_guard lock(mutex_);
    pending_.append(line);
    full = pending_.size() >= max_pending_;
  }
  if (full) flush();
}

void BufferedLineWriter::flush() {
  std::lock_guard writing(write_mutex_);
  {
    std::lock_guard lock(mutex_);
    batch_.swap(pending_);
  }
  if (batch_.empty()) return;
  std::fwrite(batch_.data(), 1, batch_.size(), out_);
  std::fflush(out_);
  batch_.clear();
}

}  // namespace contacts
