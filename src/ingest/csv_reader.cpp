#include "ingest/csv_reader.h"

#include <cerrno>
#include <cstring>

namespace contacts::ingest {
namespace {

constexpr std::string_view kUtf8Bom = "\xEF\xBB\xBF";
// libcsv grows a field buffer linearly by this step.
constexpr size_t kParserBlockBytes = size_t{64} << 10;

}  // namespace

CsvRecordReader::CsvRecordReader(const std::string& path)
    : file_(std::fopen(path.c_str(), "rb")), chunk_(kChunkBytes) {
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
