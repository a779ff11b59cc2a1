#include "ingest/errors_file.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <system_error>

#include "util/csv_writer.h"

namespace contacts::ingest {
namespace {

// append() writes the buffer out once it grows beyond this.
constexpr size_t kBufferBytes = size_t{1} << 20;

[[noreturn]] void fail(const char* what) {
  throw std::runtime_error(std::string("Errors file: ") + what + ": " + std::strerror(errno));
}

}  // namespace

ErrorsFile::ErrorsFile(std::string path, std::vector<std::string> header, uint64_t resume_bytes,
                       bool formula_guard)
    : path_(std::move(path)), header_(std::move(header)), formula_guard_(formula_guard) {
  if (!path_.empty()) resume(resume_bytes);
}

void ErrorsFile::resume(uint64_t resume_bytes) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (resume_bytes == 0) {
    // A fresh import starts without an errors file: an old one is removed, but only a regular
    // file (never a device or a pipe the user named, e.g. --errors /dev/null).
    if (fs::is_regular_file(fs::symlink_status(path_, ec))) {
      fs::remove(path_, ec);
      if (ec) throw std::runtime_error("Errors file: cannot remove: " + ec.message());
    }
    return;
  }
  const uintmax_t existing = fs::file_size(path_, ec);
  if (ec || existing == 0) return;  // missing: created again by the next failed row
  if (existing > resume_bytes) {
    fs::resize_file(path_, resume_bytes, ec);
    if (ec) throw std::runtime_error("Errors file: cannot truncate: " + ec.message());
  }
  file_.reset(std::fopen(path_.c_str(), "ab"));
  if (!file_) fail("cannot open");
  size_ = existing > resume_bytes ? resume_bytes : existing;
}

void ErrorsFile::create() {
  file_.reset(std::fopen(path_.c_str(), "wb"));
  if (!file_) fail("cannot create");
  size_ = 0;
  std::vector<std::string_view> names(header_.begin(), header_.end());
  names.emplace_back("error");
  append_csv_record(buffer_, names, formula_guard_);
  size_ += buffer_.size();
}

void ErrorsFile::append(std::span<const std::string_view> fields, std::string_view reason) {
  if (path_.empty()) return;
  if (!file_) create();
  const size_t before = buffer_.size();
  for (const std::string_view field : fields) {
    append_csv_field(buffer_, field, formula_guard_);
    buffer_.push_back(',');
  }
  append_csv_field(buffer_, reason, formula_guard_);
  buffer_.append("\r\n");
  size_ += buffer_.size() - before;
  if (buffer_.size() >= kBufferBytes) write_buffer();
}

void ErrorsFile::write_buffer() {
  if (buffer_.empty()) return;
  if (std::fwrite(buffer_.data(), 1, buffer_.size(), file_.get()) != buffer_.size()) {
    fail("cannot write");
  }
  buffer_.clear();
  unsynced_ = true;
}

uint64_t ErrorsFile::checkpoint() {
  if (!file_) return size_;
  write_buffer();
  if (unsynced_) {
    if (std::fflush(file_.get()) != 0) fail("cannot flush");
    // EINVAL: a file that cannot be synced (a device such as /dev/null): nothing to lose.
    if (::fdatasync(::fileno(file_.get())) != 0 && errno != EINVAL) fail("cannot sync");
    unsynced_ = false;
  }
  return size_;
}

}  // namespace contacts::ingest
