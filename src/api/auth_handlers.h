// Token endpoints and the checks that protect routes (contract section 7).
#pragma once

#include <semaphore>
#include <string>

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

  // POST /api/auth/token/: {"username","password"} -> {"access","refresh"}. Throws ApiError.
  std::string obtain_tokens(const std::string& body);
  // POST /api/auth/token/refresh/: {"refresh"} -> {"access"}. Throws ApiError.
  std::string refresh_access(const std::string& body) const;

  // The claims of the request's valid access token; throws ApiError 401 otherwise.
  auth::TokenClaims require_user(const http::Request& request) const;
  // As require_user, and throws ApiError 403 when the user is not an admin.
  auth::TokenClaims require_admin(const http::Request& request) const;

 private:
  std::string sign(const UserRecord& user, std::string_view type, int64_t lifetime_s) const;
  const Settings& settings_;
  const Store& store_;
  std::string key_;
  // Each Argon2 check holds 64 MiB: at most two run at once.
  std::counting_semaphore<2> password_checks_{2};
};

}  // namespace contacts::api
