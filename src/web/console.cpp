#include "web/console.h"

#include <string>
#include <vector>

#include "util/error.h"
#include "util/text.h"
#include "web/assets.h"

namespace contacts::web {

namespace {

// Pages may load and fetch only from this server: nothing from the internet, no inline
// scripts. Styles may be inline (the chart and docs libraries set style attributes).
constexpr const char* kPagePolicy =
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; connect-src 'self'; font-src 'self' data:; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

// The media ranges of an Accept or Accept-Encoding header whose q is not 0, lower-cased and
// without parameters.
std::vector<std::string> accepted(const std::string* header) {
  std::vector<std::string> out;
  if (!header) return out;
  const std::string lower = text::ascii_lower(*header);
  for (std::string_view item : text::split_trimmed(lower, ',')) {
    const size_t semi = item.find(';');
    const std::string_view name = text::trim(item.substr(0, semi));
    bool refused = false;
    if (semi != std::string_view::npos) {
      for (std::string_view param : text::split_trimmed(item.substr(semi + 1), ';')) {
        if (param.substr(0, 2) != "q=") continue;
        const std::string_view q = text::trim(param.substr(2));
        refused = !q.empty() && q.find_first_not_of("0.") == std::string_view::npos;
      }
    }
    if (!refused && !name.empty()) out.emplace_back(name);
  }
  return out;
}

bool contains(const std::vector<std::string>& items, std::string_view wanted) {
  for (const auto& item : items) {
    if (item == wanted) return true;
  }
  return false;
}

http::Response page(const http::Request& request, std::string_view name) {
  http::Response r = serve_asset(request, name);
  r.set_header("Content-Security-Policy", kPagePolicy);
  r.set_header("X-Frame-Options", "DENY");
  r.set_header("Referrer-Policy", "no-referrer");
  return r;
}

}  // namespace

bool prefers_json(const http::Request& request) {
  const auto types = accepted(request.header("accept"));
  return contains(types, "application/json") && !contains(types, "text/html");
}

http::Response serve_asset(const http::Request& request, std::string_view path) {
  const Asset* asset = find_asset(path);
  if (!asset) throw Error(ErrorCode::not_found, "Not found.");
  const bool gzip = !asset->gzip_body.empty() &&
                    contains(accepted(request.header("accept-encoding")), "gzip");
  const std::string_view etag = gzip ? asset->gzip_etag : asset->etag;
  http::Response r;
  r.set_header("ETag", std::string(etag));
  r.set_header("Cache-Control", "no-cache");
  if (!asset->gzip_body.empty()) r.set_header("Vary", "Accept-Encoding");
  if (request.if_none_match(etag)) {
    r.status = 304;
    return r;
  }
  r.set_header("Content-Type", std::string(asset->content_type));
  r.set_header("X-Content-Type-Options", "nosniff");
  if (gzip) r.set_header("Content-Encoding", "gzip");
  r.body = std::string(gzip ? asset->gzip_body : asset->body);
  return r;
}

http::Response console_page(const http::Request& request) {
  http::Response r = page(request, "index.html");
  // GET / answers JSON to clients that ask for it.
  const Asset* index = find_asset("index.html");
  r.set_header("Vary", index && !index->gzip_body.empty() ? "Accept, Accept-Encoding" : "Accept");
  return r;
}

http::Response docs_page(const http::Request& request) { return page(request, "docs.html"); }

}  // namespace contacts::web
