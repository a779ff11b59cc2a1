// The errors CSV of one import: the original header plus an `error` column, then one line
// per failed row with its fields as parsed and the reason. Not thread-safe.
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace contacts::ingest {

class ErrorsFile {
 public:
  // Prepares the errors file at `path` for an import resuming at `resume_bytes` (the
  // errors_file_bytes of the last commit; 0 for a fresh import): a longer file is cut to
  // that size, and with 0 an existing file is removed. A file missing or shorter than
  // `resume_bytes` (lost with the machine) is continued as it is. An empty `path` writes
  // nothing. Throws std::runtime_error on I/O errors, here and in every method.
  // `formula_guard`: cells that spreadsheets would run get a leading apostrophe.
  ErrorsFile(std::string path, std::vector<std::string> header, uint64_t resume_bytes,
             bool formula_guard = false);
  ErrorsFile(const ErrorsFile&) = delete;
  ErrorsFile& operator=(const ErrorsFile&) = delete;

  // Adds one failed row. The file (with its header line) is created by the first call.
  void append(std::span<const std::string_view> fields, std::string_view reason);

  // Writes out and syncs what append() buffered; returns the size of the file. Lines not
  // yet checkpointed are lost when the object is destroyed (a resume cuts them anyway).
  uint64_t checkpoint();

 private:
  struct FileCloser {
    void operator()(std::FILE* f) const { std::fclose(f); }
  };

  void resume(uint64_t resume_bytes);
  void create();
  void write_buffer();

  std::string path_;
  std::vector<std::string> header_;
  std::unique_ptr<std::FILE, FileCloser> file_;
  std::string buffer_;     // lines not yet written to file_
  uint64_t size_ = 0;      // file size once buffer_ is written
  bool unsynced_ = false;  // bytes were written since the last sync
  bool formula_guard_ = false;
};

}  // namespace contacts::ingest
