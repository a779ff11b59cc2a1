// The HTTP application: routing, request ids, CORS, errors, response cache, handlers.
#pragma once

#include <memory>
#include <string>

#include "api/auth_handlers.h"
#include "cache/response_cache.h"
#include "config/settings.h"
#include "http/server.h"
#include "query/reader.h"

namespace contacts::api {

// Thread-safe: handle() is called concurrently from the server's threads.
class App {
 public:
  App(const Settings& settings, const ContactReader& reader, Authenticator& auth);
  // Never throws: every failure becomes the contract's JSON error.
  http::Response handle(const http::Request& request);

 private:
  struct Route;
  http::Response dispatch(const http::Request& request, const std::string& path);
  const Settings& settings_;
  const ContactReader& reader_;
  Authenticator& auth_;
  ResponseCache cache_;
};

}  // namespace contacts::api
