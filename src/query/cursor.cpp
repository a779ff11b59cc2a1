#include "query/cursor.h"

#include <charconv>
#include <cstdint>

namespace contacts {
namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

std::string base64url(std::string_view in) {
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (unsigned char c : in) {
    acc = (acc << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(kAlphabet[(acc >> bits) & 63]);
    }
  }
  if (bits > 0) out.push_back(kAlphabet[(acc << (6 - bits)) & 63]);
  return out;
}

std::optional<std::string> unbase64url(std::string_view in) {
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    int v;
    if (c >= 'A' && c <= 'Z') v = c - 'A';
    else if (c >= 'a' && c <= 'z') v = c - 'a' + 26;
    else if (c >= '0' && c <= '9') v = c - '0' + 52;
    else if (c == '-') v = 62;
    else if (c == '_') v = 63;
    else return std::nullopt;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  return out;
}

bool parse_int(std::string_view s, int64_t& out) {
  if (s.empty()) return false;
  auto res = std::from_chars(s.data(), s.data() + s.size(), out);
  return res.ec == std::errc() && res.ptr == s.data() + s.size();
}

}  // namespace

std::string encode_cursor(const CursorToken& t) {
  return base64url("c1|" + std::to_string(t.created_at_us) + "|" + std::to_string(t.id) + "|" +
                   (t.backwards ? "b" : "f"));
}

std::optional<CursorToken> decode_cursor(std::string_view text) {
  if (text.empty() || text.size() > 128) return std::nullopt;
  auto raw = unbase64url(text);
  if (!raw) return std::nullopt;
  std::string_view s = *raw;
  if (s.substr(0, 3) != "c1|") return std::nullopt;
  s.remove_prefix(3);
  const size_t a = s.find('|');
  if (a == std::string_view::npos) return std::nullopt;
  const size_t b = s.find('|', a + 1);
  if (b == std::string_view::npos) return std::nullopt;
  CursorToken t;
  if (!parse_int(s.substr(0, a), t.created_at_us) || !parse_int(s.substr(a + 1, b - a - 1), t.id) ||
      t.id <= 0) {
    return std::nullopt;
  }
  const std::string_view dir = s.substr(b + 1);
  if (dir == "b") t.backwards = true;
  else if (dir != "f") return std::nullopt;
  if (encode_cursor(t) != text) return std::nullopt;  // only the canonical spelling is ours
  return t;
}

}  // namespace contacts
