#include "auth/random_bytes.h"

#include <openssl/rand.h>

#include <climits>
#include <stdexcept>

namespace contacts::auth {

std::string random_bytes(size_t n) {
  if (n > INT_MAX) throw std::invalid_argument("random_bytes: request too large");
  std::string out(n, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1) {
    throw std::runtime_error("no secure random bytes available (OpenSSL RAND_bytes failed)");
  }
  return out;
}

std::string random_hex(size_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  const std::string bytes = random_bytes(n);
  std::string out;
  out.reserve(2 * n);
  for (unsigned char b : bytes) {
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 15]);
  }
  return out;
}

}  // namespace contacts::auth
