#include "auth/jwt.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <array>
#include <climits>
#include <optional>
#include <stdexcept>

#include "auth/random_bytes.h"
#include "util/base64url.h"
#include "util/json_object.h"
#include "util/json_writer.h"

namespace contacts::auth {
namespace {

using Mac = std::array<unsigned char, 32>;

constexpr std::string_view kHeaderJson = R"({"alg":"HS256","typ":"JWT"})";

void require_key(std::string_view key) {
  if (key.empty()) throw std::invalid_argument("JWT signing key is empty");
  if (key.size() > INT_MAX) throw std::invalid_argument("JWT signing key is too long");
}

Mac hmac_sha256(std::string_view key, std::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> out{};
  unsigned int len = 0;
  const unsigned char* ok =
      HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char*>(data.data()), data.size(), out.data(), &len);
  if (ok == nullptr || len != Mac{}.size()) throw std::runtime_error("HMAC-SHA256 failed");
  Mac mac;
  std::copy_n(out.begin(), mac.size(), mac.begin());
  return mac;
}

std::string payload_json(const TokenClaims& c) {
  std::string out;
  JsonWriter w(out);
  w.begin_object()
      .field("token_type", std::string_view(c.type))
      .field("exp", c.expires_at_s)
      .field("iat", c.issued_at_s)
      .field("jti", std::string_view(c.jti))
      .field("user_id", c.user_id)
      .field("username", std::string_view(c.username))
      .field("is_staff", c.is_staff);
  if (!c.password_version.empty()) w.field("pwv", std::string_view(c.password_version));
  w.end_object();
  return out;
}

struct DecodedToken {
  std::string_view signing_input;  // "header.payload", the bytes the signature covers
  std::string header;
  std::string payload;
  std::string signature;
};

// Splits on exactly two dots and decodes each segment; nullopt when any part is not base64url.
std::optional<DecodedToken> decode_segments(std::string_view token) {
  const size_t first = token.find('.');
  if (first == std::string_view::npos) return std::nullopt;
  const size_t second = token.find('.', first + 1);
  if (second == std::string_view::npos || token.find('.', second + 1) != std::string_view::npos) {
    return std::nullopt;
  }
  auto header = base64url_decode(token.substr(0, first));
  auto payload = base64url_decode(token.substr(first + 1, second - first - 1));
  auto signature = base64url_decode(token.substr(second + 1));
  if (!header || !payload || !signature) return std::nullopt;
  return DecodedToken{token.substr(0, second), std::move(*header), std::move(*payload),
                      std::move(*signature)};
}

// Only {"alg": "HS256"} with an optional "typ": "JWT" and no critical extensions is accepted.
std::optional<TokenError> check_header(const JsonObject& header) {
  if (header.string("alg") != "HS256") return TokenError::unsupported_alg;
  if (header.has("typ") && header.string("typ") != "JWT") return TokenError::malformed;
  if (header.has("crit")) return TokenError::malformed;
  return std::nullopt;
}

bool signature_matches(std::string_view key, const DecodedToken& t) {
  const Mac expected = hmac_sha256(key, t.signing_input);
  return t.signature.size() == expected.size() &&
         CRYPTO_memcmp(expected.data(), t.signature.data(), expected.size()) == 0;
}

std::optional<TokenClaims> read_claims(const JsonObject& payload) {
  auto type = payload.string("token_type");
  const auto exp = payload.integer("exp");
  const auto iat = payload.integer("iat");
  auto jti = payload.string("jti");
  const auto user_id = payload.integer("user_id");
  auto username = payload.string("username");
  const auto is_staff = payload.boolean("is_staff");
  if (!type || !exp || !iat || !jti || jti->empty() || !user_id || !username || !is_staff) {
    return std::nullopt;
  }
  return TokenClaims{.username = std::move(*username),
                     .user_id = *user_id,
                     .is_staff = *is_staff,
                     .type = std::move(*type),
                     .issued_at_s = *iat,
                     .expires_at_s = *exp,
                     .jti = std::move(*jti),
                     .password_version = payload.string("pwv").value_or("")};
}

}  // namespace

std::string_view token_error_name(TokenError error) {
  switch (error) {
    case TokenError::malformed:
      return "malformed";
    case TokenError::bad_signature:
      return "bad_signature";
    case TokenError::expired:
      return "expired";
    case TokenError::wrong_type:
      return "wrong_type";
    case TokenError::unsupported_alg:
      return "unsupported_alg";
  }
  return "unknown";
}

std::string sign_token(const TokenClaims& claims, std::string_view key) {
  require_key(key);
  std::string token = base64url_encode(kHeaderJson);
  token += '.';
  token += base64url_encode(payload_json(claims));
  const Mac mac = hmac_sha256(key, token);
  token += '.';
  token +=
      base64url_encode(std::string_view(reinterpret_cast<const char*>(mac.data()), mac.size()));
  return token;
}

std::variant<TokenClaims, TokenError> verify_token(std::string_view token, std::string_view key,
                                                   std::string_view expected_type, int64_t now_s) {
  require_key(key);
  if (token.size() > kMaxTokenBytes) return TokenError::malformed;
  const auto decoded = decode_segments(token);
  if (!decoded) return TokenError::malformed;
  const auto header = JsonObject::parse(decoded->header);
  if (!header) return TokenError::malformed;
  if (const auto bad_header = check_header(*header)) return *bad_header;
  if (!signature_matches(key, *decoded)) return TokenError::bad_signature;
  const auto payload = JsonObject::parse(decoded->payload);
  if (!payload) return TokenError::malformed;
  auto claims = read_claims(*payload);
  if (!claims) return TokenError::malformed;
  if (claims->expires_at_s <= now_s) return TokenError::expired;
  if (claims->type != expected_type) return TokenError::wrong_type;
  return std::move(*claims);
}

std::string new_token_id() { return random_hex(16); }

}  // namespace contacts::auth
