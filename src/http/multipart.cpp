#include "http/multipart.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>
#include <vector>

#include "http/server_wire.h"

namespace contacts::http {
namespace {

constexpr size_t kMaxBoundaryChars = 70;           // RFC 2046
constexpr size_t kMaxPartHeaderBytes = 16 * 1024;  // one part's header block
constexpr uint64_t kMaxSkippedFieldBytes = 1024 * 1024;
constexpr size_t kMaxBoundaryLineBytes = 256;  // "--boundary" then padding and CRLF
constexpr size_t kOutputChunkBytes = 64 * 1024;

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), wire::ascii_lower);
  return out;
}

// A header value of the form `type; name=value; name="quoted value"` (RFC 7231 3.1.1.1,
// RFC 6266). Parameter names are lower-cased; quoted values have `\x` escapes undone.
struct ParameterizedValue {
  std::string type;
  std::vector<std::pair<std::string, std::string>> parameters;
  const std::string* parameter(std::string_view name) const {
    for (const auto& [key, value] : parameters) {
      if (key == name) return &value;
    }
    return nullptr;
  }
};

std::optional<ParameterizedValue> parse_parameterized(std::string_view text) {
  ParameterizedValue out;
  size_t pos = text.find(';');
  out.type = lower(trim(text.substr(0, pos)));
  while (pos < text.size()) {  // text[pos] == ';'
    ++pos;
    while (pos < text.size() && (text[pos] == ' ' || text[pos] == '\t')) ++pos;
    if (pos == text.size()) break;
    const size_t equals = text.find_first_of("=;", pos);
    if (equals == std::string_view::npos || text[equals] == ';') return std::nullopt;
    std::string name = lower(trim(text.substr(pos, equals - pos)));
    pos = equals + 1;
    while (pos < text.size() && (text[pos] == ' ' || text[pos] == '\t')) ++pos;
    std::string value;
    if (pos < text.size() && text[pos] == '"') {
      for (++pos;; ++pos) {
        if (pos >= text.size()) return std::nullopt;  // unterminated quoted-string
        if (text[pos] == '"') break;
        if (text[pos] == '\\' && pos + 1 < text.size()) ++pos;
        value += text[pos];
      }
      const size_t closing_quote = pos;
      pos = text.find(';', closing_quote);
      if (!trim(text.substr(closing_quote + 1, pos - closing_quote - 1)).empty()) {
        return std::nullopt;  // something after the closing quote
      }
    } else {
      const size_t end = text.find(';', pos);
      value = trim(text.substr(pos, end - pos));
      pos = end;
    }
    out.parameters.emplace_back(std::move(name), std::move(value));
  }
  return out;
}

bool is_boundary_char(char c) {
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
  return std::string_view("'()+_,-./:=? ").find(c) != std::string_view::npos;
}

bool write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

// Length of the longest tail of `text` that is a proper prefix of `delimiter`.
size_t partial_delimiter_tail(std::string_view text, std::string_view delimiter) {
  for (size_t k = std::min(text.size(), delimiter.size() - 1); k > 0; --k) {
    if (text.substr(text.size() - k) == delimiter.substr(0, k)) return k;
  }
  return 0;
}

}  // namespace

std::optional<std::string> multipart_boundary(std::string_view content_type) {
  const auto parsed = parse_parameterized(content_type);
  if (!parsed || parsed->type != "multipart/form-data") return std::nullopt;
  const std::string* boundary = parsed->parameter("boundary");
  if (boundary == nullptr || boundary->empty() || boundary->size() > kMaxBoundaryChars ||
      boundary->back() == ' ' ||
      !std::all_of(boundary->begin(), boundary->end(), is_boundary_char)) {
    return std::nullopt;
  }
  return *boundary;
}

MultipartFileSink::MultipartFileSink(std::string boundary, std::string field, std::string path)
    : delimiter_("\r\n--" + boundary), field_(std::move(field)), path_(std::move(path)) {
  fd_ = ::open(path_.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
  if (fd_ < 0) {
    error_ = "cannot create " + path_ + ": " + std::strerror(errno);
    state_ = State::kFailed;
    return;
  }
  created_ = true;
}

MultipartFileSink::~MultipartFileSink() {
  if (fd_ >= 0) ::close(fd_);
  if (created_ && !keep_) ::unlink(path_.c_str());
}

bool MultipartFileSink::write(std::string_view bytes) {
  while (!bytes.empty()) {
    bool ok = true;
    switch (state_) {
      case State::kPreamble:
        ok = on_preamble(bytes);
        break;
      case State::kBoundaryLine:
        ok = on_boundary_line(bytes);
        break;
      case State::kHeaders:
        ok = on_headers(bytes);
        break;
      case State::kContent:
        ok = on_content(bytes);
        break;
      case State::kDone:
        return true;  // the epilogue is ignored
      case State::kFailed:
        return false;
    }
    if (!ok) return false;
  }
  return state_ != State::kFailed;
}

BodySink::Rejection MultipartFileSink::rejection() const {
  if (!field_too_large_) return {};
  return {413, R"({"detail": "A form field other than 'file' is over 1 MiB."})"};
}

bool MultipartFileSink::fail(std::string reason) {
  if (state_ != State::kFailed) error_ = std::move(reason);
  state_ = State::kFailed;
  return false;
}

// The body starts with "--boundary" (no preamble: browsers never send one).
bool MultipartFileSink::on_preamble(std::string_view& bytes) {
  const std::string_view first = std::string_view(delimiter_).substr(2);
  const size_t take = std::min(bytes.size(), first.size() - matched_);
  if (bytes.substr(0, take) != first.substr(matched_, take)) {
    return fail("the body does not start with the boundary");
  }
  bytes.remove_prefix(take);
  matched_ += take;
  if (matched_ == first.size()) {
    state_ = State::kBoundaryLine;
    pending_.clear();
  }
  return true;
}

// After a boundary: "--" (the closing one), or optional padding (spaces, tabs) and CRLF.
bool MultipartFileSink::on_boundary_line(std::string_view& bytes) {
  while (!bytes.empty()) {
    const char c = bytes.front();
    bytes.remove_prefix(1);
    pending_ += c;
    if (pending_.front() == '-') {
      if (pending_.size() < 2) continue;
      if (pending_ != "--") return fail("garbage after a boundary");
      pending_.clear();
      state_ = State::kDone;
      return finish_file();
    }
    const bool after_cr = pending_.size() >= 2 && pending_[pending_.size() - 2] == '\r';
    if (c == '\n' && after_cr) {
      state_ = State::kHeaders;
      pending_ = "\r\n";  // lets an empty header block be found as "\r\n\r\n" too
      return true;
    }
    if (after_cr || (c != ' ' && c != '\t' && c != '\r')) {
      return fail("garbage after a boundary");
    }
    if (pending_.size() > kMaxBoundaryLineBytes) return fail("garbage after a boundary");
  }
  return true;
}

bool MultipartFileSink::on_headers(std::string_view& bytes) {
  const size_t capacity = 2 + kMaxPartHeaderBytes + 4;
  const size_t old_size = pending_.size();
  const size_t take = std::min(bytes.size(), capacity - old_size);
  pending_.append(bytes.substr(0, take));
  const size_t end = pending_.find("\r\n\r\n", old_size >= 3 ? old_size - 3 : 0);
  if (end == std::string::npos) {
    bytes.remove_prefix(take);
    if (pending_.size() >= capacity) return fail("part headers over 16 KiB");
    return true;
  }
  bytes.remove_prefix(end + 4 - old_size);
  const std::string headers = end == 0 ? std::string() : pending_.substr(2, end - 2);
  pending_.clear();
  return start_part(headers);
}

bool MultipartFileSink::start_part(std::string_view headers) {
  std::optional<std::string> disposition;
  bool in_disposition = false;
  while (!headers.empty()) {
    const size_t eol = headers.find("\r\n");
    const std::string_view line = headers.substr(0, eol);
    headers = eol == std::string_view::npos ? std::string_view() : headers.substr(eol + 2);
    if (line.empty()) continue;
    if (line.front() == ' ' || line.front() == '\t') {  // obsolete line folding
      if (in_disposition) *disposition += " " + std::string(trim(line));
      continue;
    }
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) return fail("a part header without a name");
    in_disposition = !disposition && wire::iequals(line.substr(0, colon), "content-disposition");
    if (in_disposition) disposition = std::string(trim(line.substr(colon + 1)));
  }

  std::optional<ParameterizedValue> parsed;
  if (disposition) {
    parsed = parse_parameterized(*disposition);
    if (!parsed) return fail("a malformed Content-Disposition");
  }
  const std::string* name = parsed ? parsed->parameter("name") : nullptr;
  const std::string* filename = parsed ? parsed->parameter("filename") : nullptr;
  writing_part_ =
      !found_field_ && parsed && parsed->type == "form-data" && name != nullptr && *name == field_;
  limit_part_ = !writing_part_ && filename == nullptr;
  if (writing_part_) {
    found_field_ = true;
    client_filename_ = filename != nullptr ? *filename : "";
  }
  part_bytes_ = 0;
  state_ = State::kContent;
  return true;
}

// Content runs until "\r\n--boundary". A tail that may begin it waits in pending_ for the next
// call, so a delimiter split across any two writes is still found.
bool MultipartFileSink::on_content(std::string_view& bytes) {
  const size_t length = delimiter_.size();
  if (!pending_.empty()) {
    std::string window = pending_;  // under 2 delimiters long
    window.append(bytes.substr(0, length));
    const size_t at = window.find(delimiter_);
    if (at != std::string::npos) {
      if (!emit(std::string_view(window).substr(0, at))) return false;
      bytes.remove_prefix(at + length - pending_.size());
      pending_.clear();
      return end_part();
    }
    if (bytes.size() <= length) {  // the window holds everything there is
      const size_t tail = partial_delimiter_tail(window, delimiter_);
      if (!emit(std::string_view(window).substr(0, window.size() - tail))) return false;
      pending_ = window.substr(window.size() - tail);
      bytes = {};
      return true;
    }
    // No delimiter starts inside pending_: it would have ended inside the window.
    if (!emit(pending_)) return false;
    pending_.clear();
  }
  const size_t at = bytes.find(delimiter_);
  if (at != std::string_view::npos) {
    if (!emit(bytes.substr(0, at))) return false;
    bytes.remove_prefix(at + length);
    return end_part();
  }
  const size_t tail = partial_delimiter_tail(bytes, delimiter_);
  if (!emit(bytes.substr(0, bytes.size() - tail))) return false;
  pending_.assign(bytes.substr(bytes.size() - tail));
  bytes = {};
  return true;
}

bool MultipartFileSink::emit(std::string_view content) {
  if (content.empty()) return true;
  part_bytes_ += content.size();
  if (!writing_part_) {
    if (limit_part_ && part_bytes_ > kMaxSkippedFieldBytes) {
      field_too_large_ = true;
      return fail("a form field over 1 MiB");
    }
    return true;
  }
  file_bytes_ += content.size();
  if (out_.size() + content.size() > kOutputChunkBytes && !flush()) return false;
  if (content.size() >= kOutputChunkBytes) {
    if (!write_all(fd_, content))
      return fail("cannot write " + path_ + ": " + std::strerror(errno));
    return true;
  }
  out_.append(content);
  return true;
}

bool MultipartFileSink::end_part() {
  const bool ok = !writing_part_ || flush();
  writing_part_ = false;
  state_ = State::kBoundaryLine;
  return ok;
}

bool MultipartFileSink::flush() {
  if (out_.empty()) return true;
  if (!write_all(fd_, out_)) return fail("cannot write " + path_ + ": " + std::strerror(errno));
  out_.clear();
  return true;
}

bool MultipartFileSink::finish_file() {
  if (!flush()) return false;
  const int fd = std::exchange(fd_, -1);
  if (::fsync(fd) != 0) {
    const int saved = errno;
    ::close(fd);
    return fail("cannot fsync " + path_ + ": " + std::strerror(saved));
  }
  if (::close(fd) != 0) return fail("cannot close " + path_ + ": " + std::strerror(errno));
  return true;
}

}  // namespace contacts::http
