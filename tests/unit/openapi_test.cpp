// The OpenAPI document embedded in the binary (GET /api/schema/) against the code it describes:
// the routing table, the filters and orderings of the query model, the contact record.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "api/app.h"
#include "api/openapi_handlers.h"
#include "model/contact.h"
#include "query/parse.h"

namespace contacts::api {
namespace {

using nlohmann::json;
using Operation = std::pair<std::string, std::string>;  // {"GET", "/api/contacts/"}

std::string read_source_file(const std::string& relative) {
  std::ifstream in(std::string(CONTACTS_SOURCE_DIR) + "/" + relative, std::ios::binary);
  EXPECT_TRUE(in) << "cannot read " << relative;
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

const json& document() {
  static const json kDocument = json::parse(openapi_document());
  return kDocument;
}

// The object a local "$ref" names, or `node` itself.
const json& resolved(const json& node) {
  if (!node.contains("$ref")) return node;
  const std::string ref = node.at("$ref").get<std::string>();
  return document().at(json::json_pointer(ref.substr(1)));
}

std::string upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

std::set<Operation> documented_operations() {
  static const std::set<std::string> kMethods = {"get", "put", "post", "delete", "options",
                                                 "head", "patch", "trace"};
  std::set<Operation> out;
  for (const auto& [path, item] : document().at("paths").items()) {
    for (const auto& [key, value] : item.items()) {
      if (kMethods.count(key)) out.insert({upper(key), path});
    }
  }
  return out;
}

std::set<Operation> routed_operations() {
  std::set<Operation> out;
  for (const RouteTemplate& route : route_templates()) {
    for (const std::string& method : route.methods) out.insert({method, route.path});
  }
  return out;
}

// Routes of tests/openapi/pending_routes.json: documented, added by a branch not merged yet.
std::set<Operation> pending_operations() {
  std::set<Operation> out;
  const json pending = json::parse(read_source_file("tests/openapi/pending_routes.json"));
  for (const json& entry : pending.at("pending")) {
    if (entry.contains("media_type")) continue;  // the route answers; one of its variants is pending
    out.insert({entry.at("method").get<std::string>(), entry.at("path").get<std::string>()});
  }
  return out;
}

// name -> parameter object, of the documented operation `method path`.
std::map<std::string, json> parameters_of(const std::string& method, const std::string& path) {
  std::map<std::string, json> out;
  const json& op = document().at("paths").at(path).at(method);
  for (const json& p : op.value("parameters", json::array())) {
    const json& param = resolved(p);
    if (param.at("in") == "query") out[param.at("name").get<std::string>()] = param;
  }
  return out;
}

std::string type_of(const json& parameter) {
  const json& schema = resolved(parameter.at("schema"));
  return schema.at("type").get<std::string>();
}

TEST(OpenApiDocument, EmbeddedDocumentIsTheSourceFile) {
  EXPECT_EQ(openapi_document(), read_source_file("src/api/openapi.json"));
}

TEST(OpenApiDocument, IsOpenApi31ServedFromARelativeServerUrl) {
  EXPECT_EQ(document().at("openapi").get<std::string>().substr(0, 4), "3.1.");
  ASSERT_EQ(document().at("servers").size(), 1u);
  EXPECT_EQ(document().at("servers").at(0).at("url"), "/");
}

TEST(OpenApiDocument, EveryRoutedOperationIsDocumented) {
  const std::set<Operation> documented = documented_operations();
  for (const Operation& op : routed_operations()) {
    EXPECT_TRUE(documented.count(op)) << op.first << " " << op.second
                                      << " is routed but not in src/api/openapi.json";
  }
}

TEST(OpenApiDocument, EveryDocumentedOperationIsRoutedOrPending) {
  const std::set<Operation> routed = routed_operations();
  const std::set<Operation> pending = pending_operations();
  for (const Operation& op : documented_operations()) {
    EXPECT_TRUE(routed.count(op) || pending.count(op))
        << op.first << " " << op.second << " is documented but no route answers it";
  }
}

TEST(OpenApiDocument, NoPendingRouteIsRoutedAlready) {
  const std::set<Operation> routed = routed_operations();
  for (const Operation& op : pending_operations()) {
    EXPECT_FALSE(routed.count(op)) << op.first << " " << op.second
                                   << " is routed now: remove it from "
                                      "tests/openapi/pending_routes.json";
  }
}

TEST(OpenApiDocument, ListCountAndExportDocumentEveryFilterWithItsType) {
  std::map<std::string, std::string> filters;  // name -> JSON Schema type
  for (const TextFieldInfo& f : text_fields()) {
    if (f.contains_filter || f.exact_filter) filters[std::string(f.name)] = "string";
  }
  for (const NumberFieldInfo& f : number_fields()) {
    filters[std::string(f.name) + "_min"] = "integer";
    filters[std::string(f.name) + "_max"] = "integer";
  }
  for (const char* name : {"created_at_after", "created_at_before", "updated_at_after",
                           "updated_at_before", "search"}) {
    filters[name] = "string";
  }
  // Booleans are strings with the contract's spellings (true/false, 1/0, yes/no, any case).
  const std::map<std::string, std::map<std::string, std::string>> others = {
      {"/api/contacts/",
       {{"ordering", "array"}, {"cursor", "string"}, {"page_size", "integer"},
        {"limit", "integer"}, {"offset", "integer"}, {"include_meta", "string"},
        {"use_replica", "string"}}},
      {"/api/contacts/count/", {{"use_replica", "string"}}},
      {"/api/contacts/export/", {{"ordering", "array"}, {"use_replica", "string"}}},
  };
  for (const auto& [path, extra] : others) {
    std::map<std::string, std::string> want = filters;
    want.insert(extra.begin(), extra.end());
    std::map<std::string, std::string> got;
    for (const auto& [name, param] : parameters_of("get", path)) got[name] = type_of(param);
    EXPECT_EQ(got, want) << "query parameters of GET " << path;
  }
}

TEST(OpenApiDocument, OrderingValuesAreTheValidOrderingFieldsBothWays) {
  std::set<std::string> want;
  std::stringstream list(valid_ordering_list());
  for (std::string field; std::getline(list, field, ',');) {
    field.erase(0, field.find_first_not_of(' '));
    want.insert(field);
    want.insert("-" + field);
  }
  const json ordering = parameters_of("get", "/api/contacts/").at("ordering");
  EXPECT_EQ(ordering.at("style"), "form");
  EXPECT_EQ(ordering.at("explode"), false);
  const auto values = ordering.at("schema").at("items").at("enum").get<std::set<std::string>>();
  EXPECT_EQ(values, want);
  EXPECT_EQ(want.size(), 82u);  // id and 40 payload fields, both directions
}

TEST(OpenApiDocument, FieldEndpointsListTheirOwnValue) {
  for (std::string_view name : field_endpoint_names()) {
    const std::string path = "/api/contacts/" + std::string(name) + "/";
    ASSERT_TRUE(document().at("paths").contains(path)) << path;
    const json& page = resolved(document()
                                    .at("paths")
                                    .at(path)
                                    .at("get")
                                    .at("responses")
                                    .at("200")
                                    .at("content")
                                    .at("application/json")
                                    .at("schema"));
    const json& row = page.at("properties").at("results").at("items");
    EXPECT_EQ(row.at("required"), json::array({"id", std::string(name)})) << path;
    const auto params = parameters_of("get", path);
    EXPECT_EQ(params.count("separated"), name == "keywords" ? 1u : 0u) << path;
    for (const char* p : {"search", "distinct", "limit", "offset", "use_replica"}) {
      EXPECT_EQ(params.count(p), 1u) << path << " " << p;
    }
  }
}

TEST(OpenApiDocument, ContactSchemaHasEveryFieldOfTheRecordInPayloadOrder) {
  const json& item = document().at("components").at("schemas").at("ContactListItem");
  std::vector<std::string> want = {"id"};
  for (const TextFieldInfo& f : text_fields()) want.emplace_back(f.name);
  for (const NumberFieldInfo& f : number_fields()) want.emplace_back(f.name);
  for (const char* name : {"meta_data", "created_at", "updated_at"}) want.emplace_back(name);
  std::vector<std::string> got;
  for (const auto& [name, schema] : item.at("properties").items()) got.push_back(name);
  std::sort(want.begin(), want.end());
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, want);
  for (const NumberFieldInfo& f : number_fields()) {
    EXPECT_EQ(item.at("properties").at(std::string(f.name)).at("type"),
              json::array({"integer", "null"}))
        << f.name;
  }
  EXPECT_EQ(item.at("additionalProperties"), false);
}

TEST(ApiSchemaRoute, ServesTheDocumentWithAStrongEtag) {
  const http::Response r = openapi_schema(http::Request{});
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, openapi_document());
  std::map<std::string, std::string> headers(r.headers.begin(), r.headers.end());
  EXPECT_EQ(headers["Content-Type"], "application/json; charset=utf-8");
  EXPECT_EQ(headers["Cache-Control"], "no-cache");
  const std::string etag = headers["ETag"];
  ASSERT_EQ(etag.size(), 34u);
  EXPECT_EQ(etag.front(), '"');
  EXPECT_EQ(etag.back(), '"');
}

TEST(ApiSchemaRoute, IfNoneMatchWithTheEtagAnswers304WithoutBody) {
  std::string etag;
  for (const auto& [name, value] : openapi_schema(http::Request{}).headers) {
    if (name == "ETag") etag = value;
  }
  for (const std::string& given : {etag, "\"other\", W/" + etag, std::string("*")}) {
    http::Request request;
    request.headers = {{"if-none-match", given}};
    const http::Response r = openapi_schema(request);
    EXPECT_EQ(r.status, 304) << given;
    EXPECT_TRUE(r.body.empty()) << given;
  }
  http::Request other;
  other.headers = {{"if-none-match", "\"0123\""}};
  EXPECT_EQ(openapi_schema(other).status, 200);
}

}  // namespace
}  // namespace contacts::api
