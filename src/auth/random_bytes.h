// Cryptographically secure random bytes (OpenSSL RAND_bytes) for salts, keys and token ids.
#pragma once

#include <cstddef>
#include <string>

namespace contacts::auth {

// `n` random bytes. Throws std::runtime_error when the system cannot supply them. Thread-safe.
std::string random_bytes(size_t n);

// `n` random bytes as 2n lower-case hex characters. Same errors as random_bytes.
std::string random_hex(size_t n);

}  // namespace contacts::auth
