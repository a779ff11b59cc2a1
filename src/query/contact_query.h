// Typed, validated queries. A query that exists is valid: every check happens while parsing
// (query/parse.h); stores and the read index only execute.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "model/contact.h"

namespace contacts {

// A text filter: case-insensitive substring (contains) or equality (exact). `folded` is the
// value after Unicode case folding (text::fold) and is never empty.
struct TextFilter {
  TextField field;
  std::string folded;
  bool exact = false;
};

// Inclusive range on an integer field; a null value never matches.
struct NumberRange {
  NumberField field;
  std::optional<int64_t> min;
  std::optional<int64_t> max;
};

struct ContactFilter {
  std::vector<TextFilter> text;
  std::vector<NumberRange> numbers;
  std::optional<int64_t> created_after_us, created_before_us;  // inclusive
  std::optional<int64_t> updated_after_us, updated_before_us;  // inclusive
  // Folded search terms: every term must be a substring of at least one searched field.
  std::vector<std::string> search_terms;

  bool empty() const {
    return text.empty() && numbers.empty() && !created_after_us && !created_before_us &&
           !updated_after_us && !updated_before_us && search_terms.empty();
  }
};

// Sortable keys of the list endpoint (contract section 4): every text field (key k is
// TextField k: sort_key_of below), every number field, the two times and id.
enum class SortKey : uint8_t {
  employees = kTextFieldCount, annual_revenue, total_funding, latest_funding_amount,
  created_at, updated_at, id,
};
inline constexpr size_t kSortKeyCount = static_cast<size_t>(SortKey::id) + 1;
static_assert(static_cast<size_t>(SortKey::created_at) == kTextFieldCount + kNumberFieldCount);

// What a sort key compares: a text field (Unicode collation, util/collation.h), a number
// field, or a column of the record itself.
struct SortColumn {
  enum class Kind : uint8_t { text, number, created_at, updated_at, id };
  Kind kind;
  TextField text = TextField::first_name;       // Kind::text
  NumberField number = NumberField::employees;  // Kind::number
};

constexpr SortColumn sort_column(SortKey key) {
  using K = SortColumn::Kind;
  const auto k = static_cast<size_t>(key);
  if (k < kTextFieldCount) return {K::text, static_cast<TextField>(k)};
  if (k < kTextFieldCount + kNumberFieldCount) {
    return {K::number, TextField::first_name, static_cast<NumberField>(k - kTextFieldCount)};
  }
  switch (key) {
    case SortKey::created_at: return {K::created_at};
    case SortKey::updated_at: return {K::updated_at};
    default: return {K::id};
  }
}

constexpr SortKey sort_key_of(TextField f) { return static_cast<SortKey>(f); }
constexpr SortKey sort_key_of(NumberField f) {
  return static_cast<SortKey>(kTextFieldCount + static_cast<size_t>(f));
}

struct OrderTerm {
  SortKey key;
  bool descending = false;
};

// A position in the (created_at, id) order; the page starts just past it in walk direction.
struct CursorToken {
  int64_t created_at_us = 0;
  int64_t id = 0;
  bool backwards = false;  // a `previous` link: the page ends just before this position
};

inline constexpr uint32_t kPageSizeCap = 100;
inline constexpr uint32_t kDefaultPageSize = 25;

struct ListQuery {
  ContactFilter filter;
  std::vector<OrderTerm> ordering;   // never empty; ties broken by id in the first direction
  std::string ordering_text;         // effective ordering as shown in meta, e.g. "-created_at"
  bool cursor_strategy = true;       // contract section 4's rule chose cursor pagination
  std::optional<CursorToken> cursor;
  uint32_t page_size = kDefaultPageSize;  // page_size (cursor) or limit (limit-offset)
  uint64_t offset = 0;
  bool include_meta = false;
};

// The field endpoints (contract sections 6 and 10).
enum class FieldEndpoint : uint8_t {
  title, company, industry, keywords, technologies, company_address, contact_address,
  city, state, country, company_city, company_state, company_country,
};

// The stored field a field endpoint lists, or nullopt for the two derived addresses
// (company_address and contact_address: non-empty parts joined with ", ", contract section 6).
constexpr std::optional<TextField> endpoint_field(FieldEndpoint f) {
  switch (f) {
    case FieldEndpoint::title: return TextField::title;
    case FieldEndpoint::company: return TextField::company;
    case FieldEndpoint::industry: return TextField::industry;
    case FieldEndpoint::keywords: return TextField::keywords;
    case FieldEndpoint::technologies: return TextField::technologies;
    case FieldEndpoint::city: return TextField::city;
    case FieldEndpoint::state: return TextField::state;
    case FieldEndpoint::country: return TextField::country;
    case FieldEndpoint::company_city: return TextField::company_city;
    case FieldEndpoint::company_state: return TextField::company_state;
    case FieldEndpoint::company_country: return TextField::company_country;
    case FieldEndpoint::company_address:
    case FieldEndpoint::contact_address: break;
  }
  return std::nullopt;
}

struct FieldQuery {
  FieldEndpoint field;
  std::string search_folded;  // "" = no search
  bool distinct = false;
  bool separated = false;  // only meaningful for keywords
  uint32_t limit = kDefaultPageSize;
  uint64_t offset = 0;
};

struct AnalyticsQuery {
  uint32_t limit = 10;
};

}  // namespace contacts
