// JWT verification (auth/jwt.h): any bytes are rejected with a reason or accepted only when
// signed under the key; a token we sign verifies back to its claims.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <variant>

#include "auth/jwt.h"
#include "util/text.h"

using namespace contacts;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  constexpr std::string_view kKey = "fuzzing-key-0123456789";
  for (const std::string_view type : {auth::kAccessTokenType, auth::kRefreshTokenType}) {
    (void)auth::verify_token(text, kKey, type, 1'800'000'000);
  }
  // The fuzzed bytes as claims (text in tokens is UTF-8): signing and verifying gives them
  // back.
  if (!text::is_valid_utf8(text.substr(0, 64)) || !text::is_valid_utf8(text.substr(text.size() / 2, 16))) {
    return 0;
  }
  auth::TokenClaims claims;
  claims.username = std::string(text.substr(0, 64));
  claims.user_id = static_cast<int64_t>(size);
  claims.type = std::string(auth::kAccessTokenType);
  claims.issued_at_s = 1'700'000'000;
  claims.expires_at_s = 1'900'000'000;
  claims.jti = "0123456789abcdef";
  claims.password_version = std::string(text.substr(text.size() / 2, 16));
  const auto verified =
      auth::verify_token(auth::sign_token(claims, kKey), kKey, auth::kAccessTokenType, 1'800'000'000);
  const auto* back = std::get_if<auth::TokenClaims>(&verified);
  if (!back || back->username != claims.username || back->password_version != claims.password_version) {
    std::abort();
  }
  return 0;
}
