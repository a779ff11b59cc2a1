#include "ingest/csv_reader.h"

#include <cerrno>
#include <cstring>

namespace contacts::ingest {
namespace {

constexpr std::string_view kUtf8Bom = "\xEF\xBB\xBF";
// libcsv grows a field buffer linearly by this step.
constexpr size_t kParserBlockBytes = size_t{64} << 10;
// libcsv's ROW_NOT_BEGUN (libcsv.c; its csv.h shows the parser's state, not the names): the
// state csv_init leaves and the end of every record returns to.
constexpr int kLibcsvRowNotBegun = 0;

// The bytes libcsv trims around unquoted fields (its default is_space).
bool is_csv_space(char c) { return c == ' ' || c == '\t'; }

std::string_view trim_csv_spaces(std::string_view field) {
  while (!field.empty() && is_csv_space(field.front())) field.remove_prefix(1);
  while (!field.empty() && is_csv_space(field.back())) field.remove_suffix(1);
  return field;
}

bool contains(std::string_view text, char c) {
  return std::memchr(text.data(), c, text.size()) != nullptr;
}

}  // namespace

CsvRecordReader::CsvRecordReader(const std::string& path, size_t chunk_bytes)
    : file_(std::fopen(path.c_str(), "rb")), chunk_(chunk_bytes == 0 ? 1 : chunk_bytes) {
  if (!file_) {
    throw std::runtime_error(std::string("Cannot open the CSV file: ") + std::strerror(errno));
  }
  if (csv_init(&parser_, 0) != 0) throw std::runtime_error("Cannot initialise the CSV parser");
  csv_set_blk_size(&parser_, kParserBlockBytes);
}

CsvRecordReader::~CsvRecordReader() { csv_free(&parser_); }

void CsvRecordReader::on_field(void* data, size_t len, void* self) {
  auto* reader = static_cast<CsvRecordReader*>(self);
  if (reader->callback_error_) return;
  try {
    if (data != nullptr) reader->arena_.append(static_cast<const char*>(data), len);
    reader->field_ends_.push_back(reader->arena_.size());
  } catch (...) {
    reader->callback_error_ = std::current_exception();
  }
}

void CsvRecordReader::on_record(int /*terminator*/, void* self) {
  auto* reader = static_cast<CsvRecordReader*>(self);
  if (reader->callback_error_) return;
  try {
    reader->record_ends_.push_back(reader->field_ends_.size());
  } catch (...) {
    reader->callback_error_ = std::current_exception();
  }
}

void CsvRecordReader::rethrow_callback_error() {
  if (callback_error_) std::rethrow_exception(callback_error_);
}

void CsvRecordReader::drop_consumed_records() {
  if (record_ends_.empty()) return;
  const size_t fields = record_ends_.back();
  const size_t bytes = fields == 0 ? 0 : field_ends_[fields - 1];
  arena_.erase(0, bytes);
  field_ends_.erase(field_ends_.begin(), field_ends_.begin() + static_cast<std::ptrdiff_t>(fields));
  for (size_t& end : field_ends_) end -= bytes;
  record_ends_.clear();
  next_record_ = 0;
}

void CsvRecordReader::read_chunk() {
  const size_t n = std::fread(chunk_.data(), 1, chunk_.size(), file_.get());
  if (n < chunk_.size() && std::ferror(file_.get())) {
    throw std::runtime_error(std::string("Cannot read the CSV file: ") + std::strerror(errno));
  }
  bytes_read_ += n;
  if (n == 0) {
    csv_fini(&parser_, on_field, on_record, this);
    at_end_ = true;
    rethrow_callback_error();
    return;
  }
  std::string_view data(chunk_.data(), n);
  if (at_start_ && data.starts_with(kUtf8Bom)) data.remove_prefix(kUtf8Bom.size());
  at_start_ = false;
  parse(data);
}

void CsvRecordReader::parse(std::string_view data) {
  while (!data.empty()) {
    const auto* newline = static_cast<const char*>(std::memchr(data.data(), '\n', data.size()));
    if (newline == nullptr) {  // the line goes on in the next chunk
      parse_with_libcsv(data);
      return;
    }
    const auto length = static_cast<size_t>(newline - data.data());
    if (!libcsv_between_records() || !add_simple_line(data.substr(0, length))) {
      parse_with_libcsv(data.substr(0, length + 1));
    }
    data.remove_prefix(length + 1);
  }
}

bool CsvRecordReader::libcsv_between_records() const {
  return parser_.pstate == kLibcsvRowNotBegun;
}

bool CsvRecordReader::add_simple_line(std::string_view line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (contains(line, '\r')) return false;
  // A blank line is no record for libcsv, a line of spaces neither: left to it.
  if (trim_csv_spaces(line).empty()) return false;
  const size_t arena_before = arena_.size();
  const size_t fields_before = field_ends_.size();
  const auto give_up = [&] {
    arena_.resize(arena_before);
    field_ends_.resize(fields_before);
    return false;
  };
  size_t pos = 0;
  for (;;) {
    while (pos < line.size() && is_csv_space(line[pos])) ++pos;
    if (pos < line.size() && line[pos] == '"') {
      // Quoted: up to the quote not doubled, then only spaces before the comma or the end.
      for (++pos;;) {
        const auto* quote =
            static_cast<const char*>(std::memchr(line.data() + pos, '"', line.size() - pos));
        if (quote == nullptr) return give_up();  // goes on past the line, or unbalanced
        const auto at = static_cast<size_t>(quote - line.data());
        arena_.append(line.data() + pos, at - pos);
        pos = at + 1;
        if (pos < line.size() && line[pos] == '"') {
          arena_.push_back('"');
          ++pos;
        } else {
          break;
        }
      }
      while (pos < line.size() && is_csv_space(line[pos])) ++pos;
      field_ends_.push_back(arena_.size());
      if (pos == line.size()) break;
      if (line[pos] != ',') return give_up();  // text after the closing quote
      ++pos;
    } else {
      const auto* comma =
          static_cast<const char*>(std::memchr(line.data() + pos, ',', line.size() - pos));
      const size_t end = comma == nullptr ? line.size() : static_cast<size_t>(comma - line.data());
      const std::string_view field = line.substr(pos, end - pos);
      if (contains(field, '"')) return give_up();  // a quote inside an unquoted field
      const std::string_view trimmed = trim_csv_spaces(field);
      arena_.append(trimmed.data(), trimmed.size());
      field_ends_.push_back(arena_.size());
      if (comma == nullptr) break;
      pos = end + 1;
    }
  }
  record_ends_.push_back(field_ends_.size());
  return true;
}

void CsvRecordReader::parse_with_libcsv(std::string_view data) {
  if (csv_parse(&parser_, data.data(), data.size(), on_field, on_record, this) != data.size()) {
    throw std::runtime_error(std::string("CSV parser failed: ") +
                             csv_strerror(csv_error(&parser_)));
  }
  rethrow_callback_error();
  if (csv_get_buffer_size(&parser_) > kMaxFieldBytes) {
    throw CsvFormatError("A field is longer than " + std::to_string(kMaxFieldBytes >> 20) +
                         " MiB; the file probably has an unbalanced quote.");
  }
}

bool CsvRecordReader::next(std::vector<std::string_view>& fields) {
  while (next_record_ == record_ends_.size()) {
    if (at_end_) return false;
    drop_consumed_records();
    read_chunk();
  }
  const size_t first = next_record_ == 0 ? 0 : record_ends_[next_record_ - 1];
  const size_t last = record_ends_[next_record_++];
  fields.clear();
  for (size_t i = first; i < last; ++i) {
    const size_t begin = i == 0 ? 0 : field_ends_[i - 1];
    fields.emplace_back(arena_.data() + begin, field_ends_[i] - begin);
  }
  return true;
}

}  // namespace contacts::ingest
