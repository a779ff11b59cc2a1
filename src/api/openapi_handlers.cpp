#include "api/openapi_handlers.h"

#include <string>

#include "cache/response_cache.h"
#include "util/text.h"

namespace contacts::api {
namespace {

const std::string& document_etag() {
  static const std::string kEtag = "\"" + cache_digest(openapi_document()) + "\"";
  return kEtag;
}

// If-None-Match holds "*" or a list of entity tags, compared weakly (RFC 9110, 13.1.2).
bool etag_listed(std::string_view if_none_match, std::string_view etag) {
  for (std::string_view tag : text::split_trimmed(if_none_match, ',')) {
    if (tag == "*") return true;
    if (tag.substr(0, 2) == "W/") tag.remove_prefix(2);
    if (tag == etag) return true;
  }
  return false;
}

}  // namespace

http::Response openapi_schema(const http::Request& request) {
  http::Response r;
  r.set_header("ETag", document_etag());
  r.set_header("Cache-Control", "no-cache");
  const std::string* if_none_match = request.header("if-none-match");
  if (if_none_match && etag_listed(*if_none_match, document_etag())) {
    r.status = 304;
    return r;
  }
  r.status = 200;
  r.set_header("Content-Type", "application/json; charset=utf-8");
  r.body = std::string(openapi_document());
  return r;
}

}  // namespace contacts::api
