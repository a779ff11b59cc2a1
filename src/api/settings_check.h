// The settings' values checked by the components that will use them: config/ parses values
// only (numbers, names, which combinations make sense); the syntax of a URL or an address is
// the business of the client that connects to it. Called for every command at start.
#pragma once

#include "config/settings.h"

namespace contacts::api {

// Throws std::invalid_argument naming the variable whose value a component refuses:
// CONTACTS_REDIS_URL (redis::parse_url), CONTACTS_LIVY_URL (http::parse_url),
// CONTACTS_THRIFT_HOST (http::parse_host_port).
void check_settings(const Settings& settings);

}  // namespace contacts::api
