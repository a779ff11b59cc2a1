// Password storage: salted Argon2id hashes (t=3, m=64 MiB, p=1, 32-byte hash) in the standard
// encoded form "$argon2id$v=19$m=65536,t=3,p=1$<salt>$<hash>". Each call costs ~0.15 s of CPU
// and 64 MiB of memory while it runs; all functions are thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace contacts::auth {

// A new encoded hash of `password` with a fresh 16-byte random salt. Throws std::runtime_error
// (never mentioning the password) when randomness or memory is unavailable.
std::string hash_password(std::string_view password);

// True when `password` matches `encoded`; false on a mismatch or when `encoded` is not a
// well-formed Argon2id hash. Never throws for bad input.
bool verify_password(std::string_view password, const std::string& encoded);

// Does the work of one verify_password against a fixed hash and discards the result. Call it
// when the user does not exist, so a failed login takes the same time either way and response
// times do not reveal which usernames exist.
void burn_password_check(std::string_view password);

// 16 hexadecimal digits of SHA-256 over an encoded hash: what tokens carry to notice a
// password reset (a new hash has a new salt, so it always differs). Reveals nothing usable.
std::string password_version(const std::string& encoded);

}  // namespace contacts::auth
