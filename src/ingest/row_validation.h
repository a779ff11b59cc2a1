// Validation and conversion of one imported data row into contact values (contract,
// sections 2 and 8). Pure functions; safe to call from any thread.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "ingest/header_mapping.h"
#include "model/contact.h"

namespace contacts::ingest {

// Longest text value a row may carry, in bytes.
inline constexpr size_t kMaxValueBytes = 65535;

// The outcome of one row: the contact to import, or the reason the row fails.
struct RowVerdict {
  ContactValues values;  // meaningful only when ok()
  std::string error;     // e.g. "Invalid email: 'x@y'."; empty when the row is valid
  bool ok() const { return error.empty(); }
};

// Validates `fields` (as parsed, in header order) and converts them: values trimmed, counts
// parsed, last_raised_at normalised when it is a date, unmapped non-empty values collected in
// meta_data. A row fails on the first of: wrong field count, invalid UTF-8, a value over
// kMaxValueBytes, an invalid count, an implausible email, no first_name/last_name/email.
RowVerdict validate_row(const HeaderMapping& header, std::span<const std::string_view> fields);

// The same into `out`, whose strings keep their memory (an import reuses one ContactValues
// per batch slot: no allocation per row). Returns the error, or "" when the row is valid;
// `out` is meaningful only then.
std::string validate_row_into(const HeaderMapping& header,
                              std::span<const std::string_view> fields, ContactValues& out);

}  // namespace contacts::ingest
