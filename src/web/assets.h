// The web console's files, embedded into the binary at build time (web/embed_assets.py turns
// web/static/ and the vendor files listed in web/vendor.txt into a generated source).
#pragma once

#include <cstddef>
#include <span>
#include <string_view>

namespace contacts::web {

struct Asset {
  std::string_view path;          // the name under /assets/: "main.js" (never a '/' in it)
  std::string_view content_type;  // "text/javascript; charset=utf-8", ...
  std::string_view etag;          // strong ETag of `body`, quotes included
  std::string_view body;          // the file's bytes
  std::string_view gzip_body;     // the same bytes gzip-compressed, or "" when not worth it
  std::string_view gzip_etag;     // ETag of the gzip variant ("" without one)
};

// Every embedded file, sorted by path. The data is static and read-only (thread-safe).
std::span<const Asset> all_assets();

// The file named `path` (as in /assets/<path>), or nullptr.
const Asset* find_asset(std::string_view path);

}  // namespace contacts::web
