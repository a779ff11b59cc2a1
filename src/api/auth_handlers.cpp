#include "api/auth_handlers.h"

#include "api/api_error.h"
#include "auth/bearer.h"
#include "auth/password.h"
#include "util/json_object.h"
#include "util/json_writer.h"
#include "util/time.h"

namespace contacts::api {
namespace {

int64_t now_s() { return timeutil::now_us() / 1000000; }

// The string members `names` of a JSON object body; 400 when the body is not such an object.
std::vector<std::string> string_fields(const std::string& body,
                                       std::initializer_list<const char*> names) {
  const auto json = JsonObject::parse(body);
  if (!json) throw ApiError(400, "Request body must be a JSON object.");
  std::vector<std::string> out;
  for (const char* name : names) {
    std::optional<std::string> value = json->string(name);
    if (!value || value->empty()) {
      throw ApiError(400, std::string("Field '") + name + "' is required.");
    }
    out.push_back(std::move(*value));
  }
  return out;
}

}  // namespace

Authenticator::Authenticator(const Settings& settings, const Store& store, std::string key)
    : settings_(settings), store_(store), key_(std::move(key)) {}

std::string Authenticator::sign(const UserRecord& user, std::string_view type,
                                int64_t lifetime_s) const {
  auth::TokenClaims c;
  c.username = user.username;
  c.user_id = user.id;
  c.is_staff = user.is_staff;
  c.type = std::string(type);
  c.issued_at_s = now_s();
  c.expires_at_s = c.issued_at_s + lifetime_s;
  c.jti = auth::new_token_id();
  c.password_version = auth::password_version(user.password_hash);
  return auth::sign_token(c, key_);
}

std::string Authenticator::obtain_tokens(const std::string& body,
                                         const std::string& client_address) {
  const auto fields = string_fields(body, {"username", "password"});
  const auto now = LoginThrottle::Clock::now();
  if (const int64_t wait = throttle_.begin(fields[0], client_address, now)) {
    throw ApiError(429, "Too many failed login attempts. Try again later.", wait);
  }
  std::optional<UserRecord> user;
  bool ok = false;
  try {
    user = store_.find_user(fields[0]);
    struct Permit {  // one of the password checks allowed at once, also when one throws
      std::counting_semaphore<2>& checks;
      explicit Permit(std::counting_semaphore<2>& c) : checks(c) { checks.acquire(); }
      ~Permit() { checks.release(); }
    } permit(password_checks_);
    if (user && user->is_active) {
      ok = auth::verify_password(fields[1], user->password_hash);
    } else {
      auth::burn_password_check(fields[1]);  // same time for unknown users
    }
  } catch (...) {
    throttle_.abandoned(fields[0], client_address);
    throw;
  }
  if (!ok) {
    throttle_.failed(fields[0], client_address, now);
    throw ApiError(401, std::string(auth::kBadLogin));
  }
  throttle_.succeeded(fields[0], client_address);
  std::string out;
  JsonWriter(out)
      .begin_object()
      .field("access", std::string_view(sign(*user, auth::kAccessTokenType,
                                             settings_.access_token_minutes * 60)))
      .field("refresh", std::string_view(sign(*user, auth::kRefreshTokenType,
                                              settings_.refresh_token_days * 86400)))
      .end_object();
  return out;
}

std::string Authenticator::refresh_access(const std::string& body) const {
  const auto fields = string_fields(body, {"refresh"});
  const auto verified = auth::verify_token(fields[0], key_, auth::kRefreshTokenType, now_s());
  const auto* claims = std::get_if<auth::TokenClaims>(&verified);
  if (!claims) throw ApiError(401, "Token is invalid or expired");
  const auto user = current_user(*claims);
  if (!user) throw ApiError(401, "Token is invalid or expired");
  std::string out;
  JsonWriter(out)
      .begin_object()
      .field("access", std::string_view(sign(*user, auth::kAccessTokenType,
                                             settings_.access_token_minutes * 60)))
      .end_object();
  return out;
}

auth::TokenClaims Authenticator::require_user(const http::Request& request) const {
  const auto token = auth::bearer_token(request.header("authorization"));
  if (!token) throw ApiError(401, std::string(auth::kNoCredentials));
  auto verified = auth::verify_token(*token, key_, auth::kAccessTokenType, now_s());
  auto* claims = std::get_if<auth::TokenClaims>(&verified);
  if (!claims) throw ApiError(401, std::string(auth::kInvalidToken));
  return std::move(*claims);
}

std::optional<UserRecord> Authenticator::current_user(const auth::TokenClaims& claims) const {
  auto user = store_.find_user(claims.username);
  if (!user || !user->is_active || user->id != claims.user_id ||
      claims.password_version != auth::password_version(user->password_hash)) {
    return std::nullopt;
  }
  return user;
}

auth::TokenClaims Authenticator::require_admin_token(const http::Request& request) const {
  auth::TokenClaims claims = require_user(request);
  if (!claims.is_staff) throw ApiError(403, std::string(auth::kNoPermission));
  return claims;
}

auth::TokenClaims Authenticator::require_admin(const http::Request& request) const {
  auth::TokenClaims claims = require_user(request);
  // Rights as the store has them now, not as the token says (contract section 11).
  const auto user = current_user(claims);
  if (!user) throw ApiError(401, std::string(auth::kInvalidToken));
  if (!user->is_staff) throw ApiError(403, std::string(auth::kNoPermission));
  claims.is_staff = true;
  return claims;
}

}  // namespace contacts::api
