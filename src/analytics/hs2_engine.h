// Analytics through HiveServer2's Thrift protocol (TCLIService.thrift beside this file): the
// Spark Thrift Server (engine spark) or HiveServer2 itself (engine hadoop without a job).
#pragma once

#include <memory>
#include <string>

#include "analytics/engine.h"
#include "config/settings.h"

namespace contacts::analytics {

// A session on CONTACTS_THRIFT_HOST: binary protocol over a plain socket
// (hive.server2.authentication=NOSASL) or over SASL PLAIN framing (CONTACTS_THRIFT_AUTH=plain).
// Every call gives up at `deadline`. Used by one thread. Throws EngineError.
class Hs2Session {
 public:
  Hs2Session(const Settings& settings, Clock::time_point deadline);
  ~Hs2Session();  // closes the session (when the connection still works) and the socket
  Hs2Session(const Hs2Session&) = delete;
  Hs2Session& operator=(const Hs2Session&) = delete;

  // Runs `sql` and fetches all its rows (at most 100,000), then closes the operation.
  Rows query(const std::string& sql);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

class Hs2Engine : public Engine {
 public:
  // `source`: "spark" or "hadoop".
  Hs2Engine(const Settings& settings, std::string source);
  std::string_view source() const override { return source_; }
  AnalyticsSnapshot compute(uint32_t limit, Clock::time_point deadline) override;

 private:
  const Settings settings_;
  const std::string source_;
};

}  // namespace contacts::analytics
