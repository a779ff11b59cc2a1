// GET /api/contacts/export/: every contact matching the list endpoint's filters, search and
// ordering, as one CSV streamed in constant memory.
#pragma once

#include <string>

#include "api/request_context.h"
#include "http/server.h"
#include "model/contact.h"
#include "query/reader.h"

namespace contacts::api {

// The CSV's header row (CRLF-terminated): the Apollo export label of every contact field, in
// the order Apollo exports them (that of the API payload), then "id", "created_at",
// "updated_at". `contacts-api import` maps each label back to its field; the last three are
// no contact field, so an import keeps them in meta_data (contract section 8).
std::string export_csv_header();

// Appends `c` as one record of that CSV: RFC 4180 (util/csv_writer.h), numbers in decimal
// ("" for null), times as in the API (RFC 3339, UTC), CRLF at the end.
// With `formula_guard` (CONTACTS_CSV_FORMULA_GUARD), text cells a spreadsheet would run as a
// formula get a leading apostrophe (util/csv_writer.h).
void append_export_record(std::string& out, const Contact& c, bool formula_guard = false);

// The 200 answer whose body streams the CSV of every contact of `reader` matching the
// request's filters, search and ordering (pagination parameters do not apply), read from one
// consistent state of the data (ContactStream). Throws ApiError (400, as the list endpoint)
// before anything is sent, and what reader.stream() throws (StoreUnavailable: 503). A failure
// once the body has started is logged and cuts the body short (see http::BodySource).
http::Response export_contacts(const RequestContext& ctx, const ContactReader& reader,
                               bool formula_guard = false);

}  // namespace contacts::api
