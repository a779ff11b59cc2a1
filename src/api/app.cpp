#include "api/app.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>

#include "analytics/runner.h"
#include "api/api_error.h"
#include "api/contacts_handlers.h"
#include "api/export_handlers.h"
#include "api/openapi_handlers.h"
#include "http/request_id.h"
#include "metrics/service_metrics.h"
#include "query/parse.h"
#include "store/store.h"
#include "util/deadline.h"
#include "util/json_writer.h"
#include "util/text.h"
#include "util/thread_priority.h"
#include "web/console.h"

namespace contacts::api {

enum class RouteKind {
  root, favicon, health, healthz, readyz, list, count, analytics, retrieve, field, token, token_refresh,
  import_info, import_job, import_errors, schema, export_csv, console_asset, api_docs, metrics,
};
enum class CacheFamily { none, list, field, analytics };

struct RouteMatch {
  RouteKind kind;
  CacheFamily cache = CacheFamily::none;
  int64_t id = 0;
  FieldEndpoint field = FieldEndpoint::title;
  std::string_view endpoint = {};  // cache key namespace: "list", "count", "title", ...
  std::string_view methods = {};   // the Allow header: every method the route answers
  std::string_view path = {};      // its template in the route table: metrics and access logs
};

namespace {

constexpr const char* kJson = "application/json; charset=utf-8";
constexpr std::string_view kReadMethods = "GET, HEAD, OPTIONS";
constexpr std::string_view kImportMethods = "GET, POST, HEAD, OPTIONS";
constexpr std::string_view kPostMethods = "POST, OPTIONS";

// One route: its path as documented (src/api/openapi.json), where "{id}" and "{job_id}" stand
// for a positive decimal id and "{field}" for the name of a field endpoint.
struct RouteSpec {
  std::string_view path;
  RouteKind kind;
  std::string_view methods;
  CacheFamily cache = CacheFamily::none;
  std::string_view endpoint = {};  // cache key namespace ("{field}": the field's name)
};

// Every route the server answers: routing reads it, and so does route_templates(), which the
// tests compare with the OpenAPI document. A request path matches at most one row.
constexpr RouteSpec kRoutes[] = {
    {"/", RouteKind::root, kReadMethods},
    {"/favicon.ico", RouteKind::favicon, kReadMethods},
    {"/api/health/", RouteKind::health, kReadMethods},
    {"/healthz", RouteKind::healthz, kReadMethods},
    {"/readyz", RouteKind::readyz, kReadMethods},
    {"/metrics", RouteKind::metrics, kReadMethods},
    {"/api/schema/", RouteKind::schema, kReadMethods},
    {"/api/docs/", RouteKind::api_docs, kReadMethods},
    {"/assets/{asset}", RouteKind::console_asset, kReadMethods},
    {"/api/auth/token/", RouteKind::token, kPostMethods},
    {"/api/auth/token/refresh/", RouteKind::token_refresh, kPostMethods},
    {"/api/contacts/", RouteKind::list, kReadMethods, CacheFamily::list, "list"},
    {"/api/contacts/count/", RouteKind::count, kReadMethods, CacheFamily::list, "count"},
    {"/api/contacts/analytics/", RouteKind::analytics, kReadMethods, CacheFamily::analytics,
     "analytics"},
    {"/api/contacts/import/", RouteKind::import_info, kImportMethods},
    {"/api/contacts/import/{job_id}/", RouteKind::import_job, kReadMethods},
    {"/api/contacts/import/{job_id}/errors/", RouteKind::import_errors, kReadMethods},
    {"/api/contacts/export/", RouteKind::export_csv, kReadMethods},
    {"/api/contacts/{field}/", RouteKind::field, kReadMethods, CacheFamily::field},
    {"/api/contacts/{id}/", RouteKind::retrieve, kReadMethods},
};

constexpr const char* kStoreUnavailable =
    "The database is temporarily unavailable. Please try again shortly.";

// One JSON line on stderr. `error` is for operators; it never reaches a client.
void log_error(const http::Request& request, std::string_view msg, std::string_view error) {
  std::string line;
  JsonWriter(line)
      .begin_object()
      .field("level", "error")
      .field("msg", msg)
      .field("path", std::string_view(request.path))
      .field("error", error)
      .end_object();
  std::fprintf(stderr, "%s\n", line.c_str());
}


// A positive decimal id of at most 18 digits, or 0.
int64_t parse_id(std::string_view s) {
  if (s.empty() || s.size() > 18) return 0;
  int64_t id = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return 0;
    id = id * 10 + (c - '0');
  }
  return id;
}

// The next segment of `path` (which starts with '/'), removed from it.
std::string_view next_segment(std::string_view& path) {
  path.remove_prefix(1);
  const size_t end = std::min(path.find('/'), path.size());
  const std::string_view segment = path.substr(0, end);
  path.remove_prefix(end);
  return segment;
}

// Matches `path` (without its trailing slash) against the template of `route`.
std::optional<RouteMatch> match_spec(const RouteSpec& route, std::string_view path) {
  std::string_view tmpl = route.path;
  if (tmpl.size() > 1 && tmpl.back() == '/') tmpl.remove_suffix(1);
  RouteMatch m{route.kind,     route.cache,   0, FieldEndpoint::title,
               route.endpoint, route.methods, route.path};
  while (!tmpl.empty() && !path.empty()) {
    const std::string_view want = next_segment(tmpl);
    const std::string_view got = next_segment(path);
    if (want == "{id}" || want == "{job_id}") {
      m.id = parse_id(got);
      if (m.id <= 0) return std::nullopt;
    } else if (want == "{asset}") {
      if (got.empty()) return std::nullopt;  // the name is read from the path by the handler
    } else if (want == "{field}") {
      const auto field = field_endpoint_named(got);
      if (!field) return std::nullopt;
      m.field = *field;
      m.endpoint = field_endpoint_name(*field);
    } else if (want != got) {
      return std::nullopt;
    }
  }
  if (!tmpl.empty() || !path.empty()) return std::nullopt;
  return m;
}

// Matches a path without its trailing slash.
std::optional<RouteMatch> match_route(std::string_view path) {
  if (path.empty()) path = "/";
  if (path.front() != '/') return std::nullopt;
  for (const RouteSpec& route : kRoutes) {
    if (auto m = match_spec(route, path)) return m;
  }
  return std::nullopt;
}

// The import route, the only one whose body route_body() streams.
const std::optional<RouteMatch>& upload_route() {
  static const std::optional<RouteMatch> kUpload = match_route("/api/contacts/import");
  return kUpload;
}

// Whether `method` is one of `methods` ("GET, HEAD, OPTIONS").
bool method_listed(std::string_view methods, std::string_view method) {
  while (!methods.empty()) {
    const size_t comma = std::min(methods.find(','), methods.size());
    if (text::trim(methods.substr(0, comma)) == method) return true;
    methods.remove_prefix(std::min(comma + 1, methods.size()));
  }
  return false;
}

void count_cache_lookup(const RouteMatch& route, const char* result) {
  const std::string_view endpoint = route.cache == CacheFamily::field ? "field" : route.endpoint;
  metrics::service_metrics().cache_lookups.with({endpoint, result}).inc();
}

bool valid_host(std::string_view h) {
  if (h.empty() || h.size() > 255) return false;
  for (char c : h) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '-' || c == ':' || c == '[' || c == ']' || c == '_';
    if (!ok) return false;
  }
  return true;
}

std::string first_value(const std::string* header) {
  if (!header) return {};
  return std::string(text::trim(std::string_view(*header).substr(0, header->find(','))));
}

std::string base_url(const http::Request& req, const Settings& settings) {
  std::string scheme = "http";
  std::string host = first_value(req.header("host"));
  if (settings.trust_proxy) {
    const std::string proto = text::ascii_lower(first_value(req.header("x-forwarded-proto")));
    if (proto == "https" || proto == "http") scheme = proto;
    const std::string fwd_host = first_value(req.header("x-forwarded-host"));
    if (valid_host(fwd_host)) host = fwd_host;
  }
  if (!valid_host(host)) host = settings.host + ":" + std::to_string(settings.port);
  return scheme + "://" + host;
}

// The client's address for login throttling: the peer, or the first X-Forwarded-For hop when
// the proxy is trusted (contract section 11).
std::string client_address(const http::Request& req, const Settings& settings) {
  if (settings.trust_proxy) {
    const std::string hop = first_value(req.header("x-forwarded-for"));
    if (!hop.empty()) return hop;
  }
  return req.peer;
}

http::Response json_response(int status, std::string body) {
  http::Response r;
  r.status = status;
  r.body = std::move(body);
  r.set_header("Content-Type", kJson);
  return r;
}

http::Response error_response(const ApiError& e) {
  http::Response r = json_response(e.status(), json_detail(e.detail()));
  if (e.status() == 401) r.set_header("WWW-Authenticate", "Bearer");
  if (e.retry_after_s() > 0) r.set_header("Retry-After", std::to_string(e.retry_after_s()));
  return r;
}

std::chrono::seconds ttl_for(CacheFamily family, const Settings& s) {
  switch (family) {
    case CacheFamily::list: return std::chrono::seconds(s.list_cache_ttl_s);
    case CacheFamily::field: return std::chrono::seconds(s.field_cache_ttl_s);
    case CacheFamily::analytics: return std::chrono::seconds(s.analytics_cache_ttl_s);
    case CacheFamily::none: break;
  }
  return std::chrono::seconds(0);
}

// Adds `token` to the response's Vary header (kept once).
void add_vary(http::Response& res, std::string_view token) {
  const std::string* vary = res.header("Vary");
  if (!vary || vary->empty()) {
    res.set_header("Vary", std::string(token));
    return;
  }
  for (std::string_view part : text::split_trimmed(*vary, ',')) {
    if (text::ascii_lower(part) == text::ascii_lower(token) || part == "*") return;
  }
  res.set_header("Vary", *vary + ", " + std::string(token));
}

void add_cors_headers(const http::Request& req, const Settings& settings, http::Response& res,
                      bool preflight) {
  if (settings.cors_allowed_origins.empty()) return;
  // Every response, with or without an Origin: a shared cache must not hand an answer made
  // for one origin (or none) to another.
  add_vary(res, "Origin");
  const std::string* origin = req.header("origin");
  if (!origin) return;
  bool any = false, listed = false;
  for (const auto& o : settings.cors_allowed_origins) {
    any = any || o == "*";
    listed = listed || o == *origin;
  }
  if (!any && !listed) return;
  res.set_header("Access-Control-Allow-Origin", any ? "*" : *origin);
  // What a browser script may read besides the simple headers: the request id, the cache flag,
  // when to retry a 429 or 503, and an export's file name.
  res.set_header("Access-Control-Expose-Headers",
                 "X-Request-Id, X-Cache-Hit, Retry-After, Content-Disposition");
  if (preflight) {
    res.set_header("Access-Control-Allow-Methods", "GET, HEAD, POST, OPTIONS");
    const std::string* asked = req.header("access-control-request-headers");
    res.set_header("Access-Control-Allow-Headers",
                   asked && !asked->empty() ? *asked
                                            : "Accept, Authorization, Cache-Control, Content-Type, "
                                              "X-Request-Id");
    res.set_header("Access-Control-Max-Age", "86400");
  }
}

std::string root_index() {
  std::string out;
  JsonWriter w(out);
  w.begin_object().field("name", "contacts-api").key("endpoints").begin_array();
  for (const char* p : {"/api/contacts/", "/api/contacts/{id}/", "/api/contacts/count/",
                        "/api/contacts/analytics/", "/api/contacts/{field}/", "/api/health/",
                        "/api/schema/"}) {
    w.value(p);
  }
  w.end_array().end_object();
  return out;
}

}  // namespace

std::vector<RouteTemplate> route_templates() {
  std::vector<RouteTemplate> out;
  for (const RouteSpec& route : kRoutes) {
    RouteTemplate t{std::string(route.path), {}};
    for (std::string_view method : text::split_trimmed(route.methods, ',')) {
      if (method != "HEAD" && method != "OPTIONS") t.methods.emplace_back(method);
    }
    constexpr std::string_view kField = "{field}";
    const size_t at = t.path.find(kField);
    if (at == std::string::npos) {
      out.push_back(std::move(t));
      continue;
    }
    for (std::string_view name : field_endpoint_names()) {
      RouteTemplate field = t;
      field.path.replace(at, kField.size(), name);
      out.push_back(std::move(field));
    }
  }
  return out;
}

std::string RequestContext::link(const std::string& query) const {
  return base_url + request.path + (query.empty() ? "" : "?" + query);
}

App::App(const Settings& settings, ReadRouter& router, Freshness& freshness, Authenticator& auth,
         const ImportEndpoints& imports, ResponseCache& cache, std::function<void()> check_store,
         const Telemetry* telemetry)
    : settings_(settings),
      router_(router),
      freshness_(freshness),
      auth_(auth),
      imports_(imports),
      cache_(cache),
      check_store_(std::move(check_store)),
      telemetry_(telemetry),
      read_pool_(std::make_unique<WorkPool>(settings.read_threads, 4096, priority::kReads, "reads")),
      password_pool_(std::make_unique<WorkPool>(2, 256, priority::kReads, "passwords")),
      analytics_engine_(analytics::make_runner(settings)) {}

http::BodyRoute App::route_body(const http::Request& head) {
  std::string path = head.path;
  if (path.size() > 1 && path.back() == '/') path.pop_back();
  const auto route = match_route(path);
  if (!route || route->kind != RouteKind::import_info || head.method != "POST") return {};
  http::BodyRoute body;
  try {
    // The token alone here, on the server's thread; the store's view of the user is checked
    // on the pool once the body has arrived (dispatch), before the job is created.
    auth_.require_admin_token(head);
    body = imports_.route_upload(head);
  } catch (const ApiError& e) {
    body.reject = error_response(e);
  } catch (const StoreUnavailable& e) {
    log_error(head, "store unavailable", e.what());
    body.reject = json_response(503, json_detail(kStoreUnavailable));
    body.reject->set_header("Retry-After", "5");
  } catch (const std::exception&) {
    body.reject = json_response(500, json_detail(kInternalErrorDetail));
  }
  if (body.reject) finish(head, *body.reject, route);
  return body;
}

void App::finish(const http::Request& request, http::Response& res,
                 const std::optional<RouteMatch>& route) const {
  if (route) res.route = route->path;
  res.set_header("X-Request-Id", http::request_id_for(request.header("x-request-id")));
  add_cors_headers(request, settings_, res, request.method == "OPTIONS");
}

void App::observe(const http::Exchange& exchange) const {
  if (!telemetry_) return;
  // The route handle() matched, carried by the answer (finish()): no second match.
  const std::string_view route = exchange.response.route;
  telemetry_->record(exchange, route.empty() ? "unmatched" : route);
}

App::~App() = default;

namespace {

// Routes whose answer may take a while: reads (search scans, SQL on a replica), exports,
// logins (Argon2id) and whatever reads the store (an admin's rights, import jobs). Probes,
// metrics and embedded pages are answered on the server's threads.
bool answered_on_a_pool(RouteKind kind) {
  switch (kind) {
    case RouteKind::list: case RouteKind::count: case RouteKind::analytics:
    case RouteKind::retrieve: case RouteKind::field: case RouteKind::token:
    case RouteKind::token_refresh: case RouteKind::import_info: case RouteKind::import_job:
    case RouteKind::import_errors: case RouteKind::export_csv:
      return true;
    default:
      return false;
  }
}

}  // namespace

http::Response App::handle(const http::Request& request) {
  std::string path = request.path;
  if (path.size() > 1 && path.back() == '/') path.pop_back();
  // A streamed body is an upload: route_body() matched its head to the import route already.
  const auto route = request.streamed_body ? upload_route() : match_route(path);
  if (!route || !answered_on_a_pool(route->kind) || request.method == "OPTIONS") {
    return respond(request, route, path);
  }
  WorkPool& pool = route->kind == RouteKind::token ? *password_pool_ : *read_pool_;
  http::Response deferred;
  // `request` lives until `done` has been called (the server keeps the connection for it).
  deferred.deferred = [this, &request, &pool, route, path](std::function<void(http::Response)> done) {
    const bool queued = pool.submit([this, &request, route, path, done] {
      http::Response answer = respond(request, route, path);
      if (answer.body_source) {  // an export or an errors file: its pieces are made here too
        answer.fill_runner = [this](std::function<void()> job) {
          return read_pool_->submit(std::move(job));
        };
      }
      done(std::move(answer));
    });
    if (!queued) {  // more waiting than the pool takes: shed the load, clearly
      http::Response busy = json_response(503, json_detail("Server busy, try again shortly."));
      busy.set_header("Retry-After", "1");
      finish(request, busy, route);
      done(std::move(busy));
    }
  };
  return deferred;
}

http::Response App::respond(const http::Request& request, const std::optional<RouteMatch>& route,
                            const std::string& path) {
  http::Response res;
  try {
    res = dispatch(request, route, path);
  } catch (const ApiError& e) {
    res = error_response(e);
  } catch (const Error& e) {
    res = error_response(api_error_for(e));
  } catch (const StoreUnavailable& e) {
    log_error(request, "store unavailable", e.what());
    res = json_response(503, json_detail(kStoreUnavailable));
    res.set_header("Retry-After", "5");
  } catch (const deadline::Exceeded& e) {
    log_error(request, "read abandoned past CONTACTS_QUERY_TIMEOUT_MS", e.what());
    res = json_response(500, json_detail(kInternalErrorDetail));
  } catch (const std::exception& e) {
    log_error(request, "unhandled error", e.what());
    res = json_response(500, json_detail(kInternalErrorDetail));
  }
  finish(request, res, route);
  return res;
}

http::Response App::dispatch(const http::Request& request, const std::optional<RouteMatch>& route,
                             const std::string& path) {
  if (!route) return json_response(404, json_detail("Not found."));
  const std::string& method = request.method;
  const std::string allow(route->methods);
  if (method == "OPTIONS") {
    http::Response r = json_response(200, "{}");
    r.set_header("Allow", allow);
    return r;
  }
  if (!method_listed(allow, method)) {
    http::Response r = json_response(405, json_detail("Method \"" + method + "\" not allowed."));
    r.set_header("Allow", allow);
    return r;
  }
  switch (route->kind) {
    case RouteKind::token:
      return json_response(200, auth_.obtain_tokens(request.body, client_address(request, settings_)));
    case RouteKind::token_refresh: return json_response(200, auth_.refresh_access(request.body));
    case RouteKind::import_info:
      auth_.require_admin(request);
      if (method == "POST") return imports_.finish_upload(request);
      return json_response(
          200, json_detail("Upload contacts CSV via POST multipart/form-data with field 'file'."));
    case RouteKind::import_job: {
      auth_.require_admin(request);
      RequestContext ctx{request, QueryParams(), base_url(request, settings_)};
      return json_response(200, imports_.job_status(ctx, route->id));
    }
    case RouteKind::import_errors:
      auth_.require_admin(request);
      return imports_.job_errors(route->id);
    case RouteKind::root: {
      if (!web::prefers_json(request)) return web::console_page(request);
      http::Response r = json_response(200, root_index());
      r.set_header("Vary", "Accept");
      return r;
    }
    case RouteKind::console_asset:
      return web::serve_asset(request, std::string_view(path).substr(web::kAssetPrefix.size()));
    case RouteKind::api_docs: return web::docs_page(request);
    case RouteKind::favicon: {
      http::Response r;
      r.status = 204;
      return r;
    }
    case RouteKind::health:
    case RouteKind::healthz: return json_response(200, "{\"status\":\"ok\"}");
    case RouteKind::readyz: return readiness();
    case RouteKind::schema: return openapi_schema(request);
    case RouteKind::metrics:
      if (!telemetry_) return json_response(404, json_detail("Not found."));
      return telemetry_->metrics_response();
    default: break;
  }
  if (settings_.reads_require_auth) auth_.require_user(request);
  RequestContext ctx{request, QueryParams::parse(request.query), base_url(request, settings_)};
  const std::string* cache_control = request.header("cache-control");
  ctx.no_cache = cache_control && text::ascii_lower(*cache_control).find("no-cache") != std::string::npos;
  // Contract: reads prefer the replica by default unless the request says no-cache.
  const bool want_replica = ctx.params.get_bool("use_replica")
                                .value_or(settings_.default_replica_read && !ctx.no_cache);
  if (route->kind == RouteKind::export_csv) {
    // The index when it shows the published data (also for replica reads), else the primary.
    learn_published(cache_.get({}, false));
    return export_contacts(ctx, *router_.route(false).reader, settings_.csv_formula_guard);
  }
  return answer_read(*route, ctx, want_replica);
}

namespace {

// `body` with `extra` parameters added to its `next` and `previous` links (the first two keys
// of a list or field page; absent or null elsewhere): links keep every parameter of the request
// (contract section 4) while the body is computed, and cached, without the unknown ones.
std::string with_link_parameters(std::string body,
                                 const std::vector<std::pair<std::string, std::string>>& extra) {
  if (extra.empty()) return body;
  std::string add;
  for (const auto& [k, v] : extra) add += "&" + url_encode(k) + "=" + url_encode(v);
  const size_t results = body.find("\"results\":");
  for (const char* key : {"\"previous\":\"", "\"next\":\""}) {
    const size_t at = body.find(key);
    if (at == std::string::npos || at > results) continue;
    const size_t end = body.find('"', at + std::strlen(key));
    if (end != std::string::npos) body.insert(end, add);
  }
  return body;
}

}  // namespace

bool App::learn_published(const CacheLookup& lookup) {
  const bool moved = freshness_.learn_from_shared_cache(lookup.published);
  return lookup.unanswered ? freshness_.learn_from_store() || moved : moved;
}

http::Response App::answer_read(const RouteMatch& route, const RequestContext& request_ctx,
                                bool want_replica) {
  // Scans and SQL past this are abandoned (deadline::Exceeded, a 500).
  const deadline::Scope budget{std::chrono::milliseconds(settings_.query_timeout_ms)};
  // Unknown parameters never change an answer (contract section 11): it is computed and
  // cached without them, and they are put back into its links.
  const RequestContext ctx{request_ctx.request, request_ctx.params.only(is_known_parameter),
                           request_ctx.base_url, request_ctx.no_cache};
  std::vector<std::pair<std::string, std::string>> unknown;
  for (const auto& pair : request_ctx.params.pairs()) {
    if (!is_known_parameter(pair.first)) unknown.push_back(pair);
  }
  ReadTarget target = router_.route(want_replica);
  const bool cacheable = settings_.cache_enabled && route.cache != CacheFamily::none;
  // "<endpoint>:<p|r>:<digest of the normalised request>": parameter order does not matter
  // (canonical()), the base URL and path do (they are in the links).
  std::string digest;
  const auto key_for = [&](const ReadTarget& t) {
    return std::string(route.endpoint) + (t.replica ? ":r:" : ":p:") + digest;
  };
  const CacheLookup lookup = [&] {
    if (!cacheable) return cache_.get({}, false);  // the published version only
    digest = cache_digest(ctx.base_url + "\n" + ctx.request.path + "\n" + ctx.params.canonical());
    return cache_.get(key_for(target), !ctx.no_cache);
  }();
  std::optional<CachedBody> entry = lookup.entry;
  if (learn_published(lookup)) {
    // An import finished elsewhere: pick the reader again (the index may be behind now).
    const bool was_replica = target.replica;
    target = router_.route(want_replica);
    if (target.replica != was_replica) entry.reset();  // it was looked up under the other key
  }
  if (entry) {
    // Fresh enough: not older than what was published, nor (on the primary path) than the
    // index, so a refresh of the index after writes by any process also renews the cache.
    if (freshness_.cached_answer_fresh(entry->version, target.replica ? 0 : target.version)) {
      count_cache_lookup(route, "hit");
      http::Response r = json_response(200, with_link_parameters(std::move(entry->body), unknown));
      r.set_header("X-Cache-Hit", "true");
      return r;
    }
  }
  if (cacheable) count_cache_lookup(route, ctx.no_cache ? "bypass" : "miss");
  const auto compute = [&](const ReadTarget& t) -> std::string {
    switch (route.kind) {
      case RouteKind::list: return list_contacts(ctx, t);
      case RouteKind::count: return count_contacts(ctx, *t.reader);
      case RouteKind::analytics:
        return contact_analytics(ctx, *t.reader,
                                 {analytics_engine_.get(), settings_.hadoop_job_configured(),
                                  std::chrono::milliseconds(settings_.query_timeout_ms)});
      case RouteKind::retrieve: return retrieve_contact(*t.reader, route.id);
      case RouteKind::field: return field_values(ctx, *t.reader, route.field);
      default: throw ApiError(404, "Not found.");
    }
  };
  std::string body;
  try {
    body = compute(target);
  } catch (const StoreUnavailable&) {
    if (!target.replica) throw;
    router_.replica_failed();  // the replica went away since the last probe: use the primary
    target = router_.route(false);
    body = compute(target);
  }
  if (cacheable) cache_.put(key_for(target), target.version, body, ttl_for(route.cache, settings_));
  return json_response(200, with_link_parameters(std::move(body), unknown));
}

http::Response App::readiness() const {
  std::string out;
  JsonWriter w(out);
  bool ready = true;
  std::string store_state = "ok";
  try {
    check_store_();
  } catch (const std::exception&) {
    ready = false;
    store_state = "unavailable";
  }
  w.begin_object()
      .field("status", ready ? "ready" : "unavailable")
      .field("store", std::string_view(store_state))
      .field("cache", settings_.cache_enabled ? cache_.state() : std::string_view("disabled"))
      .end_object();
  http::Response r = json_response(ready ? 200 : 503, std::move(out));
  if (!ready) r.set_header("Retry-After", "5");
  return r;
}

}  // namespace contacts::api
