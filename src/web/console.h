// The web console and the API-docs page: embedded files served by the app (src/api/app.cpp).
#pragma once

#include <string_view>

#include "http/server.h"

namespace contacts::web {

// Prefix of the embedded files' URLs: /assets/<name of a file of web/static or web/vendor.txt>.
inline constexpr std::string_view kAssetPrefix = "/assets/";

// True when the client asks for JSON and not for HTML (an Accept header naming
// application/json and not text/html): GET / then answers the JSON index, else the console.
bool prefers_json(const http::Request& request);

// The embedded file `path` (without kAssetPrefix) for GET or HEAD: 200 with its Content-Type,
// ETag and "Cache-Control: no-cache" (browsers revalidate, and get 304 while the binary is the
// same), gzip-encoded when the client accepts it; 304 without a body when If-None-Match names
// its ETag. Throws Error(not_found) when there is no such file.
http::Response serve_asset(const http::Request& request, std::string_view path);

// GET /: the console page (web/static/index.html).
http::Response console_page(const http::Request& request);

// GET /api/docs/: the API-docs viewer (web/static/docs.html) of the OpenAPI document served
// at /api/schema/.
http::Response docs_page(const http::Request& request);

}  // namespace contacts::web
