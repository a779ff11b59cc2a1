// Numbers written into text without a stream or an allocation of their own: CSV cells, dates,
// generated identifiers.
#pragma once

#include <cstdint>
#include <string>

namespace contacts {

// Appends `value` in decimal.
void append_int(std::string& out, int64_t value);
// Appends non-negative `value` in decimal, zero-padded to `width` digits.
void append_padded(std::string& out, int64_t value, int width);
// Appends non-negative `value` with thousands separators: 1500000 -> "1,500,000".
void append_grouped(std::string& out, int64_t value);
// Appends the low `digits` hex digits of `value`, lower case.
void append_hex(std::string& out, uint64_t value, int digits);

}  // namespace contacts
