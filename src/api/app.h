// The HTTP application: routing, request ids, CORS, errors, response cache, handlers.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "api/auth_handlers.h"
#include "api/freshness.h"
#include "api/import_handlers.h"
#include "api/read_router.h"
#include "api/request_context.h"
#include "api/telemetry.h"
#include "cache/response_cache.h"
#include "config/settings.h"
#include "http/server.h"
#include "query/reader.h"
#include "util/work_pool.h"

namespace contacts::analytics {
class EngineRunner;
}

namespace contacts::api {

struct RouteMatch;

// A route the server answers, as the OpenAPI document names it.
struct RouteTemplate {
  std::string path;                  // e.g. "/api/contacts/{id}/"; field endpoints one by one
  std::vector<std::string> methods;  // e.g. {"GET", "POST"}; HEAD and OPTIONS go without saying
};

// Every route of the routing table, in its order. Thread-safe.
std::vector<RouteTemplate> route_templates();

// Thread-safe: handle() is called concurrently from the server's threads.
class App {
 public:
  // `check_store` throws when the store does not answer (GET /readyz). Without `telemetry`,
  // GET /metrics answers 404 and observe() does nothing. `freshness` learns the published
  // version the cache reports with each lookup and judges cached answers.
  App(const Settings& settings, ReadRouter& router, Freshness& freshness, Authenticator& auth,
      const ImportEndpoints& imports, ResponseCache& cache, std::function<void()> check_store,
      const Telemetry* telemetry = nullptr);
  ~App();
  // Never throws: every failure becomes the contract's JSON error. Reads and logins come back
  // deferred (http::Response::deferred): they run on the App's pools, not the caller's thread.
  http::Response handle(const http::Request& request);
  // Decides, from the head alone, whether a request body is streamed (uploads) or rejected
  // before it is read. For http::ServerOptions::route_body. Never throws.
  http::BodyRoute route_body(const http::Request& head);
  // Records an answered request under its route template. For http::ServerOptions::on_exchange.
  void observe(const http::Exchange& exchange) const;

 private:
  // The answer, on the calling thread: dispatch, errors to JSON, finish. `route` is what
  // match_route() made of `path` (matched once per request, in handle()).
  http::Response respond(const http::Request& request, const std::optional<RouteMatch>& route,
                         const std::string& path);
  http::Response dispatch(const http::Request& request, const std::optional<RouteMatch>& route,
                          const std::string& path);
  // A read route: cache lookup, reader choice, answer, cache fill.
  http::Response answer_read(const RouteMatch& route, const RequestContext& ctx,
                             bool want_replica);
  // What a cache lookup tells of the published version (freshness.h, rules 5 and 7); true
  // when it moved (pick the reader again).
  bool learn_published(const CacheLookup& lookup);
  http::Response readiness() const;
  // Request id and CORS headers of every answer, and the route that answered (Response::route,
  // which observe() reports): each request's route is matched once, in handle(), or for an
  // upload in route_body(), from its head.
  void finish(const http::Request& request, http::Response& response,
              const std::optional<RouteMatch>& route) const;
  const Settings& settings_;
  ReadRouter& router_;
  Freshness& freshness_;
  Authenticator& auth_;
  const ImportEndpoints& imports_;
  ResponseCache& cache_;
  std::function<void()> check_store_;
  const Telemetry* telemetry_;
  std::unique_ptr<WorkPool> read_pool_;      // reads (index, SQL, cache lookups)
  std::unique_ptr<WorkPool> password_pool_;  // logins: Argon2id, 64 MiB each
  // CONTACTS_ANALYTICS_ENGINE's engine, on threads of its own; nullptr: the store answers.
  std::unique_ptr<analytics::EngineRunner> analytics_engine_;
};

}  // namespace contacts::api
