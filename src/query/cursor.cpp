#include "query/cursor.h"

#include <charconv>
#include <cstdint>

#include "util/base64url.h"

namespace contacts {
namespace {

bool parse_int(std::string_view s, int64_t& out) {
  if (s.empty()) return false;
  auto res = std::from_chars(s.data(), s.data() + s.size(), out);
  return res.ec == std::errc() && res.ptr == s.data() + s.size();
}

}  // namespace

std::string encode_cursor(const CursorToken& t) {
  return base64url_encode("c1|" + std::to_string(t.created_at_us) + "|" + std::to_string(t.id) + "|" +
                   (t.backwards ? "b" : "f"));
}

std::optional<CursorToken> decode_cursor(std::string_view text) {
  if (text.empty() || text.size() > 128) return std::nullopt;
  auto raw = base64url_decode(text);
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
