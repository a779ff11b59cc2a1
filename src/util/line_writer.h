// Lines written by many threads to one FILE*, in batches: one write for many lines.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

namespace contacts {

// Thread-safe. Lines are written whole and in the order write() was called, by a background
// thread every `interval`, or at once by the caller whose line brings the pending bytes over
// `max_pending`, and by the destructor (so nothing is lost on an orderly exit; a crash loses
// at most `interval` of lines). The FILE* is flushed after each batch and must outlive this.
class BufferedLineWriter {
 public:
  BufferedLineWriter(std::FILE* out, std::chrono::milliseconds interval,
                     size_t max_pending = 64 * 1024);
  ~BufferedLineWriter();
  BufferedLineWriter(const BufferedLineWriter&) = delete;
  BufferedLineWriter& operator=(const BufferedLineWriter&) = delete;

  // Appends `line` (which ends with '\n'). Never throws on write errors (they are dropped).
  void write(std::string_view line);
  // Writes what is pending now.
  void flush();

 private:
  std::FILE* const out_;
  const size_t max_pending_;
  std::mutex write_mutex_;  // held while a batch is taken and written: batches stay in order
  std::mutex mutex_;        // guards pending_ and stopping_
  std::condition_variable wake_;
  std::string pending_;
  bool stopping_ = false;
  std::string batch_;  // guarded by write_mutex_; swapped with pending_ to keep both buffers
  std::thread flusher_;
};

}  // namespace contacts
