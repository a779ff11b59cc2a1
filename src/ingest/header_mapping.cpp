#include "ingest/header_mapping.h"

#include <algorithm>
#include <unordered_map>

#include "model/contact.h"
#include "util/text.h"

namespace contacts::ingest {
namespace {

using FieldLookup = std::unordered_map<std::string, ColumnTarget>;

// Normalised API names and Apollo labels of every field.
const FieldLookup& field_lookup() {
  static const FieldLookup kLookup = [] {
    FieldLookup lookup;
    for (size_t i = 0; i < text_fields().size(); ++i) {
      const ColumnTarget target{ColumnKind::text, i};
      lookup.emplace(normalise_header_name(text_fields()[i].name), target);
      lookup.emplace(normalise_header_name(text_fields()[i].apollo_label), target);
    }
    for (size_t i = 0; i < number_fields().size(); ++i) {
      const ColumnTarget target{ColumnKind::number, i};
      lookup.emplace(normalise_header_name(number_fields()[i].name), target);
      lookup.emplace(normalise_header_name(number_fields()[i].apollo_label), target);
    }
    return lookup;
  }();
  return kLookup;
}

bool same_field(const ColumnTarget& a, const ColumnTarget& b) {
  return a.kind == b.kind && a.index == b.index;
}

}  // namespace

bool HeaderMapping::maps_any_field() const {
  return std::any_of(columns.begin(), columns.end(),
                     [](const ColumnTarget& c) { return c.kind != ColumnKind::meta; });
}

std::string normalise_header_name(std::string_view name) {
  std::string out;
  for (const char c : text::ascii_lower(name)) {
    if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) out.push_back(c);
  }
  return out;
}

HeaderMapping map_header(std::span<const std::string_view> header) {
  HeaderMapping mapping;
  mapping.columns.reserve(header.size());
  mapping.names.reserve(header.size());
  const FieldLookup& lookup = field_lookup();
  for (const std::string_view raw : header) {
    ColumnTarget target;
    const auto found = lookup.find(normalise_header_name(raw));
    if (found != lookup.end()) {
      const bool taken =
          std::any_of(mapping.columns.begin(), mapping.columns.end(),
                      [&](const ColumnTarget& c) { return same_field(c, found->second); });
      if (!taken) target = found->second;
    }
    mapping.columns.push_back(target);
    mapping.names.emplace_back(text::trim(raw));
  }
  return mapping;
}

}  // namespace contacts::ingest
