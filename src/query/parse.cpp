#include "query/parse.h"

#include <algorithm>
#include <array>
#include <utility>
#include <variant>
#include <vector>

#include "query/cursor.h"
#include "util/error.h"
#include "util/text.h"

namespace contacts {
namespace {

// The ordering fields by name, in the order of the contract's list: id, the payload's fields,
// the two times.
const std::vector<std::pair<std::string_view, SortKey>>& sort_keys() {
  static const std::vector<std::pair<std::string_view, SortKey>> kKeys = [] {
    std::vector<std::pair<std::string_view, SortKey>> keys = {{"id", SortKey::id}};
    for (const PayloadField& field : payload_fields()) {
      if (const TextField* f = std::get_if<TextField>(&field)) {
        keys.emplace_back(info(*f).name, sort_key_of(*f));
      } else {
        const NumberField n = std::get<NumberField>(field);
        keys.emplace_back(info(n).name, sort_key_of(n));
      }
    }
    keys.emplace_back("created_at", SortKey::created_at);
    keys.emplace_back("updated_at", SortKey::updated_at);
    return keys;
  }();
  return kKeys;
}

constexpr std::array<std::pair<std::string_view, FieldEndpoint>, 13> kFieldEndpoints = {{
    {"title", FieldEndpoint::title}, {"company", FieldEndpoint::company},
    {"industry", FieldEndpoint::industry}, {"keywords", FieldEndpoint::keywords},
    {"technologies", FieldEndpoint::technologies},
    {"company_address", FieldEndpoint::company_address},
    {"contact_address", FieldEndpoint::contact_address}, {"city", FieldEndpoint::city},
    {"state", FieldEndpoint::state}, {"country", FieldEndpoint::country},
    {"company_city", FieldEndpoint::company_city}, {"company_state", FieldEndpoint::company_state},
    {"company_country", FieldEndpoint::company_country},
}};

// Splits `search` on whitespace and commas into folded terms.
std::vector<std::string> search_terms(std::string_view s) {
  std::vector<std::string> terms;
  size_t i = 0;
  auto is_sep = [](char c) { return c == ',' || c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; };
  while (i < s.size()) {
    while (i < s.size() && is_sep(s[i])) ++i;
    const size_t start = i;
    while (i < s.size() && !is_sep(s[i])) ++i;
    if (i > start) terms.push_back(text::fold(s.substr(start, i - start)));
  }
  return terms;
}

// Contract section 11: what one request may ask of the text scans.
constexpr size_t kMaxSearchTerms = 32;
constexpr size_t kMaxSearchChars = 256;
constexpr size_t kMaxFilterChars = 1024;

// Unicode characters (code points) in valid UTF-8 `s`.
size_t char_count(std::string_view s) {
  size_t n = 0;
  for (char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

[[noreturn]] void search_too_long() {
  throw Error(ErrorCode::invalid_parameter, "Invalid value for 'search': at most 32 terms of at most 256 characters "
                      "in all.");
}

std::optional<int64_t> signed_bound(const QueryParams& p, const std::string& name) {
  auto v = p.get_uint(name);
  if (!v) return std::nullopt;
  return static_cast<int64_t>(std::min<uint64_t>(*v, INT64_MAX));
}

uint32_t capped(std::optional<uint64_t> v, uint32_t fallback, uint32_t cap) {
  if (!v) return fallback;
  return static_cast<uint32_t>(std::min<uint64_t>(*v, cap));
}

std::vector<OrderTerm> parse_ordering(const std::string* raw, std::string& text_out) {
  std::vector<OrderTerm> terms;
  std::vector<std::string> bad;
  std::vector<std::string> shown;
  if (raw) {
    for (std::string_view part : text::split_trimmed(*raw, ',')) {
      const bool desc = part.front() == '-';
      const std::string_view name = desc ? part.substr(1) : part;
      const auto& keys = sort_keys();
      auto it = std::find_if(keys.begin(), keys.end(),
                             [&](const auto& kv) { return kv.first == name; });
      if (it == keys.end()) {
        bad.emplace_back(name.empty() ? part : name);
        continue;
      }
      terms.push_back({it->second, desc});
      shown.emplace_back(part);
    }
  }
  if (!bad.empty()) {
    std::string list;
    for (const auto& b : bad) list += (list.empty() ? "" : ", ") + b;
    throw Error(ErrorCode::invalid_parameter, "Invalid ordering field(s): " + list + ". Valid fields are: " +
                            valid_ordering_list());
  }
  if (terms.empty()) {
    terms.push_back({SortKey::created_at, true});
    shown = {"-created_at"};
  }
  text_out.clear();
  for (const auto& s : shown) text_out += (text_out.empty() ? "" : ",") + s;
  return terms;
}

}  // namespace

const std::string& valid_ordering_list() {
  static const std::string kList = [] {
    std::string s;
    for (const auto& [name, key] : sort_keys()) s += (s.empty() ? "" : ", ") + std::string(name);
    return s;
  }();
  return kList;
}

bool is_known_parameter(std::string_view name) {
  static const std::vector<std::string> kNames = [] {
    std::vector<std::string> names = {
        "search", "ordering", "cursor", "page_size", "limit", "offset", "include_meta",
        "use_replica", "distinct", "separated", "created_at_after", "created_at_before",
        "updated_at_after", "updated_at_before"};
    for (const TextFieldInfo& f : text_fields()) {
      if (f.contains_filter || f.exact_filter) names.emplace_back(f.name);
    }
    for (const NumberFieldInfo& f : number_fields()) {
      names.push_back(std::string(f.name) + "_min");
      names.push_back(std::string(f.name) + "_max");
    }
    std::sort(names.begin(), names.end());
    return names;
  }();
  return std::binary_search(kNames.begin(), kNames.end(), name);
}

ContactFilter parse_filter(const QueryParams& p) {
  ContactFilter f;
  for (const TextFieldInfo& info : text_fields()) {
    if (!info.contains_filter && !info.exact_filter) continue;
    const std::string* v = p.get(info.name);
    if (!v || v->empty()) continue;
    if (char_count(*v) > kMaxFilterChars) {
      throw Error(ErrorCode::invalid_parameter, "Invalid value for '" + std::string(info.name) +
                              "': at most 1024 characters.");
    }
    f.text.push_back({info.field, text::fold(*v), info.exact_filter});
  }
  for (const NumberFieldInfo& info : number_fields()) {
    const std::string name(info.name);
    auto min = signed_bound(p, name + "_min");
    auto max = signed_bound(p, name + "_max");
    if (min || max) f.numbers.push_back({info.field, min, max});
  }
  f.created_after_us = p.get_datetime("created_at_after");
  f.created_before_us = p.get_datetime("created_at_before");
  f.updated_after_us = p.get_datetime("updated_at_after");
  f.updated_before_us = p.get_datetime("updated_at_before");
  if (const std::string* s = p.get("search")) {
    if (char_count(*s) > kMaxSearchChars) search_too_long();
    f.search_terms = search_terms(*s);
    if (f.search_terms.size() > kMaxSearchTerms) search_too_long();
  }
  return f;
}

ListQuery parse_export_query(const QueryParams& p) {
  ListQuery q;
  q.filter = parse_filter(p);
  q.ordering = parse_ordering(p.get("ordering"), q.ordering_text);
  q.cursor_strategy = q.ordering.size() == 1 && q.ordering.front().key == SortKey::created_at;
  return q;
}

ListQuery parse_list_query(const QueryParams& p) {
  ListQuery q = parse_export_query(p);
  // Every pagination parameter is validated, whichever strategy uses it.
  const auto page_size = p.get_positive("page_size");
  const auto limit = p.get_positive("limit");
  const auto offset = p.get_uint("offset");
  q.include_meta = p.get_bool("include_meta").value_or(false);
  // Contract section 4's rule: a cursor; else an explicit limit or offset; else the ordering.
  const std::string* cursor = p.get("cursor");
  const bool has_cursor = cursor && !cursor->empty();
  const bool created_alone = q.cursor_strategy;
  if (has_cursor) {
    q.cursor_strategy = true;
  } else if (limit || offset) {
    q.cursor_strategy = false;
  }
  if (q.cursor_strategy) {
    if (!created_alone) {  // a cursor walks (created_at, id): the default direction
      q.ordering = {{SortKey::created_at, true}};
      q.ordering_text = "-created_at";
    }
    q.page_size = capped(page_size, kDefaultPageSize, kPageSizeCap);
    if (has_cursor) {
      q.cursor = decode_cursor(*cursor);
      if (!q.cursor) throw Error(ErrorCode::invalid_cursor, "Invalid cursor");
    }
  } else {
    q.page_size = capped(limit, kDefaultPageSize, kPageSizeCap);
    q.offset = offset.value_or(0);
  }
  return q;
}

FieldQuery parse_field_query(FieldEndpoint field, const QueryParams& p) {
  FieldQuery q;
  q.field = field;
  if (const std::string* s = p.get("search")) {
    if (char_count(*s) > kMaxSearchChars) search_too_long();
    q.search_folded = text::fold(*s);
  }
  q.distinct = p.get_bool("distinct").value_or(false);
  q.separated = p.get_bool("separated").value_or(false);
  q.limit = capped(p.get_positive("limit"), kDefaultPageSize, kPageSizeCap);
  q.offset = p.get_uint("offset").value_or(0);
  return q;
}

AnalyticsQuery parse_analytics_query(const QueryParams& p) {
  AnalyticsQuery q;
  q.limit = capped(p.get_positive("limit"), 10, 50);
  return q;
}

std::optional<FieldEndpoint> field_endpoint_named(std::string_view name) {
  for (const auto& [n, f] : kFieldEndpoints) {
    if (n == name) return f;
  }
  return std::nullopt;
}

std::string_view field_endpoint_name(FieldEndpoint f) {
  for (const auto& [n, e] : kFieldEndpoints) {
    if (e == f) return n;
  }
  return "";
}

std::vector<std::string_view> field_endpoint_names() {
  std::vector<std::string_view> names;
  for (const auto& [n, e] : kFieldEndpoints) names.push_back(n);
  return names;
}

}  // namespace contacts
