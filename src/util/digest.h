// SHA-256 and lower-case hex, for keys, ETags and version stamps (not for secrets' storage:
// passwords are Argon2id, auth/password.h).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace contacts {

// Each byte as two lower-case hex digits.
std::string to_hex(std::string_view bytes);

// The first `bytes` (at most 32) bytes of SHA-256(material), in hex. Throws std::runtime_error
// when OpenSSL cannot compute it.
std::string sha256_hex(std::string_view material, size_t bytes = 32);

}  // namespace contacts
