// SQL text of PostgresReader's queries. Identifiers come only from the field table and fixed
// whitelists; every value from a query is a parameter.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "query/contact_query.h"
#include "store/postgres/pg_handle.h"

namespace contacts::pg {

// A statement under construction. Parameters are numbered in the order they are bound.
struct Statement {
  std::string sql;
  Params params;
  // Adds a text parameter; returns its placeholder ("$3").
  std::string bind(std::string_view text);
  // Adds an integer parameter; returns its placeholder with a cast ("$3::bigint").
  std::string bind(int64_t value);
};

// LIKE pattern matching any text that contains `value` ('\', '%' and '_' escaped).
std::string contains_pattern(std::string_view value);

// Condition selecting the contacts matching `filter` ("TRUE" for an empty filter), with the
// index's semantics: folded substring or equality, inclusive ranges that nulls never match,
// every search term a substring of one searched field. A value holding NUL matches nothing.
std::string filter_condition(const ContactFilter& filter, Statement& st);

// ORDER BY list of a limit-offset page: text by code point (COLLATE "C"), empty text and null
// numbers last in both directions, ties broken by id in the first term's direction.
std::string order_by(const std::vector<OrderTerm>& ordering);

// "(SELECT id, value, folded, pos FROM ...) s": one row per listed value of a field endpoint,
// `folded` being text::fold(value) and `pos` the position in the contact (keywords separated:
// split on ',' and trimmed, else 0). Empty values are still present.
std::string field_source(const FieldQuery& q);

}  // namespace contacts::pg
