#include "util/number_format.h"

#include <array>
#include <charconv>

namespace contacts {

void append_int(std::string& out, int64_t value) {
  std::array<char, 24> buf{};
  const auto res = std::to_chars(buf.data(), buf.data() + buf.size(), value);
  out.append(buf.data(), res.ptr);
}

void append_padded(std::string& out, int64_t value, int width) {
  std::array<char, 24> buf{};
  const auto res = std::to_chars(buf.data(), buf.data() + buf.size(), value);
  for (int pad = width - static_cast<int>(res.ptr - buf.data()); pad > 0; --pad) {
    out.push_back('0');
  }
  out.append(buf.data(), res.ptr);
}

void append_grouped(std::string& out, int64_t value) {
  std::string digits;
  append_int(digits, value);
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out.push_back(',');
    out.push_back(digits[i]);
  }
}

void append_hex(std::string& out, uint64_t value, int digits) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (int i = digits - 1; i >= 0; --i) out.push_back(kHex[(value >> (4 * i)) & 0xF]);
}

}  // namespace contacts
