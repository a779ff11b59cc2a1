#include "api/import_handlers.h"

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>

#include "api/api_error.h"
#include "http/multipart.h"
#include "util/json_writer.h"
#include "util/time.h"

namespace contacts::api {
namespace {

http::Response json(int status, std::string body) {
  http::Response r;
  r.status = status;
  r.body = std::move(body);
  r.set_header("Content-Type", "application/json; charset=utf-8");
  return r;
}

// {"file": ["<message>"]}, the field-keyed form the reference uses for upload validation.
http::Response file_error(std::string_view message) {
  std::string out;
  JsonWriter(out).begin_object().key("file").begin_array().value(message).end_array().end_object();
  return json(400, std::move(out));
}

std::string new_upload_name() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::string stamp = timeutil::format_rfc3339(timeutil::now_us());
  std::string compact;
  for (char c : stamp) {
    if (c != '-' && c != ':' && c != '.') compact.push_back(c);
  }
  char suffix[17];
  std::snprintf(suffix, sizeof suffix, "%016llx", static_cast<unsigned long long>(rng()));
  return "contacts_" + compact + "_" + suffix + ".csv";
}

void write_time(JsonWriter& w, std::string_view key, std::optional<int64_t> us) {
  w.key(key);
  if (us) w.value(std::string_view(timeutil::format_rfc3339(*us))); else w.null();
}

}  // namespace

ImportEndpoints::ImportEndpoints(const Settings& settings, Store& store, Freshness& freshness,
                                 std::function<void()> on_queued)
    : settings_(settings), store_(store), freshness_(freshness), on_queued_(std::move(on_queued)),
      uploads_dir_((std::filesystem::path(settings.data_dir) / "uploads").string()) {
  std::filesystem::create_directories(uploads_dir_);
}

http::BodyRoute ImportEndpoints::route_upload(const http::Request& head) const {
  http::BodyRoute route;
  const std::string* type = head.header("content-type");
  const auto boundary = type ? http::multipart_boundary(*type) : std::nullopt;
  if (!boundary) {
    route.reject = file_error("This field is required.");
    return route;
  }
  const std::string path = (std::filesystem::path(uploads_dir_) / new_upload_name()).string();
  auto sink = std::make_unique<http::MultipartFileSink>(*boundary, "file", path);
  if (!sink->opened()) throw std::runtime_error("cannot create upload file: " + sink->error());
  route.sink = std::move(sink);
  return route;
}

http::Response ImportEndpoints::finish_upload(const http::Request& request) const {
  auto* sink = dynamic_cast<http::MultipartFileSink*>(request.streamed_body);
  if (!sink || !sink->complete()) return json(400, json_detail("Malformed multipart body."));
  if (!sink->found_field()) return file_error("This field is required.");
  if (sink->file_bytes() == 0) return file_error("The submitted file is empty.");
  if (sink->file_bytes() > settings_.max_upload_bytes) {
    return json(413, json_detail("Request body too large."));
  }
  const ImportJob job = store_.create_job(sink->path(), timeutil::now_us());
  sink->keep();
  if (on_queued_) on_queued_();
  std::string out;
  JsonWriter(out).begin_object().field("job_id", job.id).end_object();
  return json(201, std::move(out));
}

std::string ImportEndpoints::job_status(const RequestContext& ctx, int64_t id) const {
  auto job = store_.get_job(id);
  if (!job) throw ApiError(404, "Not found.");
  // "completed" only once this server reads the imported rows (the job may have run in
  // another process); see Freshness::may_say_completed.
  if (job->status == "completed" && !freshness_.may_say_completed(job->data_version)) {
    job->status = "running";
    job->message = "Processing";
    job->finished_at_us.reset();
  }
  std::string out;
  JsonWriter w(out);
  w.begin_object();
  w.field("id", job->id);
  w.field("status", std::string_view(job->status));
  w.field("total_rows", job->total_rows);
  w.field("success_count", job->success_count);
  w.field("error_count", job->error_count);
  w.field("upload_file_path", std::string_view(job->upload_file_path));
  w.field("error_file_path", std::string_view(job->error_file_path));
  w.field("message", std::string_view(job->message));
  write_time(w, "started_at", job->started_at_us);
  write_time(w, "finished_at", job->finished_at_us);
  write_time(w, "created_at", job->created_at_us);
  write_time(w, "updated_at", job->updated_at_us);
  w.field("errors_url", std::string_view(ctx.base_url + "/api/contacts/import/" +
                                         std::to_string(job->id) + "/errors/"));
  w.end_object();
  return out;
}

namespace {

// The body of a file, read piece by piece: memory stays at one piece whatever its size.
class FileBody final : public http::BodySource {
 public:
  explicit FileBody(std::ifstream file) : file_(std::move(file)) {}
  bool fill(std::string& out, size_t max_bytes) override {
    out.resize(max_bytes);
    file_.read(out.data(), static_cast<std::streamsize>(max_bytes));
    out.resize(static_cast<size_t>(file_.gcount()));
    if (file_.bad()) throw std::runtime_error("errors file read failed");
    return !file_.eof();
  }

 private:
  std::ifstream file_;
};

}  // namespace

http::Response ImportEndpoints::job_errors(int64_t id) const {
  const auto job = store_.get_job(id);
  if (!job || job->error_file_path.empty()) throw ApiError(404, "Not found.");
  std::ifstream file(job->error_file_path, std::ios::binary);
  if (!file) throw ApiError(404, "Not found.");
  http::Response r;
  r.status = 200;
  r.body_source = std::make_unique<FileBody>(std::move(file));
  r.set_header("Content-Type", "text/csv; charset=utf-8");
  r.set_header("Content-Disposition",
               "attachment; filename=\"job_" + std::to_string(id) + "_errors.csv\"");
  return r;
}

}  // namespace contacts::api
