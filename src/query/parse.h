// Builds typed queries from request parameters. Every validation of the contract happens
// here; each function throws Error (invalid_parameter, or invalid_cursor) on invalid input.
#pragma once

#include <optional>
#include <string_view>
#include <vector>

#include "query/contact_query.h"
#include "query/params.h"

namespace contacts {

ContactFilter parse_filter(const QueryParams& params);
ListQuery parse_list_query(const QueryParams& params);
// The filters, search and ordering of a list query, validated as parse_list_query does;
// pagination parameters (page_size, cursor, limit, offset) and include_meta are ignored.
ListQuery parse_export_query(const QueryParams& params);
FieldQuery parse_field_query(FieldEndpoint field, const QueryParams& params);
AnalyticsQuery parse_analytics_query(const QueryParams& params);

// The endpoint of a field route segment ("title", "contact_address", ...), or nullopt.
std::optional<FieldEndpoint> field_endpoint_named(std::string_view name);
std::string_view field_endpoint_name(FieldEndpoint f);
// The names of every field endpoint, in the order of FieldEndpoint.
std::vector<std::string_view> field_endpoint_names();

// "created_at, updated_at, ..." as listed in 400 messages.
const std::string& valid_ordering_list();

// True for a parameter some read endpoint reads (filters, search, ordering, pagination,
// include_meta, use_replica, distinct, separated). Others never change an answer (contract
// section 11) and stay out of response-cache keys.
bool is_known_parameter(std::string_view name);

}  // namespace contacts
