#include "http/server_wire.h"

#include <charconv>
#include <cstdint>

#include "util/text.h"

namespace contacts::http {

const std::string* Request::header(std::string_view lower_name) const {
  for (const auto& [name, value] : headers) {
    if (name == lower_name) return &value;
  }
  return nullptr;
}

bool Request::if_none_match(std::string_view etag) const {
  const std::string* value = header("if-none-match");
  if (!value) return false;
  for (std::string_view tag : text::split_trimmed(*value, ',')) {
    if (tag.substr(0, 2) == "W/") tag.remove_prefix(2);
    if (tag == "*" || tag == etag) return true;
  }
  return false;
}

const std::string* Response::header(std::string_view name) const {
  for (const auto& [n, value] : headers) {
    if (wire::iequals(n, name)) return &value;
  }
  return nullptr;
}

void Response::set_header(std::string name, std::string value) {
  auto it = headers.begin();
  while (it != headers.end() && !wire::iequals(it->first, name)) ++it;
  if (it == headers.end()) {
    headers.emplace_back(std::move(name), std::move(value));
    return;
  }
  it->second = std::move(value);
  for (auto later = it + 1; later != headers.end();) {
    later = wire::iequals(later->first, name) ? headers.erase(later) : later + 1;
  }
}

namespace wire {
namespace {

bool is_token_char(unsigned char c) {
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
}

bool is_valid_name(std::string_view name) {
  if (name.empty()) return false;
  for (const char c : name) {
    if (!is_token_char(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

// Visible characters, space, tab and obs-text; CR and LF would split the response.
bool is_valid_value(std::string_view value) {
  for (const char c : value) {
    const auto u = static_cast<unsigned char>(c);
    if ((u < 0x20 && u != '\t') || u == 0x7f) return false;
  }
  return true;
}

void append_number(std::string& out, uint64_t n) {
  char digits[20];
  const auto result = std::to_chars(digits, digits + sizeof digits, n);
  out.append(digits, result.ptr);
}

void append_two_digits(std::string& out, int n) {
  out += static_cast<char>('0' + n / 10);
  out += static_cast<char>('0' + n % 10);
}

// Formatting a date costs more than a whole small response; each thread redoes it once a second.
const std::string& current_http_date() {
  thread_local std::time_t cached_second = -1;
  thread_local std::string cached_text;
  const std::time_t now = std::time(nullptr);
  if (now != cached_second) {
    cached_text = format_http_date(now);
    cached_second = now;
  }
  return cached_text;
}

}  // namespace

char ascii_lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  }
  return true;
}

bool is_writable_status(int status) { return status >= 200 && status <= 999; }

void write_chunk_size(size_t size, std::string& out) {
  static constexpr char kHex[] = "0123456789abcdef";
  char digits[16];
  size_t n = 0;
  for (; size > 0; size >>= 4) digits[n++] = kHex[size & 0xF];
  out.clear();
  while (n > 0) out.push_back(digits[--n]);
  out.append(kChunkEnd);
}

std::string format_http_date(std::time_t time) {
  static constexpr std::string_view kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr std::string_view kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                 "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  std::tm tm{};
  gmtime_r(&time, &tm);
  std::string out;
  out.reserve(29);
  out.append(kDays[tm.tm_wday]).append(", ");
  append_two_digits(out, tm.tm_mday);
  out.append(" ").append(kMonths[tm.tm_mon]).append(" ");
  append_number(out, static_cast<uint64_t>(tm.tm_year + 1900));
  out += ' ';
  append_two_digits(out, tm.tm_hour);
  out += ':';
  append_two_digits(out, tm.tm_min);
  out += ':';
  append_two_digits(out, tm.tm_sec);
  out.append(" GMT");
  return out;
}

ResponseFraming write_response_head(const Response& response, std::string_view reason,
                                    const RequestFraming& request, std::string& out) {
  const int status = response.status;
  const bool bodiless_status = status == 204 || status == 304;
  const bool streamed = response.body_source != nullptr && !bodiless_status;
  ResponseFraming framing{!request.head && !bodiless_status,
                          request.keep_alive && !(streamed && request.http10),
                          streamed && !request.http10};

  out.clear();
  out.append("HTTP/1.1 ");
  append_number(out, static_cast<uint64_t>(status));
  out += ' ';
  out.append(reason).append("\r\n");

  bool has_date = false;
  for (const auto& [name, value] : response.headers) {
    if (!is_valid_name(name) || !is_valid_value(value)) continue;
    if (iequals(name, "content-length") || iequals(name, "transfer-encoding")) continue;
    if (iequals(name, "connection")) {
      if (iequals(value, "close")) framing.keep_alive = false;
      continue;
    }
    if (iequals(name, "date")) has_date = true;
    out.append(name).append(": ").append(value).append("\r\n");
  }
  if (!has_date) out.append("Date: ").append(current_http_date()).append("\r\n");
  if (framing.chunked) {
    out.append("Transfer-Encoding: chunked\r\n");
  } else if (!bodiless_status && !streamed) {
    out.append("Content-Length: ");
    append_number(out, response.body.size());
    out.append("\r\n");
  }
  if (!framing.keep_alive) {
    out.append("Connection: close\r\n");
  } else if (request.http10) {
    out.append("Connection: keep-alive\r\n");
  }
  out.append("\r\n");
  return framing;
}

}  // namespace wire
}  // namespace contacts::http
