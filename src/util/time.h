// Time helpers: microseconds since the Unix epoch (UTC) <-> RFC 3339 text.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace contacts::timeutil {

// Current time in microseconds since the epoch (UTC).
int64_t now_us();

// "2024-01-01T00:00:00.123456Z" (fraction only when non-zero).
std::string format_rfc3339(int64_t us);

// Parses an RFC 3339 datetime ("2024-01-01T00:00:00Z", fraction and offset allowed, 'T' or
// ' ' separator) or a plain date ("2024-01-01" = midnight UTC). nullopt when invalid.
std::optional<int64_t> parse_datetime(std::string_view s);

// Days since 1970-01-01 of a valid civil date; nullopt for an invalid date.
std::optional<int64_t> days_from_civil(int y, int m, int d);

}  // namespace contacts::timeutil
