#include "api/openapi_handlers.h"

#include <string>

#include "util/digest.h"

namespace contacts::api {
namespace {

const std::string& document_etag() {
  static const std::string kEtag = "\"" + sha256_hex(openapi_document(), 16) + "\"";
  return kEtag;
}

}  // namespace

http::Response openapi_schema(const http::Request& request) {
  http::Response r;
  r.set_header("ETag", document_etag());
  r.set_header("Cache-Control", "no-cache");
  if (request.if_none_match(document_etag())) {
    r.status = 304;
    return r;
  }
  r.status = 200;
  r.set_header("Content-Type", "application/json; charset=utf-8");
  r.body = std::string(openapi_document());
  return r;
}

}  // namespace contacts::api
