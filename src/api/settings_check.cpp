#include "api/settings_check.h"

#include <stdexcept>
#include <string>

#include "cache/redis_client.h"
#include "http/client.h"

namespace contacts::api {
namespace {

// Runs `check(value)` on a set variable; its std::invalid_argument is reported under `name`.
template <class Check>
void check_value(const char* name, const std::string& value, Check check) {
  if (value.empty()) return;
  try {
    check(value);
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(std::string(name) + ": " + e.what());
  }
}

}  // namespace

void check_settings(const Settings& s) {
  check_value("CONTACTS_REDIS_URL", s.redis_url, [](const std::string& v) { redis::parse_url(v); });
  check_value("CONTACTS_LIVY_URL", s.livy_url, [](const std::string& v) { http::parse_url(v); });
  check_value("CONTACTS_THRIFT_HOST", s.thrift_host,
              [](const std::string& v) { http::parse_host_port(v); });
}

}  // namespace contacts::api
