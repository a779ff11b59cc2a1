#include "util/csv_writer.h"

namespace contacts {
namespace {

bool needs_quotes(std::string_view field) {
  if (field.empty()) return false;
  const auto edge = [](char c) { return c == ' ' || c == '\t'; };
  if (edge(field.front()) || edge(field.back())) return true;
  for (const char c : field) {
    if (c == ',' || c == '"' || c == '\r' || c == '\n') return true;
  }
  return false;
}

bool risky_cell(std::string_view field) {
  return !field.empty() && (field.front() == '=' || field.front() == '+' || field.front() == '-' ||
                            field.front() == '@' || field.front() == '\t' || field.front() == '\r');
}

}  // namespace

void append_csv_field(std::string& out, std::string_view field, bool formula_guard) {
  if (formula_guard && risky_cell(field)) {
    const std::string guarded = "'" + std::string(field);
    append_csv_field(out, guarded, false);
    return;
  }
  if (!needs_quotes(field)) {
    out.append(field);
    return;
  }
  out.push_back('"');
  size_t start = 0;
  for (size_t quote = field.find('"'); quote != std::string_view::npos;
       quote = field.find('"', quote + 1)) {
    out.append(field.substr(start, quote + 1 - start));
    out.push_back('"');
    start = quote + 1;
  }
  out.append(field.substr(start));
  out.push_back('"');
}

void append_csv_record(std::string& out, std::span<const std::string_view> fields,
                       bool formula_guard) {
  for (size_t i = 0; i < fields.size(); ++i) {
    if (i > 0) out.push_back(',');
    append_csv_field(out, fields[i], formula_guard);
  }
  out.append("\r\n");
}

}  // namespace contacts
