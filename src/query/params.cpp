#include "query/params.h"

#include <algorithm>

#include "util/error.h"
#include "util/text.h"
#include "util/time.h"

namespace contacts {
namespace {

using text::hex_digit_value;

std::string url_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '+') {
      out.push_back(' ');
    } else if (c == '%' && i + 2 < s.size() &&
               hex_digit_value(s[i + 1]) >= 0 && hex_digit_value(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex_digit_value(s[i + 1]) * 16 + hex_digit_value(s[i + 2])));
      i += 2;
    } else {
      out.push_back(c);
    }
  }
  return out;
}

[[noreturn]] void bad_value(std::string_view name, std::string_view expectation) {
  throw Error(ErrorCode::invalid_parameter, "Invalid value for '" + std::string(name) + "': " + std::string(expectation));
}

}  // namespace

QueryParams QueryParams::parse(std::string_view raw) {
  QueryParams p;
  size_t start = 0;
  while (start <= raw.size()) {
    size_t end = raw.find('&', start);
    if (end == std::string_view::npos) end = raw.size();
    const std::string_view part = raw.substr(start, end - start);
    start = end + 1;
    if (part.empty()) continue;
    const size_t eq = part.find('=');
    std::string name = url_decode(part.substr(0, eq));
    std::string value = eq == std::string_view::npos ? std::string() : url_decode(part.substr(eq + 1));
    if (!text::is_valid_utf8(name) || !text::is_valid_utf8(value)) {
      throw Error(ErrorCode::invalid_parameter, "Query parameter is not valid UTF-8.");
    }
    auto it = std::find_if(p.pairs_.begin(), p.pairs_.end(),
                           [&](const auto& kv) { return kv.first == name; });
    if (it != p.pairs_.end()) {
      it->second = std::move(value);
    } else {
      p.pairs_.emplace_back(std::move(name), std::move(value));
    }
  }
  return p;
}

const std::string* QueryParams::get(std::string_view name) const {
  for (const auto& [k, v] : pairs_) {
    if (k == name) return &v;
  }
  return nullptr;
}

std::optional<bool> QueryParams::get_bool(std::string_view name) const {
  const std::string* v = get(name);
  if (!v) return std::nullopt;
  const std::string s = text::ascii_lower(*v);
  if (s == "true" || s == "1" || s == "yes") return true;
  if (s == "false" || s == "0" || s == "no") return false;
  bad_value(name, "expected true or false.");
}

std::optional<uint64_t> QueryParams::get_uint(std::string_view name) const {
  const std::string* v = get(name);
  if (!v) return std::nullopt;
  if (v->empty()) bad_value(name, "must be a non-negative integer.");
  uint64_t n = 0;
  for (char c : *v) {
    if (c < '0' || c > '9') bad_value(name, "must be a non-negative integer.");
    const uint64_t d = static_cast<uint64_t>(c - '0');
    n = n > (UINT64_MAX - d) / 10 ? UINT64_MAX : n * 10 + d;
  }
  return n;
}

std::optional<uint64_t> QueryParams::get_positive(std::string_view name) const {
  auto n = get_uint(name);
  if (n && *n == 0) bad_value(name, "must be a positive integer.");
  return n;
}

std::optional<int64_t> QueryParams::get_datetime(std::string_view name) const {
  const std::string* v = get(name);
  if (!v || v->empty()) return std::nullopt;
  auto t = timeutil::parse_datetime(text::trim(*v));
  if (!t) bad_value(name, "expected an ISO 8601 date or datetime.");
  return t;
}

std::string url_encode(std::string_view s) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

std::string QueryParams::encode_with(
    const std::vector<std::pair<std::string, std::optional<std::string>>>& changes) const {
  std::string out;
  auto append = [&](std::string_view k, std::string_view v) {
    if (!out.empty()) out.push_back('&');
    out += url_encode(k);
    out.push_back('=');
    out += url_encode(v);
  };
  for (const auto& pair : pairs_) {  // (clang 14 cannot capture structured bindings)
    const bool changed = std::any_of(changes.begin(), changes.end(),
                                     [&](const auto& c) { return c.first == pair.first; });
    if (!changed) append(pair.first, pair.second);
  }
  for (const auto& [k, v] : changes) {
    if (v) append(k, *v);
  }
  return out;
}

std::string QueryParams::canonical() const {
  auto sorted = pairs_;
  std::sort(sorted.begin(), sorted.end());
  std::string out;
  for (const auto& [k, v] : sorted) {
    out += url_encode(k);
    out.push_back('=');
    out += url_encode(v);
    out.push_back('&');
  }
  return out;
}

}  // namespace contacts
