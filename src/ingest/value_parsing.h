// Parsing of single CSV values during import: counts, e-mail addresses and dates.
// Pure functions of their input; safe to call from any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace contacts::ingest {

// A non-negative integer as spreadsheets export it: digits, optionally grouped in threes by
// "," ("1,500,000"), optionally followed by "." and zeros ("1500000.0"). Returns nullopt for
// anything else: empty, signs, other fractions ("1.5"), exponents, values above INT64_MAX.
std::optional<int64_t> parse_count(std::string_view s);

// True when `s` has the form local@domain.tld: exactly one '@', a non-empty local part, a
// domain of at least two dot-separated labels, none empty, and no whitespace anywhere.
bool is_plausible_email(std::string_view s);

// `s` as "YYYY-MM-DD" when it is a real calendar date written as YYYY-MM-DD,
// YYYY-MM-DDTHH:MM:SS[.fff][Z|+HH:MM|-HH:MM] (or a space instead of the T), YYYY/MM/DD or
// M/D/YYYY (US order). The date is taken as written; an offset does not shift it to UTC.
// Returns nullopt for anything else.
std::optional<std::string> normalise_date(std::string_view s);

}  // namespace contacts::ingest
