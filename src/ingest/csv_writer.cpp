#include "ingest/csv_writer.h"

namespace contacts::ingest {
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

}  // namespace

void append_csv_field(std::string& out, std::string_view field) {
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

void append_csv_record(std::string& out, std::span<const std::string_view> fields) {
  for (size_t i = 0; i < fields.size(); ++i) {
    if (i > 0) out.push_back(',');
    append_csv_field(out, fields[i]);
  }
  out.append("\r\n");
}

}  // namespace contacts::ingest
