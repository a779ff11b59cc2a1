#include "ingest/row_validation.h"

#include <vector>

#include "ingest/value_parsing.h"
#include "util/json_writer.h"
#include "util/text.h"

namespace contacts::ingest {
namespace {

// Values quoted in messages are cut to this many bytes (at a character boundary).
constexpr size_t kQuotedValueBytes = 200;

std::string quote_for_message(std::string_view value) {
  if (value.size() <= kQuotedValueBytes) return "'" + std::string(value) + "'";
  size_t cut = kQuotedValueBytes;
  while (cut > 0 && (static_cast<unsigned char>(value[cut]) & 0xC0) == 0x80) --cut;
  return "'" + std::string(value.substr(0, cut)) + "...'";
}

std::string_view column_name(const HeaderMapping& header, size_t column) {
  const ColumnTarget& target = header.columns[column];
  switch (target.kind) {
    case ColumnKind::text:
      return text_fields()[target.index].name;
    case ColumnKind::number:
      return number_fields()[target.index].name;
    case ColumnKind::meta:
      break;
  }
  return header.names[column];
}

// Converts the trimmed value of one column into `out` (meta_data values are left to
// write_meta_data); returns the error, or "".
std::string convert_value(const HeaderMapping& header, size_t column, std::string_view value,
                          ContactValues& out) {
  if (value.size() > kMaxValueBytes) {
    return "Value of " + std::string(column_name(header, column)) + " is longer than " +
           std::to_string(kMaxValueBytes) + " bytes.";
  }
  const ColumnTarget& target = header.columns[column];
  if (target.kind == ColumnKind::number) {
    if (value.empty()) return {};
    const auto number = parse_count(value);
    if (!number) {
      return "Invalid integer for " + std::string(number_fields()[target.index].name) + ": " +
             quote_for_message(value) + ".";
    }
    out.numbers[target.index] = *number;
  } else if (target.kind == ColumnKind::text) {
    const auto date = text_fields()[target.index].field == TextField::last_raised_at
                          ? normalise_date(value)
                          : std::nullopt;
    if (date) {
      out.text[target.index] = *date;
    } else {
      out.text[target.index].assign(value);
    }
  }
  return {};
}

// meta_data: {"<header>": "<value>"} for the non-empty values of unmapped columns; when a
// header name repeats, its first non-empty value is kept.
void write_meta_data(const HeaderMapping& header, std::span<const std::string_view> values,
                     std::string& out) {
  thread_local std::vector<size_t> written;  // reused across rows
  written.clear();
  for (size_t column = 0; column < values.size(); ++column) {
    if (header.columns[column].kind != ColumnKind::meta || values[column].empty()) continue;
    const std::string& name = header.names[column];
    bool repeated = false;
    for (const size_t earlier : written) repeated = repeated || header.names[earlier] == name;
    if (!repeated) written.push_back(column);
  }
  if (written.empty()) return;
  out.clear();
  JsonWriter json(out);
  json.begin_object();
  for (const size_t column : written) json.field(header.names[column], values[column]);
  json.end_object();
}

std::string check_identity(const ContactValues& values) {
  const std::string& email = values[TextField::email];
  if (!email.empty() && !is_plausible_email(email)) {
    return "Invalid email: " + quote_for_message(email) + ".";
  }
  if (values[TextField::first_name].empty() && values[TextField::last_name].empty() &&
      email.empty()) {
    return "Row has none of first_name, last_name, email.";
  }
  return {};
}

}  // namespace

std::string validate_row_into(const HeaderMapping& header,
                              std::span<const std::string_view> fields, ContactValues& out) {
  if (fields.size() != header.columns.size()) {
    return "Expected " + std::to_string(header.columns.size()) + " fields, found " +
           std::to_string(fields.size()) + ".";
  }
  for (const std::string_view field : fields) {
    if (!text::is_valid_utf8(field)) return "Row is not valid UTF-8.";
    // Text in PostgreSQL cannot hold NUL; both stores refuse it the same way.
    if (field.find('\0') != std::string_view::npos) return "Row contains a NUL character.";
  }
  for (std::string& t : out.text) t.clear();
  for (auto& n : out.numbers) n.reset();
  out.meta_data_json.assign("{}");
  // Trimmed values, reused across rows of this thread.
  thread_local std::vector<std::string_view> values;
  values.resize(fields.size());
  for (size_t column = 0; column < fields.size(); ++column) {
    values[column] = text::trim(fields[column]);
    std::string error = convert_value(header, column, values[column], out);
    if (!error.empty()) return error;
  }
  std::string error = check_identity(out);
  if (error.empty()) write_meta_data(header, values, out.meta_data_json);
  return error;
}

RowVerdict validate_row(const HeaderMapping& header, std::span<const std::string_view> fields) {
  RowVerdict verdict;
  verdict.error = validate_row_into(header, fields, verdict.values);
  return verdict;
}

}  // namespace contacts::ingest
