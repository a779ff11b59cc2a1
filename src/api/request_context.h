// What a handler needs from the request: decoded parameters and the base URL for links.
#pragma once

#include <string>

#include "http/server.h"
#include "query/params.h"

namespace contacts::api {

struct RequestContext {
  const http::Request& request;
  QueryParams params;
  std::string base_url;  // scheme://host, from Host (or X-Forwarded-* when trusted)
  bool no_cache = false;  // Cache-Control: no-cache

  // Absolute link to the request path with `query` ("" = none).
  std::string link(const std::string& query) const;
};

}  // namespace contacts::api
