// The admin import endpoints: streamed upload, job status, errors download (contract section 8).
#pragma once

#include <functional>
#include <string>

#include "api/auth_handlers.h"
#include "api/freshness.h"
#include "api/request_context.h"
#include "config/settings.h"
#include "http/server.h"
#include "store/store.h"

namespace contacts::api {

// Thread-safe.
class ImportEndpoints {
 public:
  // `on_queued` runs after a job is created (wakes a local worker); may be empty. A completed
  // job's status read tells `freshness` its data_version (Freshness::may_say_completed).
  ImportEndpoints(const Settings& settings, Store& store, Freshness& freshness,
                  std::function<void()> on_queued);

  // For POST /api/contacts/import/: checks the admin token and the content type before any
  // byte of the body is read; streams the `file` part to a new file in the uploads directory.
  // Throws ApiError to reject the request.
  http::BodyRoute route_upload(const http::Request& head) const;
  // POST /api/contacts/import/ once the body is in: 201 {"job_id": N} or a 400/413.
  http::Response finish_upload(const http::Request& request) const;
  // GET /api/contacts/import/{id}/ (the caller has checked the admin token).
  std::string job_status(const RequestContext& ctx, int64_t id) const;
  // GET /api/contacts/import/{id}/errors/ (the caller has checked the admin token).
  http::Response job_errors(int64_t id) const;

 private:
  const Settings& settings_;
  Store& store_;
  Freshness& freshness_;
  std::function<void()> on_queued_;
  std::string uploads_dir_;
};

}  // namespace contacts::api
