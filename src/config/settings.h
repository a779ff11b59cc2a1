// Every CONTACTS_* setting, read once from the environment and validated.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace contacts {

struct Settings {
  std::string data_dir = "./data";
  std::string host = "127.0.0.1";
  uint16_t port = 8000;
  unsigned threads = 0;  // 0 = number of cores
  // Threads answering reads (and their queue) off the HTTP threads; password checks get two.
  unsigned read_threads = 4;

  bool cache_enabled = true;
  int64_t list_cache_ttl_s = 60;
  int64_t field_cache_ttl_s = 300;
  int64_t analytics_cache_ttl_s = 300;
  size_t cache_max_entries = 10000;
  size_t cache_max_bytes = 256u << 20;  // in-process cache: keys and bodies

  // PostgreSQL (libpq URI or key=value string); "" = the embedded SQLite store in data_dir.
  std::string database_url;
  std::string replica_url;  // "" = no read replica
  int64_t replica_max_lag_ms = 5000;
  size_t database_pool_size = 8;  // connections per process to each database

  // Shared response cache; "" = an in-process cache per instance.
  std::string redis_url;
  int64_t redis_timeout_ms = 10;  // connect and reply timeout; slower counts as down
  std::string redis_key_prefix = "contacts";  // namespace of every key

  int64_t count_timeout_ms = 10000;
  int64_t query_timeout_ms = 10000;  // the budget of any read (contract section 11)
  bool csv_formula_guard = false;    // exports and errors files: risky cells get a leading '
  bool default_replica_read = false;
  std::vector<std::string> cors_allowed_origins;  // "*" allowed; empty = CORS off
  bool trust_proxy = false;
  bool access_log = true;  // one JSON line per answered request on stderr

  std::string secret_key;  // "" = generated once and kept in the data directory
  int64_t access_token_minutes = 30;
  int64_t refresh_token_days = 1;
  bool reads_require_auth = false;

  uint64_t max_upload_bytes = 2ULL * 1024 * 1024 * 1024;
  unsigned import_workers = 1;  // inside `serve`; 0 = none
  int64_t import_lease_seconds = 15;  // a job whose worker stops heartbeating is resumed after it
  // How often an idle worker looks for jobs queued by other processes. On PostgreSQL a queued
  // job wakes idle workers at once (NOTIFY); this poll is the fallback for a missed notice.
  int64_t import_poll_ms = 1000;

  // GET /api/contacts/analytics/ (docs/operations.md, "Analytics engines"): computed by the
  // store (database), or by Spark (Thrift server or Livy) or Hadoop, falling back to the store
  // when the engine fails or takes longer than analytics_timeout_ms.
  enum class AnalyticsEngine { database, spark, hadoop };
  AnalyticsEngine analytics_engine = AnalyticsEngine::database;
  std::string livy_url;     // "http://host:port[/prefix]"; "" = not configured
  std::string thrift_host;  // HiveServer2 / Spark Thrift Server "host:port"; "" = not configured
  enum class ThriftAuth { nosasl, plain };  // hive.server2.authentication NOSASL, or NONE/LDAP
  ThriftAuth thrift_auth = ThriftAuth::nosasl;
  std::string thrift_user = "contacts";  // SASL PLAIN user (and the session's user name)
  std::string thrift_password;           // SASL PLAIN password; never logged
  std::string hive_database = "default";
  std::string hive_table = "contacts";
  std::string hadoop_bin;      // the `hadoop` executable
  std::string hadoop_job_jar;  // the analytics job (docs/operations.md: its output format)
  int64_t analytics_timeout_ms = 30000;
  // The job settings (CONTACTS_HADOOP_BIN and CONTACTS_HADOOP_JOB_JAR) are both present.
  bool hadoop_job_configured() const { return !hadoop_bin.empty() && !hadoop_job_jar.empty(); }

  // Reads the process environment. Throws std::invalid_argument naming the variable when a
  // value is invalid.
  static Settings from_environment();
};

// CONTACTS_PASSWORD, for the create-admin/create-user commands; nullopt when unset.
std::optional<std::string> password_from_environment();

}  // namespace contacts
