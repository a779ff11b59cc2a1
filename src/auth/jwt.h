// HS256 JSON Web Tokens carrying the claims SimpleJWT puts in its tokens ("token_type", "exp",
// "iat", "jti", "user_id") plus "username" and "is_staff". Stateless and thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

namespace contacts::auth {

inline constexpr std::string_view kAccessTokenType = "access";
inline constexpr std::string_view kRefreshTokenType = "refresh";
// Longer tokens are rejected unread.
inline constexpr size_t kMaxTokenBytes = 4096;

struct TokenClaims {
  std::string username;
  int64_t user_id = 0;
  bool is_staff = false;
  std::string type;  // kAccessTokenType or kRefreshTokenType
  int64_t issued_at_s = 0;
  int64_t expires_at_s = 0;
  std::string jti;
  // A digest of the user's password hash when the token was issued ("" in tokens that carry
  // none): a password reset since then makes it differ (auth::password_version).
  std::string password_version;
};

enum class TokenError { malformed, bad_signature, expired, wrong_type, unsupported_alg };

// "malformed", "bad_signature", ...: for logs, never for clients (they get one message).
std::string_view token_error_name(TokenError error);

// The compact token "header.payload.signature" for `claims`, signed with HMAC-SHA256 under
// `key`. Throws std::invalid_argument when `key` is empty.
std::string sign_token(const TokenClaims& claims, std::string_view key);

// The claims of `token` when it is a well-formed HS256 JWT signed under `key`, of type
// `expected_type`, with exp > now_s. Otherwise the first failure, checked in this order:
// malformed (size, segments, base64url, JSON, header typ/crit), unsupported_alg (alg not
// exactly "HS256"), bad_signature, malformed (missing or mistyped claims), expired, wrong_type.
// Never throws for bad tokens; throws std::invalid_argument when `key` is empty.
std::variant<TokenClaims, TokenError> verify_token(std::string_view token, std::string_view key,
                                                   std::string_view expected_type, int64_t now_s);

// A fresh token id: 32 lower-case hex characters from 16 random bytes (like uuid4().hex).
std::string new_token_id();

}  // namespace contacts::auth
