// RFC 4180 output, shared by the errors CSV, the export and the demo generator.
#pragma once

#include <span>
#include <string>
#include <string_view>

namespace contacts {

// Appends `field` to `out`, between double quotes (inner quotes doubled) when it contains a
// comma, a quote, CR or LF, or starts or ends with a space or tab (which readers may trim).
// With `formula_guard`, a field starting with '=', '+', '-', '@', a tab or CR (what
// spreadsheets run as a formula) is written with a leading apostrophe (CONTACTS_CSV_FORMULA_GUARD).
void append_csv_field(std::string& out, std::string_view field, bool formula_guard = false);

// Appends `fields` separated by commas, then "\r\n".
void append_csv_record(std::string& out, std::span<const std::string_view> fields,
                       bool formula_guard = false);

}  // namespace contacts
