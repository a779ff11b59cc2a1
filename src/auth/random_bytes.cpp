#include "auth/random_bytes.h"

#include <openssl/rand.h>

#include <climits>
#include <stdexcept>

#include "util/digest.h"

namespace contacts::auth {

std::string random_bytes(size_t n) {
  if (n > INT_MAX) throw std::invalid_argument("random_bytes: request too large");
  std::string out(n, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1) {
    throw std::runtime_error("no secure random bytes available (OpenSSL RAND_bytes failed)");
  }
  return out;
}

std::string random_hex(size_t n) { return to_hex(random_bytes(n)); }

}  // namespace contacts::auth
