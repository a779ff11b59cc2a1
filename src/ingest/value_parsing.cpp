#include "ingest/value_parsing.h"

#include <array>
#include <limits>

#include "util/number_format.h"

namespace contacts::ingest {
namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

// Appends the digits of `s` to `value`; false on a non-digit or on int64 overflow.
bool accumulate_digits(std::string_view s, int64_t& value) {
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  for (const char c : s) {
    if (!is_digit(c)) return false;
    const int digit = c - '0';
    if (value > (kMax - digit) / 10) return false;
    value = value * 10 + digit;
  }
  return true;
}

// The integer part of a count: plain digits, or groups of three after a first group of 1-3.
std::optional<int64_t> parse_integer_part(std::string_view s) {
  if (s.empty()) return std::nullopt;
  int64_t value = 0;
  if (s.find(',') == std::string_view::npos) {
    if (!accumulate_digits(s, value)) return std::nullopt;
    return value;
  }
  const size_t first = s.find(',');
  if (first == 0 || first > 3) return std::nullopt;
  if (!accumulate_digits(s.substr(0, first), value)) return std::nullopt;
  for (size_t pos = first; pos < s.size(); pos += 4) {
    if (s[pos] != ',' || s.size() - pos < 4) return std::nullopt;
    if (!accumulate_digits(s.substr(pos + 1, 3), value)) return std::nullopt;
  }
  return value;
}

// Reads exactly `width` digits at `pos`, advancing it.
std::optional<int> read_fixed(std::string_view s, size_t& pos, size_t width) {
  if (pos + width > s.size()) return std::nullopt;
  int value = 0;
  for (size_t i = 0; i < width; ++i) {
    const char c = s[pos + i];
    if (!is_digit(c)) return std::nullopt;
    value = value * 10 + (c - '0');
  }
  pos += width;
  return value;
}

// Reads one or two digits at `pos`, advancing it.
std::optional<int> read_short(std::string_view s, size_t& pos) {
  if (pos + 1 < s.size() && is_digit(s[pos]) && is_digit(s[pos + 1])) return read_fixed(s, pos, 2);
  return read_fixed(s, pos, 1);
}

bool expect(std::string_view s, size_t& pos, char c) {
  if (pos >= s.size() || s[pos] != c) return false;
  ++pos;
  return true;
}

struct Date {
  int year = 0;
  int month = 0;
  int day = 0;
};

bool is_leap(int year) { return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0; }

bool is_real_date(const Date& d) {
  static constexpr std::array<int, 12> kDays = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (d.year < 1 || d.month < 1 || d.month > 12 || d.day < 1) return false;
  const int days = kDays[d.month - 1] + (d.month == 2 && is_leap(d.year) ? 1 : 0);
  return d.day <= days;
}

// HH:MM:SS[.fff][Z|+HH:MM|-HH:MM] from `pos` to the end of `s`.
bool parse_time_suffix(std::string_view s, size_t pos) {
  const auto hour = read_fixed(s, pos, 2);
  if (!hour || *hour > 23 || !expect(s, pos, ':')) return false;
  const auto minute = read_fixed(s, pos, 2);
  if (!minute || *minute > 59 || !expect(s, pos, ':')) return false;
  const auto second = read_fixed(s, pos, 2);
  if (!second || *second > 60) return false;
  if (pos < s.size() && s[pos] == '.') {
    const size_t start = ++pos;
    while (pos < s.size() && is_digit(s[pos])) ++pos;
    if (pos == start) return false;
  }
  if (pos == s.size()) return true;
  if (s[pos] == 'Z') return pos + 1 == s.size();
  if (s[pos] != '+' && s[pos] != '-') return false;
  ++pos;
  const auto off_hour = read_fixed(s, pos, 2);
  if (!off_hour || *off_hour > 23 || !expect(s, pos, ':')) return false;
  const auto off_minute = read_fixed(s, pos, 2);
  return off_minute && *off_minute <= 59 && pos == s.size();
}

// YYYY-MM-DD, optionally followed by a time; or YYYY/MM/DD.
std::optional<Date> parse_year_first(std::string_view s) {
  size_t pos = 0;
  const auto year = read_fixed(s, pos, 4);
  if (!year || pos >= s.size() || (s[pos] != '-' && s[pos] != '/')) return std::nullopt;
  const char sep = s[pos++];
  const auto month = sep == '-' ? read_fixed(s, pos, 2) : read_short(s, pos);
  if (!month || !expect(s, pos, sep)) return std::nullopt;
  const auto day = sep == '-' ? read_fixed(s, pos, 2) : read_short(s, pos);
  if (!day) return std::nullopt;
  if (pos != s.size()) {
    if (sep != '-' || (s[pos] != 'T' && s[pos] != ' ')) return std::nullopt;
    if (!parse_time_suffix(s, pos + 1)) return std::nullopt;
  }
  return Date{*year, *month, *day};
}

// M/D/YYYY.
std::optional<Date> parse_us_date(std::string_view s) {
  size_t pos = 0;
  const auto month = read_short(s, pos);
  if (!month || !expect(s, pos, '/')) return std::nullopt;
  const auto day = read_short(s, pos);
  if (!day || !expect(s, pos, '/')) return std::nullopt;
  const auto year = read_fixed(s, pos, 4);
  if (!year || pos != s.size()) return std::nullopt;
  return Date{*year, *month, *day};
}

}  // namespace

std::optional<int64_t> parse_count(std::string_view s) {
  const size_t dot = s.find('.');
  if (dot != std::string_view::npos) {
    const std::string_view fraction = s.substr(dot + 1);
    if (fraction.empty() || fraction.find_first_not_of('0') != std::string_view::npos) {
      return std::nullopt;
    }
    s = s.substr(0, dot);
  }
  return parse_integer_part(s);
}

bool is_plausible_email(std::string_view s) {
  for (const char c : s) {
    if (is_space(c)) return false;
  }
  const size_t at = s.find('@');
  if (at == std::string_view::npos || at == 0 || s.find('@', at + 1) != std::string_view::npos) {
    return false;
  }
  const std::string_view domain = s.substr(at + 1);
  if (domain.find('.') == std::string_view::npos) return false;
  size_t start = 0;
  while (true) {
    const size_t dot = domain.find('.', start);
    const size_t end = dot == std::string_view::npos ? domain.size() : dot;
    if (end == start) return false;
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

std::optional<std::string> normalise_date(std::string_view s) {
  std::optional<Date> date = parse_year_first(s);
  if (!date) date = parse_us_date(s);
  if (!date || !is_real_date(*date)) return std::nullopt;
  std::string out;
  out.reserve(10);
  append_padded(out, date->year, 4);
  out.push_back('-');
  append_padded(out, date->month, 2);
  out.push_back('-');
  append_padded(out, date->day, 2);
  return out;
}

}  // namespace contacts::ingest
