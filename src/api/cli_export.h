// `contacts-api export`: the CSV of GET /api/contacts/export/ written to a file, and the Hive
// table over such files (the data lake the analytics engines read).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "config/settings.h"
#include "query/reader.h"

namespace contacts::api {

// Writes the CSV of every contact of `reader` matching `filters` (the list endpoint's
// parameters as NAME=VALUE pairs: filters, search, ordering) to `path`, streamed in batches,
// byte for byte what the HTTP export answers for the same parameters. With `progress`, a
// progress bar on stderr. Returns the number of records. Throws ApiError for invalid
// parameters (before the file is created) and std::runtime_error when the file cannot be
// written.
uint64_t export_to_file(const ContactReader& reader,
                        const std::vector<std::pair<std::string, std::string>>& filters,
                        const std::string& path, bool formula_guard, bool progress);

// The Hive statement creating CONTACTS_HIVE_DATABASE.CONTACTS_HIVE_TABLE over directory
// `location` holding such CSV files: one STRING column per CSV column, named as the API
// names the field, in the CSV's order; OpenCSVSerde (quoted fields, doubled quotes); the
// header line skipped.
std::string hive_ddl(const Settings& settings, const std::string& location);

}  // namespace contacts::api
