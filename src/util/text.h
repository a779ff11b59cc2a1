// UTF-8 text helpers shared by import, query parsing and the read index.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace contacts::text {

// True when `s` is well-formed UTF-8 (no overlongs, surrogates or values above U+10FFFF).
bool is_valid_utf8(std::string_view s);

// True when every byte of `s` is ASCII (fold() of it is then ascii_lower()).
bool is_ascii(std::string_view s);

// Unicode full case folding (ICU, as Python's str.casefold): "MÜLLER" -> "müller",
// "Straße" -> "strasse". Comparing folded strings gives case-insensitive matching.
// Invalid UTF-8 input is folded byte-wise for ASCII and copied otherwise.
std::string fold(std::string_view s);

// `s` without leading and trailing ASCII whitespace.
std::string_view trim(std::string_view s);

// Splits on `sep`: every part as it is, empty ones included ("" gives one empty part).
std::vector<std::string_view> split(std::string_view s, char sep);

// Splits on `sep`, trims each part and drops empty parts.
std::vector<std::string_view> split_trimmed(std::string_view s, char sep);

// The value of hexadecimal digit `c` (either case), or -1.
int hex_digit_value(char c);

// ASCII lower-casing (for header names, booleans and other protocol tokens).
std::string ascii_lower(std::string_view s);

}  // namespace contacts::text
