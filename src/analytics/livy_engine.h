// Analytics through Apache Livy's REST API (CONTACTS_LIVY_URL): the SQL of engine.h run as
// statements of a Livy session of kind "sql", created on first use and reused after.
#pragma once

#include <mutex>
#include <optional>
#include <string>

#include "analytics/engine.h"
#include "http/client.h"

namespace contacts::analytics {

class LivyEngine : public Engine {
 public:
  explicit LivyEngine(const Settings& settings);
  std::string_view source() const override { return "spark"; }
  // Throws EngineError. A session Livy no longer knows is forgotten and the call tried once
  // more in a new one; a session that died is forgotten (the next call creates another).
  AnalyticsSnapshot compute(uint32_t limit, Clock::time_point deadline) override;

 private:
  int64_t session(Clock::time_point deadline);  // an idle session's id
  void forget_session(int64_t id);
  Rows run_statement(int64_t session, const std::string& sql, Clock::time_point deadline);
  const Settings settings_;
  const http::Url url_;
  std::mutex mutex_;  // guards session_
  std::optional<int64_t> session_;
};

// The rows of a finished statement's JSON (GET /sessions/{id}/statements/{sid} once its
// state is "available"): output.data["application/json"].data. Throws EngineError (error
// when output.status is "error", malformed when the shape is unexpected).
Rows livy_statement_rows(const std::string& statement_json);

}  // namespace contacts::analytics
