#include "http/request_id.h"

#include <cstdio>
#include <random>

namespace contacts::http {

bool valid_request_id(std::string_view id) {
  if (id.empty() || id.size() > 200) return false;
  for (unsigned char c : id) {
    if (c < 0x20 || c > 0x7E) return false;
  }
  return true;
}

std::string new_request_id() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  char buf[33];
  std::snprintf(buf, sizeof buf, "%016llx%016llx", static_cast<unsigned long long>(rng()),
                static_cast<unsigned long long>(rng()));
  return buf;
}

std::string request_id_for(const std::string* given) {
  return given && valid_request_id(*given) ? *given : new_request_id();
}

}  // namespace contacts::http
