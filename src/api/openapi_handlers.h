// GET /api/schema/: the OpenAPI 3.1 document of the API, embedded in the binary at build time.
#pragma once

#include <string_view>

#include "http/server.h"

namespace contacts::api {

// The bytes of src/api/openapi.json, unchanged. Defined in a source the build generates
// (cmake/embed_file.cmake). Thread-safe; the view is valid for the life of the program.
std::string_view openapi_document();

// 200 with the document as `application/json; charset=utf-8`, a strong ETag and
// `Cache-Control: no-cache`; 304 without a body when If-None-Match names that ETag (or is
// "*"). Never throws. Thread-safe.
http::Response openapi_schema(const http::Request& request);

}  // namespace contacts::api
