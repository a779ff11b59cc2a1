#include "auth/password.h"

#include <argon2.h>

#include <cstdint>
#include <cstring>
#include <stdexcept>

#include "auth/random_bytes.h"
#include "util/digest.h"

namespace contacts::auth {
namespace {

constexpr uint32_t kTimeCost = 3;
constexpr uint32_t kMemoryKiB = 65536;
constexpr uint32_t kParallelism = 1;
constexpr size_t kSaltBytes = 16;
constexpr size_t kHashBytes = 32;
constexpr std::string_view kEncodedPrefix = "$argon2id$v=19$m=65536,t=3,p=1$";

// The hash of a random password nobody knows, made once with the parameters above. Verifying
// against it costs exactly what verifying a real user's hash costs.
constexpr char kUnknownUserHash[] =
    "$argon2id$v=19$m=65536,t=3,p=1$EggEoP+Bi7QiHwJyV3XNSA$"
    "FM4TqlgPeWNDHxhf15t8gJ7YG/kXxw2oF8JWo2Jg8Bc";
static_assert(std::string_view(kUnknownUserHash).starts_with(kEncodedPrefix),
              "the unknown-user hash must use the same cost parameters as new hashes");

bool argon2id_matches(std::string_view password, const char* encoded) {
  if (password.size() > ARGON2_MAX_PWD_LENGTH) return false;
  return argon2id_verify(encoded, password.data(), password.size()) == ARGON2_OK;
}

}  // namespace

std::string hash_password(std::string_view password) {
  if (password.size() > ARGON2_MAX_PWD_LENGTH) throw std::invalid_argument("password too long");
  const std::string salt = random_bytes(kSaltBytes);
  std::string encoded(
      argon2_encodedlen(kTimeCost, kMemoryKiB, kParallelism, kSaltBytes, kHashBytes, Argon2_id),
      '\0');
  const int rc =
      argon2id_hash_encoded(kTimeCost, kMemoryKiB, kParallelism, password.data(), password.size(),
                            salt.data(), salt.size(), kHashBytes, encoded.data(), encoded.size());
  if (rc != ARGON2_OK) {
    throw std::runtime_error(std::string("password hashing failed: ") + argon2_error_message(rc));
  }
  encoded.resize(std::strlen(encoded.c_str()));
  return encoded;
}

bool verify_password(std::string_view password, const std::string& encoded) {
  if (!encoded.starts_with("$argon2id$")) return false;
  return argon2id_matches(password, encoded.c_str());
}

void burn_password_check(std::string_view password) {
  argon2id_matches(password, kUnknownUserHash);
}

std::string password_version(const std::string& encoded) { return sha256_hex(encoded, 8); }

}  // namespace contacts::auth
