// The Authorization header's Bearer credentials and the contract's authentication messages.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace contacts::auth {

// 401 without usable credentials; send with `WWW-Authenticate: Bearer`.
inline constexpr std::string_view kNoCredentials = "Authentication credentials were not provided.";
// 401 for a malformed, forged, expired or wrong-type token.
inline constexpr std::string_view kInvalidToken = "Given token not valid for any token type";
// 403 for a valid user without the rights the route needs (non-staff on an admin route).
inline constexpr std::string_view kNoPermission =
    "You do not have permission to perform this action.";
// 401 from the token endpoint for an unknown user or a wrong password.
inline constexpr std::string_view kBadLogin = "No active account found with the given credentials";
// The WWW-Authenticate challenge sent with every 401.
inline constexpr std::string_view kBearerChallenge = "Bearer";

// nullopt when there are no Bearer credentials: the header is absent (nullptr), blank or uses
// another scheme (as SimpleJWT, "Basic ..." counts as no credentials). Otherwise the text after
// the case-insensitive "Bearer" scheme, trimmed; it may be empty or malformed, which token
// verification then rejects. The view points into *authorization_header.
std::optional<std::string_view> bearer_token(const std::string* authorization_header);

}  // namespace contacts::auth
