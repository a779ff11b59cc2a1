// Query strings into typed queries (query/params.h, query/parse.h): any bytes give a query
// or an Error, never a crash, a hang or undefined behaviour.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "query/params.h"
#include "query/parse.h"
#include "util/error.h"

using namespace contacts;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view raw(reinterpret_cast<const char*>(data), size);
  QueryParams params;
  try {
    params = QueryParams::parse(raw);
  } catch (const Error&) {
    return 0;
  }
  auto attempt = [](auto&& fn) {
    try {
      fn();
    } catch (const Error&) {
    }
  };
  attempt([&] { (void)parse_list_query(params); });
  attempt([&] { (void)parse_export_query(params); });
  attempt([&] { (void)parse_filter(params); });
  attempt([&] { (void)parse_analytics_query(params); });
  for (const std::string_view name : field_endpoint_names()) {
    attempt([&] { (void)parse_field_query(*field_endpoint_named(name), params); });
  }
  (void)params.canonical();
  (void)params.encode_with({{"cursor", std::string("c")}, {"offset", std::nullopt}});
  return 0;
}
