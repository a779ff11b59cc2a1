#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "util/error.h"
#include "web/assets.h"
#include "web/console.h"

using namespace contacts;

namespace {

http::Request get(std::string path, std::vector<std::pair<std::string, std::string>> headers = {}) {
  http::Request r;
  r.method = "GET";
  r.path = std::move(path);
  r.target = r.path;
  r.headers = std::move(headers);
  return r;
}

const std::string* header(const http::Response& r, std::string_view name) {
  for (const auto& [n, v] : r.headers) {
    if (n == name) return &v;
  }
  return nullptr;
}

// Every run of text between `open` and the next `close` in `text`.
std::vector<std::string> between(std::string_view text, std::string_view open, char close) {
  std::vector<std::string> out;
  for (size_t at = text.find(open); at != std::string_view::npos; at = text.find(open, at)) {
    at += open.size();
    const size_t end = text.find(close, at);
    if (end == std::string_view::npos) break;
    out.emplace_back(text.substr(at, end - at));
  }
  return out;
}

std::string_view body_of(std::string_view path) {
  const web::Asset* a = web::find_asset(path);
  return a ? a->body : std::string_view();
}

}  // namespace

TEST(WebConsole, JsonIndexOnlyForClientsAskingForJsonAndNotHtml) {
  EXPECT_TRUE(web::prefers_json(get("/", {{"accept", "application/json"}})));
  EXPECT_TRUE(web::prefers_json(get("/", {{"accept", "Application/JSON; charset=utf-8, */*;q=0.1"}})));
  EXPECT_FALSE(web::prefers_json(get("/")));
  EXPECT_FALSE(web::prefers_json(get("/", {{"accept", "*/*"}})));
  EXPECT_FALSE(web::prefers_json(get("/", {{"accept", "text/html,application/json"}})));
  EXPECT_FALSE(web::prefers_json(get("/", {{"accept", "application/json;q=0, text/plain"}})));
}

TEST(WebConsole, AssetWithTypeEtagAndRevalidation) {
  const http::Response r = web::serve_asset(get("/assets/main.js"), "main.js");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(*header(r, "Content-Type"), "text/javascript; charset=utf-8");
  EXPECT_EQ(*header(r, "Cache-Control"), "no-cache");
  EXPECT_EQ(r.body, body_of("main.js"));
  const std::string etag = *header(r, "ETag");
  EXPECT_EQ(etag.size(), 26u) << etag;
  EXPECT_EQ(etag.find_first_not_of("0123456789abcdef", 1), 25u) << etag;
  EXPECT_EQ(etag.front(), '"');
  EXPECT_EQ(etag.back(), '"');

  for (const std::string& tag : {etag, "W/" + etag, "\"other\", " + etag, std::string("*")}) {
    const http::Response again =
        web::serve_asset(get("/assets/main.js", {{"if-none-match", tag}}), "main.js");
    EXPECT_EQ(again.status, 304) << tag;
    EXPECT_TRUE(again.body.empty());
    EXPECT_EQ(*header(again, "ETag"), etag);
  }
  const http::Response changed =
      web::serve_asset(get("/assets/main.js", {{"if-none-match", "\"stale\""}}), "main.js");
  EXPECT_EQ(changed.status, 200);
}

TEST(WebConsole, GzipOnlyWhenAccepted) {
  const web::Asset* bundle = web::find_asset("swagger-ui-bundle.js");
  ASSERT_NE(bundle, nullptr);
  ASSERT_FALSE(bundle->gzip_body.empty());
  EXPECT_LT(bundle->gzip_body.size(), bundle->body.size() / 2);

  const auto served = [](std::string accept_encoding) {
    return web::serve_asset(get("/assets/swagger-ui-bundle.js",
                                {{"accept-encoding", std::move(accept_encoding)}}),
                            "swagger-ui-bundle.js");
  };
  const http::Response gz = served("gzip, deflate, br");
  EXPECT_EQ(*header(gz, "Content-Encoding"), "gzip");
  EXPECT_EQ(gz.body, bundle->gzip_body);
  EXPECT_EQ(*header(gz, "Vary"), "Accept-Encoding");
  EXPECT_NE(*header(gz, "ETag"), bundle->etag);  // another representation, another tag

  for (const char* refused : {"identity", "gzip;q=0", "deflate, br", ""}) {
    const http::Response plain = served(refused);
    EXPECT_EQ(header(plain, "Content-Encoding"), nullptr) << refused;
    EXPECT_EQ(plain.body, bundle->body) << refused;
  }
}

TEST(WebConsole, UnknownAssetIsNotFound) {
  try {
    web::serve_asset(get("/assets/../src/main.cpp"), "../src/main.cpp");
    FAIL() << "no exception";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::not_found);
  }
}

TEST(WebConsole, PagesAreHtmlWithAContentSecurityPolicy) {
  for (const auto& page : {web::console_page(get("/")), web::docs_page(get("/api/docs/"))}) {
    EXPECT_EQ(page.status, 200);
    EXPECT_EQ(*header(page, "Content-Type"), "text/html; charset=utf-8");
    EXPECT_NE(header(page, "Content-Security-Policy")->find("default-src 'self'"),
              std::string::npos);
  }
  const http::Response page = web::console_page(get("/"));
  EXPECT_EQ(header(page, "Vary")->substr(0, 6), "Accept");
}

// Every /assets/ URL the pages name, and every module the console's scripts import, is
// embedded: a file missing from web/static or web/vendor.txt fails here, not in a browser.
TEST(WebAssets, EveryReferencedFileIsEmbedded) {
  int references = 0;
  for (const web::Asset& asset : web::all_assets()) {
    if (asset.path.ends_with(".html")) {
      for (const std::string& name : between(asset.body, "=\"/assets/", '"')) {
        EXPECT_NE(web::find_asset(name), nullptr) << asset.path << ": " << name;
        ++references;
      }
    }
    if (asset.path.ends_with(".js") && asset.body.size() < 100'000) {  // ours, not the vendor's
      for (const std::string& name : between(asset.body, "from './", '\'')) {
        EXPECT_NE(web::find_asset(name), nullptr) << asset.path << ": " << name;
        ++references;
      }
    }
  }
  EXPECT_GE(references, 10);
}

TEST(WebAssets, SortedByPathForLookup) {
  const auto assets = web::all_assets();
  ASSERT_GE(assets.size(), 5u);
  for (size_t i = 1; i < assets.size(); ++i) EXPECT_LT(assets[i - 1].path, assets[i].path);
  for (const web::Asset& a : assets) EXPECT_EQ(web::find_asset(a.path), &a);
  EXPECT_EQ(web::find_asset("index.htm"), nullptr);
  EXPECT_EQ(web::find_asset(""), nullptr);
  for (const web::Asset& a : assets) EXPECT_EQ(a.path.find('/'), std::string_view::npos) << a.path;
}
