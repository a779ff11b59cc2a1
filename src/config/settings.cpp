#include "config/settings.h"

#include <algorithm>

#include <charconv>
#include <cstdlib>
#include <stdexcept>
#include <thread>

#include "util/text.h"

namespace contacts {
namespace {

const char* env(const char* name) {
  const char* v = std::getenv(name);
  return (v && *v) ? v : nullptr;
}

int64_t read_int(const char* name, int64_t fallback, int64_t min, int64_t max) {
  const char* v = env(name);
  if (!v) return fallback;
  std::string_view s = text::trim(v);
  int64_t out = 0;
  auto res = std::from_chars(s.data(), s.data() + s.size(), out);
  if (res.ec != std::errc() || res.ptr != s.data() + s.size() || out < min || out > max) {
    throw std::invalid_argument(std::string(name) + ": expected an integer between " +
                                std::to_string(min) + " and " + std::to_string(max) +
                                ", got '" + v + "'");
  }
  return out;
}

bool read_bool(const char* name, bool fallback) {
  const char* v = env(name);
  if (!v) return fallback;
  const std::string s = text::ascii_lower(text::trim(v));
  if (s == "true" || s == "1" || s == "yes" || s == "on") return true;
  if (s == "false" || s == "0" || s == "no" || s == "off") return false;
  throw std::invalid_argument(std::string(name) + ": expected true or false, got '" + v + "'");
}

std::string read_string(const char* name, std::string fallback) {
  const char* v = env(name);
  return v ? std::string(v) : fallback;
}

// A Hive identifier we put into SQL: letters, digits and '_' only.
std::string read_identifier(const char* name, std::string fallback) {
  std::string v = read_string(name, std::move(fallback));
  for (char c : v) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_';
    if (!ok) {
      throw std::invalid_argument(std::string(name) + ": letters, digits and '_' only, got '" +
                                  v + "'");
    }
  }
  return v;
}

// CONTACTS_ANALYTICS_ENGINE and the settings of its engine; combinations that cannot work
// stop the program.
void read_analytics_settings(Settings& s) {
  using Engine = Settings::AnalyticsEngine;
  const std::string engine = text::ascii_lower(text::trim(read_string("CONTACTS_ANALYTICS_ENGINE", "database")));
  if (engine == "database") {
    s.analytics_engine = Engine::database;
  } else if (engine == "spark") {
    s.analytics_engine = Engine::spark;
  } else if (engine == "hadoop") {
    s.analytics_engine = Engine::hadoop;
  } else {
    throw std::invalid_argument("CONTACTS_ANALYTICS_ENGINE: expected database, spark or hadoop, got '" +
                                engine + "'");
  }
  // Their syntax is checked by the components that use them (api/settings_check.h).
  s.livy_url = read_string("CONTACTS_LIVY_URL", "");
  s.thrift_host = read_string("CONTACTS_THRIFT_HOST", "");
  const std::string auth = text::ascii_lower(text::trim(read_string("CONTACTS_THRIFT_AUTH", "nosasl")));
  if (auth == "nosasl") {
    s.thrift_auth = Settings::ThriftAuth::nosasl;
  } else if (auth == "plain") {
    s.thrift_auth = Settings::ThriftAuth::plain;
  } else {
    throw std::invalid_argument("CONTACTS_THRIFT_AUTH: expected nosasl or plain, got '" + auth + "'");
  }
  s.thrift_user = read_string("CONTACTS_THRIFT_USER", s.thrift_user);
  s.thrift_password = read_string("CONTACTS_THRIFT_PASSWORD", "");
  s.hive_database = read_identifier("CONTACTS_HIVE_DATABASE", s.hive_database);
  s.hive_table = read_identifier("CONTACTS_HIVE_TABLE", s.hive_table);
  s.hadoop_bin = read_string("CONTACTS_HADOOP_BIN", "");
  s.hadoop_job_jar = read_string("CONTACTS_HADOOP_JOB_JAR", "");
  s.analytics_timeout_ms =
      read_int("CONTACTS_ANALYTICS_TIMEOUT_MS", s.analytics_timeout_ms, 1, 3'600'000);
  if (s.analytics_engine == Engine::spark) {
    if (s.thrift_host.empty() && s.livy_url.empty()) {
      throw std::invalid_argument(
          "CONTACTS_ANALYTICS_ENGINE: spark needs CONTACTS_THRIFT_HOST (Spark Thrift Server) or "
          "CONTACTS_LIVY_URL (Livy)");
    }
    if (!s.thrift_host.empty() && !s.livy_url.empty()) {
      throw std::invalid_argument(
          "CONTACTS_LIVY_URL: spark runs through one of CONTACTS_THRIFT_HOST and "
          "CONTACTS_LIVY_URL; unset the other");
    }
  }
  if (s.analytics_engine == Engine::hadoop) {
    if (s.hadoop_bin.empty() != s.hadoop_job_jar.empty()) {
      throw std::invalid_argument(s.hadoop_bin.empty()
                                      ? "CONTACTS_HADOOP_BIN: the job needs it beside CONTACTS_HADOOP_JOB_JAR"
                                      : "CONTACTS_HADOOP_JOB_JAR: the job needs it beside CONTACTS_HADOOP_BIN");
    }
    if (!s.hadoop_job_configured() && s.thrift_host.empty()) {
      throw std::invalid_argument(
          "CONTACTS_ANALYTICS_ENGINE: hadoop needs CONTACTS_HADOOP_BIN and CONTACTS_HADOOP_JOB_JAR "
          "(a job) or CONTACTS_THRIFT_HOST (HiveServer2)");
    }
  }
}

}  // namespace

Settings Settings::from_environment() {
  Settings s;
  s.data_dir = read_string("CONTACTS_DATA_DIR", s.data_dir);
  s.host = read_string("CONTACTS_HOST", s.host);
  s.port = static_cast<uint16_t>(read_int("CONTACTS_PORT", s.port, 0, 65535));
  const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  s.threads = static_cast<unsigned>(read_int("CONTACTS_THREADS", cores, 1, 1024));
  s.read_threads = static_cast<unsigned>(
      read_int("CONTACTS_READ_THREADS", std::max<int64_t>(4, 2 * int64_t{cores}), 1, 1024));
  s.cache_enabled = read_bool("CONTACTS_CACHE_ENABLED", s.cache_enabled);
  s.list_cache_ttl_s = read_int("CONTACTS_LIST_CACHE_TTL", s.list_cache_ttl_s, 0, 86400 * 365);
  s.field_cache_ttl_s = read_int("CONTACTS_FIELD_CACHE_TTL", s.field_cache_ttl_s, 0, 86400 * 365);
  s.analytics_cache_ttl_s =
      read_int("CONTACTS_ANALYTICS_CACHE_TTL", s.analytics_cache_ttl_s, 0, 86400 * 365);
  s.cache_max_entries = static_cast<size_t>(
      read_int("CONTACTS_CACHE_MAX_ENTRIES", static_cast<int64_t>(s.cache_max_entries), 1,
               10'000'000));
  s.cache_max_bytes = static_cast<size_t>(
      read_int("CONTACTS_CACHE_MAX_BYTES", static_cast<int64_t>(s.cache_max_bytes), 0,
               int64_t{1} << 40));
  s.database_url = read_string("CONTACTS_DATABASE_URL", read_string("DATABASE_URL", ""));
  for (const char* name :
       {"CONTACTS_DATABASE_REPLICA_URL", "CONTACTS_REPLICA_URL", "DB_CONTACTS_REPLICA_URL"}) {
    if (s.replica_url.empty()) s.replica_url = read_string(name, "");
  }
  if (!s.replica_url.empty() && s.database_url.empty()) {
    throw std::invalid_argument(
        "CONTACTS_DATABASE_REPLICA_URL: a replica needs CONTACTS_DATABASE_URL (the primary)");
  }
  s.replica_max_lag_ms =
      read_int("CONTACTS_REPLICA_MAX_LAG_MS", s.replica_max_lag_ms, 0, 86'400'000);
  s.database_pool_size = static_cast<size_t>(read_int(
      "CONTACTS_DATABASE_POOL_SIZE", static_cast<int64_t>(s.database_pool_size), 1, 1000));
  s.count_timeout_ms = read_int("CONTACTS_COUNT_TIMEOUT_MS", s.count_timeout_ms, 1, 3'600'000);
  s.query_timeout_ms = read_int("CONTACTS_QUERY_TIMEOUT_MS", s.query_timeout_ms, 1, 3'600'000);
  s.csv_formula_guard = read_bool("CONTACTS_CSV_FORMULA_GUARD", s.csv_formula_guard);
  s.redis_url = read_string("CONTACTS_REDIS_URL", "");  // its syntax: api/settings_check.h
  s.redis_timeout_ms = read_int("CONTACTS_REDIS_TIMEOUT_MS", s.redis_timeout_ms, 1, 60'000);
  s.redis_key_prefix = read_string("CONTACTS_REDIS_KEY_PREFIX", s.redis_key_prefix);
  for (char c : s.redis_key_prefix) {
    if (c <= ' ' || c > '~') {
      throw std::invalid_argument("CONTACTS_REDIS_KEY_PREFIX: printable ASCII without spaces only");
    }
  }
  s.default_replica_read = read_bool("CONTACTS_DEFAULT_REPLICA_READ", s.default_replica_read);
  s.trust_proxy = read_bool("CONTACTS_TRUST_PROXY", s.trust_proxy);
  s.access_log = read_bool("CONTACTS_ACCESS_LOG", s.access_log);
  const std::string origins = read_string("CONTACTS_CORS_ALLOWED_ORIGINS", "");
  for (auto part : text::split_trimmed(origins, ',')) {
    s.cors_allowed_origins.emplace_back(part);
  }
  s.secret_key = read_string("CONTACTS_SECRET_KEY", "");
  s.access_token_minutes = read_int("CONTACTS_ACCESS_TOKEN_MINUTES", s.access_token_minutes, 1,
                                    60 * 24 * 365);
  s.refresh_token_days = read_int("CONTACTS_REFRESH_TOKEN_DAYS", s.refresh_token_days, 1, 3650);
  s.reads_require_auth = read_bool("CONTACTS_READS_REQUIRE_AUTH", s.reads_require_auth);
  s.max_upload_bytes = static_cast<uint64_t>(
      read_int("CONTACTS_MAX_UPLOAD_BYTES", static_cast<int64_t>(s.max_upload_bytes), 1,
               INT64_MAX));
  s.import_workers = static_cast<unsigned>(read_int("CONTACTS_IMPORT_WORKERS", 1, 0, 64));
  s.import_lease_seconds =
      read_int("CONTACTS_IMPORT_LEASE_SECONDS", s.import_lease_seconds, 1, 3600);
  s.import_poll_ms = read_int("CONTACTS_IMPORT_POLL_MS", s.import_poll_ms, 50, 3'600'000);
  read_analytics_settings(s);
  return s;
}

std::optional<std::string> password_from_environment() {
  const char* v = std::getenv("CONTACTS_PASSWORD");
  if (!v) return std::nullopt;
  return std::string(v);
}

}  // namespace contacts
