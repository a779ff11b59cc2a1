// Text order of the API (contract section 4): the Unicode Collation Algorithm, root locale,
// tertiary strength (ICU "und", PostgreSQL's und-x-icu), so that "élan" sorts with "elan"
// and "apple" before "Banana". Thread-safe: one ICU collator, used through const calls only.
#pragma once

#include <string>
#include <string_view>

namespace contacts::collation {

// <0, 0 or >0 as `a` sorts before, with or after `b`. 0 means equal collation keys (e.g. the
// same text in two Unicode normal forms), not equal bytes. Invalid UTF-8 compares as U+FFFD.
int compare(std::string_view a, std::string_view b);

// The collation order, equal keys then ordered by bytes: a total order of distinct values
// (the order of distinct-value listings).
inline bool less_then_bytes(std::string_view a, std::string_view b) {
  const int c = compare(a, b);
  return c != 0 ? c < 0 : a < b;
}

// Appends the ICU sort key of `utf8` to `out`: comparing keys bytewise (memcmp, shorter
// first) compares the texts. The key holds no zero byte; no terminator is appended.
void append_sort_key(std::string& out, std::string_view utf8);

// The collator's identity (ICU's UCA and collator versions), recorded with anything that
// persists collation ranks so that an ICU upgrade rebuilds them.
const std::string& version();

}  // namespace contacts::collation
