// Streaming multipart/form-data (RFC 7578, RFC 2046 section 5.1): one file field to disk.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "http/server.h"

namespace contacts::http {

// The boundary of a `multipart/form-data; boundary=...` Content-Type (type and parameter names
// case-insensitive, value quoted or not). nullopt for any other type, or a missing or invalid
// boundary (empty, over 70 characters, or characters RFC 2046 does not allow).
std::optional<std::string> multipart_boundary(std::string_view content_type);

// A BodySink that writes the content of the first part named `field` (with or without a file
// name) to a new file at `path`, and skips every other part. Memory stays bounded whatever the
// body's size: file content is written through in chunks; another part's headers may take
// 16 KiB and a skipped part without a file name 1 MiB, more is malformed.
//
// The file is created at construction (O_CREAT|O_EXCL, mode 0600; see opened()). It is flushed,
// fsynced and closed once the closing boundary arrives. Unless keep() is called, the destructor
// deletes it, so an aborted or rejected upload leaves nothing behind.
// Not thread-safe; the server calls it from one thread at a time.
class MultipartFileSink : public BodySink {
 public:
  MultipartFileSink(std::string boundary, std::string field, std::string path);
  ~MultipartFileSink() override;
  MultipartFileSink(const MultipartFileSink&) = delete;
  MultipartFileSink& operator=(const MultipartFileSink&) = delete;

  // False once the body is malformed or the file cannot be written (see error()); every later
  // call then returns false too. Bytes after the closing boundary (the epilogue) are ignored.
  bool write(std::string_view bytes) override;

  // False when the file could not be created (e.g. it exists); write() then returns false.
  bool opened() const { return created_; }
  // Why write() returned false or the file was not created; empty otherwise. For logs.
  const std::string& error() const { return error_; }
  // The closing boundary was seen and the file is complete on disk.
  bool complete() const { return state_ == State::kDone; }
  // write() failed because a part other than the file field (and without a file name) held
  // more than 1 MiB.
  bool field_too_large() const { return field_too_large_; }
  // 413 for such a field, else the server's 400.
  Rejection rejection() const override;
  // A part named `field` was seen (it may be empty).
  bool found_field() const { return found_field_; }
  // Bytes of that part written to the file so far.
  uint64_t file_bytes() const { return file_bytes_; }
  // The file name the client gave for that part ("" if none). Never use it as a path.
  const std::string& client_filename() const { return client_filename_; }
  const std::string& path() const { return path_; }
  // The caller takes the file: the destructor no longer deletes it.
  void keep() { keep_ = true; }

 private:
  enum class State { kPreamble, kBoundaryLine, kHeaders, kContent, kDone, kFailed };

  bool fail(std::string reason);
  bool on_preamble(std::string_view& bytes);
  bool on_boundary_line(std::string_view& bytes);
  bool on_headers(std::string_view& bytes);
  bool start_part(std::string_view headers);
  bool on_content(std::string_view& bytes);
  bool emit(std::string_view content);
  bool end_part();
  bool flush();
  bool finish_file();

  const std::string delimiter_;  // "\r\n--" + boundary
  const std::string field_;
  const std::string path_;
  int fd_ = -1;
  bool created_ = false;
  bool keep_ = false;
  State state_ = State::kPreamble;
  std::string error_;
  size_t matched_ = 0;         // kPreamble: bytes of "--boundary" matched so far
  std::string pending_;        // kBoundaryLine: the line so far; kHeaders: the header block so far;
                               // kContent: a tail that may begin the delimiter
  bool writing_part_ = false;  // the current part goes to the file
  bool limit_part_ = false;    // the current part is skipped and limited to 1 MiB
  uint64_t part_bytes_ = 0;    // content bytes of the current part
  std::string out_;            // file content waiting to be written
  bool found_field_ = false;
  bool field_too_large_ = false;
  uint64_t file_bytes_ = 0;
  std::string client_filename_;
};

}  // namespace contacts::http
