// Token endpoints and the checks that protect routes (contract section 7).
#pragma once

#include <optional>
#include <semaphore>
#include <string>

#include "api/login_throttle.h"
#include "auth/jwt.h"
#include "config/settings.h"
#include "http/server.h"
#include "store/store.h"

namespace contacts::api {

// Thread-safe.
class Authenticator {
 public:
  // `signing_key` must not be empty.
  Authenticator(const Settings& settings, const Store& store, std::string signing_key);

  // POST /api/auth/token/: {"username","password"} -> {"access","refresh"}. Throws ApiError
  // (429 with a retry time once `client_address` or the username failed too often).
  std::string obtain_tokens(const std::string& body, const std::string& client_address);
  // POST /api/auth/token/refresh/: {"refresh"} -> {"access"}. Throws ApiError.
  std::string refresh_access(const std::string& body) const;

  // The claims of the request's valid access token; throws ApiError 401 otherwise.
  auth::TokenClaims require_user(const http::Request& request) const;
  // As require_user, and checks the user against the store (contract section 11): 401 when
  // the user no longer exists, is inactive or changed password since the token was issued,
  // 403 when the user is not an admin (any more).
  auth::TokenClaims require_admin(const http::Request& request) const;
  // As require_user, and 403 unless the token says admin; no store read, so it can run on a
  // server thread (the head of an upload). The request's answer still needs require_admin.
  auth::TokenClaims require_admin_token(const http::Request& request) const;

 private:
  std::string sign(const UserRecord& user, std::string_view type, int64_t lifetime_s) const;
  // The token's user as the store has it, when it still exists, is active and has the
  // password the token was issued under.
  std::optional<UserRecord> current_user(const auth::TokenClaims& claims) const;
  const Settings& settings_;
  const Store& store_;
  std::string key_;
  // Each Argon2 check holds 64 MiB: at most two run at once.
  std::counting_semaphore<2> password_checks_{2};
  LoginThrottle throttle_;
};

}  // namespace contacts::api
