// Handlers of the contact read endpoints: parse -> query -> reader -> JSON.
#pragma once

#include <chrono>
#include <string>

#include "api/read_router.h"
#include "api/request_context.h"
#include "query/contact_query.h"
#include "query/reader.h"
#include "util/json_writer.h"

namespace contacts::analytics {
class EngineRunner;
}

namespace contacts::api {

// Who answers analytics: an engine (Spark, Hadoop) with the store as its fallback, or the
// store alone.
struct AnalyticsSources {
  analytics::EngineRunner* engine = nullptr;  // nullptr: the store
  bool hadoop_job_configured = false;
  // The time budget of the store's answer after the engine failed (the engine's wait is not
  // taken from it).
  std::chrono::milliseconds fallback_budget{10000};
};

// Each returns a 200 JSON body or throws ApiError.
std::string list_contacts(const RequestContext& ctx, const ReadTarget& target);
std::string retrieve_contact(const ContactReader& reader, int64_t id);
std::string count_contacts(const RequestContext& ctx, const ContactReader& reader);
std::string contact_analytics(const RequestContext& ctx, const ContactReader& reader,
                              const AnalyticsSources& sources);
std::string field_values(const RequestContext& ctx, const ContactReader& reader,
                         FieldEndpoint field);

// Writes the JSON object of one contact (list item or retrieve payload).
void write_contact(JsonWriter& w, const Contact& c, bool with_meta);

}  // namespace contacts::api
