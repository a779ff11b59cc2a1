#include "query/parse.h"

#include <algorithm>
#include <array>
#include <utility>

#include "query/cursor.h"
#include "util/error.h"
#include "util/text.h"

namespace contacts {
namespace {

constexpr std::array<std::pair<std::string_view, SortKey>, 21> kSortKeys = {{
    {"created_at", SortKey::created_at}, {"updated_at", SortKey::updated_at},
    {"employees", SortKey::employees}, {"annual_revenue", SortKey::annual_revenue},
    {"total_funding", SortKey::total_funding},
    {"latest_funding_amount", SortKey::latest_funding_amount},
    {"first_name", SortKey::first_name}, {"last_name", SortKey::last_name},
    {"title", SortKey::title}, {"company", SortKey::company}, {"email", SortKey::email},
    {"city", SortKey::city}, {"state", SortKey::state}, {"country", SortKey::country},
    {"company_address", SortKey::company_address}, {"company_city", SortKey::company_city},
    {"company_state", SortKey::company_state}, {"company_country", SortKey::company_country},
    {"seniority", SortKey::seniority}, {"industry", SortKey::industry}, {"id", SortKey::id},
}};

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
      auto it = std::find_if(kSortKeys.begin(), kSortKeys.end(),
                             [&](const auto& kv) { return kv.first == name; });
      if (it == kSortKeys.end()) {
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
    throw ApiError(400, "Invalid ordering field(s): " + list + ". Valid fields are: " +
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
    for (const auto& [name, key] : kSortKeys) s += (s.empty() ? "" : ", ") + std::string(name);
    return s;
  }();
  return kList;
}

ContactFilter parse_filter(const QueryParams& p) {
  ContactFilter f;
  for (const TextFieldInfo& info : text_fields()) {
    if (!info.contains_filter && !info.exact_filter) continue;
    const std::string* v = p.get(info.name);
    if (!v || v->empty()) continue;
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
  if (const std::string* s = p.get("search")) f.search_terms = search_terms(*s);
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
  if (q.cursor_strategy) {
    q.page_size = capped(page_size, kDefaultPageSize, kPageSizeCap);
    if (const std::string* c = p.get("cursor"); c && !c->empty()) {
      q.cursor = decode_cursor(*c);
      if (!q.cursor) throw ApiError(404, "Invalid cursor");
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
  if (const std::string* s = p.get("search")) q.search_folded = text::fold(*s);
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
