#include "analytics/livy_engine.h"

#include <nlohmann/json.hpp>
#include <thread>

namespace contacts::analytics {
namespace {

using nlohmann::json;

json parse_json(const std::string& body, const char* what) {
  try {
    return json::parse(body);
  } catch (const json::exception& e) {
    throw EngineError(Failure::malformed, std::string("Livy ") + what + ": not JSON");
  }
}

std::string cell_text(const json& v) {
  if (v.is_null()) return "";
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_unsigned()) return std::to_string(v.get<uint64_t>());
  if (v.is_number_integer()) return std::to_string(v.get<int64_t>());
  throw EngineError(Failure::malformed, "Livy statement: a value of an unexpected type");
}

// Pauses before the next poll: 20 ms growing to 500 ms, never past `deadline`.
void pause(std::chrono::milliseconds& step, Clock::time_point deadline) {
  const auto left = deadline - Clock::now();
  if (left <= Clock::duration::zero()) throw EngineError(Failure::timeout, "Livy: timed out");
  std::this_thread::sleep_for(std::min<Clock::duration>(step, left));
  step = std::min(step * 2, std::chrono::milliseconds(500));
}

}  // namespace

namespace {

// livy_statement_rows() of a parsed statement.
Rows statement_rows(const json& doc) {
  try {
    const json& output = doc.at("output");
    const std::string status = output.at("status").get<std::string>();
    if (status == "error") {
      throw EngineError(Failure::error,
                        "Livy statement failed: " + output.value("ename", std::string()) + ": " +
                            output.value("evalue", std::string()).substr(0, 500));
    }
    if (status != "ok") throw EngineError(Failure::malformed, "Livy statement: status " + status);
    const json& result = output.at("data").at("application/json");
    const size_t columns = result.at("schema").at("fields").size();
    Rows rows;
    for (const json& row : result.at("data")) {
      if (!row.is_array() || row.size() != columns) {
        throw EngineError(Failure::malformed, "Livy statement: a row unlike the schema");
      }
      std::vector<std::string> cells;
      for (const json& v : row) cells.push_back(cell_text(v));
      rows.push_back(std::move(cells));
    }
    return rows;
  } catch (const json::exception& e) {
    throw EngineError(Failure::malformed, std::string("Livy statement: ") + e.what());
  }
}

}  // namespace

Rows livy_statement_rows(const std::string& statement_json) {
  return statement_rows(parse_json(statement_json, "statement"));
}

LivyEngine::LivyEngine(const Settings& settings)
    : settings_(settings), url_(http::parse_url(settings.livy_url)) {}

namespace {

// One call to Livy; ClientError becomes EngineError; any status but 2xx an error (404:
// `missing` is set, for the caller to forget the session).
json livy_call(const http::Url& url, std::string_view method, const std::string& path,
               const std::string& body, Clock::time_point deadline, bool* missing = nullptr) {
  http::ClientResponse r;
  try {
    r = http::request(url.endpoint, method, url.prefix + path, body, deadline);
  } catch (const http::ClientError& e) {
    throw EngineError(e.timed_out() ? Failure::timeout : Failure::unavailable,
                      std::string("Livy: ") + e.what());
  }
  if (r.status == 404 && missing) *missing = true;
  if (r.status < 200 || r.status > 299) {
    throw EngineError(Failure::error, std::string("Livy ") + std::string(method) + " " + path +
                                          ": HTTP " + std::to_string(r.status));
  }
  return parse_json(r.body, path.c_str());
}

int64_t id_of(const json& doc, const char* what) {
  const auto it = doc.find("id");
  if (it == doc.end() || !it->is_number_integer()) {
    throw EngineError(Failure::malformed, std::string("Livy ") + what + ": no id");
  }
  return it->get<int64_t>();
}

std::string state_of(const json& doc) {
  const auto it = doc.find("state");
  if (it == doc.end() || !it->is_string()) throw EngineError(Failure::malformed, "Livy: no state");
  return it->get<std::string>();
}

}  // namespace

int64_t LivyEngine::session(Clock::time_point deadline) {
  std::optional<int64_t> id;
  {
    const std::lock_guard lock(mutex_);
    id = session_;
  }
  if (!id) {
    const json created = livy_call(url_, "POST", "/sessions", R"({"kind":"sql"})", deadline);
    id = id_of(created, "POST /sessions");
    const std::lock_guard lock(mutex_);
    session_ = id;
  }
  const std::string path = "/sessions/" + std::to_string(*id);
  auto step = std::chrono::milliseconds(20);
  for (;;) {
    bool missing = false;
    json doc;
    try {
      doc = livy_call(url_, "GET", path, "", deadline, &missing);
    } catch (const EngineError&) {
      if (missing) forget_session(*id);
      throw;
    }
    const std::string state = state_of(doc);
    if (state == "idle" || state == "busy") return *id;  // busy: statements queue
    if (state != "not_started" && state != "starting") {
      forget_session(*id);
      throw EngineError(Failure::error, "Livy session " + std::to_string(*id) + " is " + state);
    }
    pause(step, deadline);
  }
}

void LivyEngine::forget_session(int64_t id) {
  const std::lock_guard lock(mutex_);
  if (session_ == id) session_.reset();
}

Rows LivyEngine::run_statement(int64_t session, const std::string& sql, Clock::time_point deadline) {
  const std::string base = "/sessions/" + std::to_string(session) + "/statements";
  bool missing = false;
  try {
    const json created =
        livy_call(url_, "POST", base, json{{"code", sql}, {"kind", "sql"}}.dump(), deadline, &missing);
    const std::string path = base + "/" + std::to_string(id_of(created, "POST statements"));
    auto step = std::chrono::milliseconds(20);
    for (;;) {
      const json doc = livy_call(url_, "GET", path, "", deadline, &missing);
      const std::string state = state_of(doc);
      if (state == "available") return statement_rows(doc);
      if (state != "waiting" && state != "running") {
        throw EngineError(Failure::error, "Livy statement " + state);
      }
      pause(step, deadline);
    }
  } catch (const EngineError&) {
    if (missing) forget_session(session);
    throw;
  }
}

AnalyticsSnapshot LivyEngine::compute(uint32_t limit, Clock::time_point deadline) {
  for (int attempt = 0;; ++attempt) {
    const int64_t id = session(deadline);
    try {
      return analytics_from_sql(settings_, limit, [&](const std::string& sql) {
        return run_statement(id, sql, deadline);
      });
    } catch (const EngineError&) {
      // Livy forgot the session (restarted, or it timed out idle): once more, in a new one.
      const std::lock_guard lock(mutex_);
      if (attempt > 0 || session_ == id) throw;
    }
  }
}

}  // namespace contacts::analytics
