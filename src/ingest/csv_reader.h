// Streaming CSV reader over libcsv: RFC 4180 quoting, doubled quotes, newlines inside
// quotes, "\n" or "\r\n" line ends. Reads the file in chunks; never holds it whole.
//
// libcsv reads a byte at a time through a state machine, and was half of an import's parsing
// thread. Nearly every line of a real export is one whole record of plain fields and quoted
// fields that end on it: such a line, met where a record starts, is split here (memchr for
// commas and quotes, the same trimming), and every other line (a quoted field going on past
// the line, a stray quote, a carriage return inside, a blank line) goes to libcsv, which
// stays the authority on what a record is (tests/unit/csv_reader_test.cpp compares the two
// on random input).
#pragma once

#include <csv.h>

#include <cstdint>
#include <cstdio>
#include <exception>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace contacts::ingest {

// The file is not CSV the reader can go on with (a field beyond kMaxFieldBytes, which
// in practice means an unbalanced quote swallowing the rest of the file).
class CsvFormatError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Reads the records of one CSV file in order. A UTF-8 BOM at the start of the file is
// skipped; blank lines give no record; unquoted fields lose surrounding spaces and tabs.
// Not thread-safe; one reader per file.
class CsvRecordReader {
 public:
  static constexpr size_t kChunkBytes = size_t{1} << 20;
  static constexpr size_t kMaxFieldBytes = size_t{64} << 20;

  // Opens `path`, to be read `chunk_bytes` at a time. Throws std::runtime_error when it
  // cannot be opened.
  explicit CsvRecordReader(const std::string& path, size_t chunk_bytes = kChunkBytes);
  ~CsvRecordReader();
  CsvRecordReader(const CsvRecordReader&) = delete;
  CsvRecordReader& operator=(const CsvRecordReader&) = delete;

  // Puts the next record's fields in `fields` (views valid until the next call) and returns
  // true; returns false at the end of the file. Throws std::runtime_error on a read error
  // and CsvFormatError as described above.
  bool next(std::vector<std::string_view>& fields);

  // Bytes of the file read so far (ahead of the records returned, by up to one chunk).
  uint64_t bytes_read() const { return bytes_read_; }

 private:
  struct FileCloser {
    void operator()(std::FILE* f) const { std::fclose(f); }
  };

  static void on_field(void* data, size_t len, void* self);
  static void on_record(int terminator, void* self);
  void read_chunk();
  // Parses `data`, the next bytes of the file: simple lines here, the rest through libcsv.
  void parse(std::string_view data);
  // Hands `data` to libcsv.
  void parse_with_libcsv(std::string_view data);
  // Adds `line` (without its "\n") as a record when it is simple: plain or quoted fields
  // (doubled quotes inside) that all end on it, no carriage return but a last one, not
  // blank. Returns false, adding nothing, when it is not.
  bool add_simple_line(std::string_view line);
  // Whether libcsv holds no part of a record (it is where a record starts).
  bool libcsv_between_records() const;
  void drop_consumed_records();
  void rethrow_callback_error();

  std::unique_ptr<std::FILE, FileCloser> file_;
  csv_parser parser_{};
  std::vector<char> chunk_;
  std::string arena_;                // bytes of the parsed, not yet dropped fields
  std::vector<size_t> field_ends_;   // end offset of each field in arena_
  std::vector<size_t> record_ends_;  // index one past each complete record's last field
  size_t next_record_ = 0;           // index into record_ends_
  uint64_t bytes_read_ = 0;
  bool at_start_ = true;
  bool at_end_ = false;
  std::exception_ptr callback_error_;
};

}  // namespace contacts::ingest
