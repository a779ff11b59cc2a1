// Maps the header row of an imported CSV onto contact fields (contract, section 8).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace contacts::ingest {

enum class ColumnKind : uint8_t { text, number, meta };

// Where one CSV column goes: a text field, a number field (index into the model's
// text_fields() / number_fields()), or meta_data under the column's original name.
struct ColumnTarget {
  ColumnKind kind = ColumnKind::meta;
  size_t index = 0;
};

struct HeaderMapping {
  std::vector<ColumnTarget> columns;  // one per header column, in file order
  std::vector<std::string> names;     // the header names as in the file, trimmed

  // True when at least one column maps to a contact field.
  bool maps_any_field() const;
};

// The form header names are compared in: ASCII lower case, letters and digits only
// ("# Employees" -> "employees", "Company Name for Emails" -> "companynameforemails").
std::string normalise_header_name(std::string_view name);

// Maps each header column to a field by its API name or Apollo label, compared normalised.
// When several columns map to the same field, the first wins and the others go to meta_data.
HeaderMapping map_header(std::span<const std::string_view> header);

}  // namespace contacts::ingest
