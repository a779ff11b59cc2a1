// Formatting of generated values: numbers, hex identifiers and e-mail letter case.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace contacts::ingest {

// Appends `value` in decimal.
void append_int(std::string& out, int64_t value);
// Appends non-negative `value` in decimal, zero-padded to `width` digits.
void append_padded(std::string& out, int64_t value, int width);
// Appends non-negative `value` with thousands separators: 1500000 -> "1,500,000".
void append_grouped(std::string& out, int64_t value);
// Appends the low `digits` hex digits of `value`, lower case.
void append_hex(std::string& out, uint64_t value, int digits);

// The same ASCII address in other letter case: "ann.lee@x.com" -> "Ann.Lee@X.com" when it is
// all lower case, otherwise lowered.
std::string recased(std::string_view email);

}  // namespace contacts::ingest
