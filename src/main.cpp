// contacts-api: one binary, several subcommands.
#include <csignal>
#include <cstdio>
#include <memory>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include <unistd.h>

#include "api/app.h"
#include "api/cli_export.h"
#include "api/freshness.h"
#include "api/settings_check.h"
#include "auth/password.h"
#include "auth/secret_key.h"
#include "cache/redis_cache.h"
#include "cache/response_cache.h"
#include "config/settings.h"
#include "demo/generator.h"
#include "http/server.h"
#include "index/index_reader.h"
#include "index/refresher.h"
#include "index/snapshot_files.h"
#include "ingest/cli_import.h"
#include "ingest/import_jobs.h"
#include "sqlread/pg_reader.h"
#include "store/notice_listener.h"
#include "store/open_store.h"
#include "store/postgres/postgres_store.h"
#include "store/sqlite/sqlite_store.h"
#include "util/time.h"

namespace {

using namespace contacts;

constexpr const char* kUsage =
    "usage: contacts-api <command> [options]\n"
    "  serve [--demo-rows N]                     serve the API (settings from CONTACTS_*)\n"
    "  migrate                                   create or upgrade the PostgreSQL schema\n"
    "  import FILE [--errors ERRORS_CSV]         import a CSV into the store\n"
    "  export [--filter NAME=VALUE ...] --output FILE\n"
    "                                            write the CSV of GET /api/contacts/export/\n"
    "  export --hive-ddl [--location DIR]        print the Hive table over such files\n"
    "  generate --rows N [--seed S] --out FILE   write a demo Apollo-style CSV\n"
    "  worker                                    run import jobs (CONTACTS_IMPORT_WORKERS threads)\n"
    "  create-admin --username NAME              create (or reset) an admin user\n"
    "  create-user --username NAME               create (or reset) a user\n"
    "      the password is read from CONTACTS_PASSWORD or the first line of standard input\n"
    "  set-password --username NAME              a new password (read the same way)\n"
    "  set-admin --username NAME true|false      grant or withdraw admin rights\n"
    "  delete-user --username NAME               delete a user\n"
    "      each takes effect at once: the user's tokens issued before stop working\n";

// Value of `--name VALUE` in args, or `fallback`.
std::string option(const std::vector<std::string>& args, const std::string& name,
                   const std::string& fallback = "") {
  for (size_t i = 0; i + 1 < args.size(); ++i) {
    if (args[i] == name) return args[i + 1];
  }
  return fallback;
}

uint64_t parse_count(const std::string& s, const char* what) {
  if (s.empty() || s.find_first_not_of("0123456789") != std::string::npos) {
    throw std::invalid_argument(std::string(what) + ": expected a non-negative integer");
  }
  return std::stoull(s);
}

std::string default_errors_path(const Settings& settings) {
  const auto dir = std::filesystem::path(settings.data_dir) / "errors";
  std::filesystem::create_directories(dir);
  std::string stamp = timeutil::format_rfc3339(timeutil::now_us());
  for (char& c : stamp) {
    if (c == ':' || c == '.') c = '-';
  }
  return (dir / ("import_" + stamp + "_errors.csv")).string();
}

// The settings, with each component's own check of the values it will be given (settings parse
// values only): a bad value stops every command at start, naming its variable.
Settings load_settings() {
  Settings settings = Settings::from_environment();
  api::check_settings(settings);
  return settings;
}

// The response cache: Redis when CONTACTS_REDIS_URL is set (and caching is on), else in-process.
// Redis keys are "<CONTACTS_REDIS_KEY_PREFIX>:<store id>:...".
std::unique_ptr<ResponseCache> make_cache(const Settings& settings, const Store& store) {
  if (settings.cache_enabled && !settings.redis_url.empty()) {
    char id[17];
    std::snprintf(id, sizeof id, "%016llx", static_cast<unsigned long long>(store.store_id()));
    return std::make_unique<RedisCache>(redis::parse_url(settings.redis_url),
                                        settings.redis_key_prefix + ":" + id,
                                        std::chrono::milliseconds(settings.redis_timeout_ms));
  }
  return std::make_unique<LocalCache>(settings.cache_enabled ? settings.cache_max_entries : 0,
                                      settings.cache_max_bytes);
}

int cmd_generate(const std::vector<std::string>& args) {
  const uint64_t rows = parse_count(option(args, "--rows"), "--rows");
  const uint64_t seed = parse_count(option(args, "--seed", "1"), "--seed");
  const std::string out = option(args, "--out");
  if (out.empty()) throw std::invalid_argument("--out FILE is required");
  std::ofstream file(out, std::ios::binary | std::ios::trunc);
  if (!file) throw std::runtime_error("cannot write " + out);
  demo::generate_csv(rows, seed, file);
  file.close();
  if (!file) throw std::runtime_error("error writing " + out);
  std::printf("wrote %llu rows to %s\n", static_cast<unsigned long long>(rows), out.c_str());
  return 0;
}

constexpr const char* kImportHelp =
    "usage: contacts-api import FILE [--errors PATH]\n"
    "\n"
    "Imports the CSV FILE (an Apollo-style export: header labels or API field names) into the\n"
    "store CONTACTS_DATABASE_URL names, or the embedded one in CONTACTS_DATA_DIR. A row whose\n"
    "e-mail (any case) matches a contact updates it; other rows are new contacts.\n"
    "\n"
    "  --errors PATH  where the rows that fail validation go, as CSV with an `error` column\n"
    "                 (default: CONTACTS_DATA_DIR/errors/import_<time>_errors.csv; written\n"
    "                 only when a row fails)\n"
    "  --help         this text\n"
    "\n"
    "Parsing and writing run on two threads, in batches of 20,000 rows, each committed in one\n"
    "transaction: an interrupted import keeps the batches committed, and running it again is\n"
    "safe (rows are matched by e-mail). Into an empty embedded store, rows load without the\n"
    "e-mail index, which is built at the end. Into an empty PostgreSQL table, rows are copied\n"
    "in without the indexes of reads, built at the end. PostgreSQL's search index of SQL\n"
    "reads (about 90 s a million rows) is left to the services: a running serve or worker\n"
    "builds it as soon as this import ends, or at its next start (`contacts-api migrate`\n"
    "builds it and waits); SQL reads scan meanwhile, with the same answers. The read index\n"
    "of serve does not use it. On a terminal, a progress bar shows the rows\n"
    "done, rows/s and the time left; a summary follows (rows, rows/s, new, updated, errors).\n"
    "Exit status 1 when the file was rejected (no usable header), 0 otherwise.\n";

// Prints `help` when the first argument asks for it.
bool asked_for_help(const std::vector<std::string>& args, const char* help) {
  if (args.empty() || (args[0] != "--help" && args[0] != "-h")) return false;
  std::fputs(help, stdout);
  return true;
}

int cmd_import(const std::vector<std::string>& args) {
  if (asked_for_help(args, kImportHelp)) return 0;
  if (args.empty() || args[0].rfind("--", 0) == 0) {
    throw std::invalid_argument("import FILE [--errors PATH] (see import --help)");
  }
  const Settings settings = load_settings();
  // PostgreSQL's search index (SQL reads only) takes longer than the load: serve and worker
  // build it when this import's notice reaches them, or at their next start.
  const auto store_ptr = open_store(settings, BackgroundWork::left_to_services);
  Store& store = *store_ptr;
  const std::string errors = option(args, "--errors", default_errors_path(settings));
  const auto result = ingest::import_file(store, args[0], errors, /*print_summary=*/true,
                                          settings.csv_formula_guard);
  // Like a finished job: every instance shows the new rows from now on.
  const auto cache = make_cache(settings, store);
  api::Freshness(store, *cache).publish_store_writes();
  return result.failed ? 1 : 0;
}

constexpr const char* kExportHelp =
    "usage: contacts-api export [--filter NAME=VALUE ...] --output FILE\n"
    "       contacts-api export --hive-ddl [--location DIR]\n"
    "\n"
    "Writes every contact matching the filters to FILE as CSV: the same file GET\n"
    "/api/contacts/export/ answers for the same parameters (filters, search, ordering; the\n"
    "list endpoint's names, e.g. --filter country=Germany --filter ordering=-created_at).\n"
    "Streamed in batches from one consistent state of the data; on a terminal, a progress bar\n"
    "shows the rows written. The store is CONTACTS_DATABASE_URL's, or the embedded one in\n"
    "CONTACTS_DATA_DIR (read into memory for the export).\n"
    "\n"
    "  --filter NAME=VALUE  a parameter of the list endpoint (repeatable)\n"
    "  --output FILE        where the CSV goes\n"
    "  --hive-ddl           print the CREATE EXTERNAL TABLE statement for a directory of such\n"
    "                       files, as CONTACTS_HIVE_DATABASE.CONTACTS_HIVE_TABLE, for the\n"
    "                       analytics engines (docs/operations.md, \"Analytics engines\")\n"
    "  --location DIR       that directory (default /warehouse/contacts)\n"
    "  --help               this text\n";

int cmd_export(const std::vector<std::string>& args) {
  if (asked_for_help(args, kExportHelp)) return 0;
  const Settings settings = load_settings();
  bool ddl = false;
  std::string output, location = "/warehouse/contacts";
  std::vector<std::pair<std::string, std::string>> filters;
  for (size_t i = 0; i < args.size(); ++i) {
    const bool has_value = i + 1 < args.size();
    if (args[i] == "--hive-ddl") {
      ddl = true;
    } else if (args[i] == "--output" && has_value) {
      output = args[++i];
    } else if (args[i] == "--location" && has_value) {
      location = args[++i];
    } else if (args[i] == "--filter" && has_value && args[i + 1].find('=') != std::string::npos) {
      const std::string& f = args[++i];
      filters.emplace_back(f.substr(0, f.find('=')), f.substr(f.find('=') + 1));
    } else {
      throw std::invalid_argument("unexpected '" + args[i] + "' (see export --help)");
    }
  }
  if (ddl) {
    std::fputs(api::hive_ddl(settings, location).c_str(), stdout);
    return 0;
  }
  if (output.empty()) throw std::invalid_argument("--output FILE is required (see export --help)");
  const auto store = open_store(settings);
  std::unique_ptr<ContactReader> reader;
  if (!settings.database_url.empty()) {
    reader = std::make_unique<PostgresReader>(settings.database_url, 1, settings.count_timeout_ms);
  } else {
    reader = std::make_unique<index::IndexReader>(index::open_snapshot(*store, ""));
  }
  const uint64_t rows = api::export_to_file(*reader, filters, output, settings.csv_formula_guard,
                                            isatty(STDERR_FILENO) == 1);
  std::printf("exported %llu contacts to %s\n", static_cast<unsigned long long>(rows), output.c_str());
  return 0;
}

std::string username_option(const std::vector<std::string>& args) {
  const std::string username = option(args, "--username");
  if (username.empty() || username.size() > 150) {
    throw std::invalid_argument("--username NAME is required (at most 150 characters)");
  }
  return username;
}

// From CONTACTS_PASSWORD, else the first line of standard input.
std::string read_password() {
  std::string password;
  if (auto from_env = password_from_environment()) {
    password = *from_env;
  } else {
    std::getline(std::cin, password);
    if (!password.empty() && password.back() == '\r') password.pop_back();
  }
  if (password.empty()) throw std::invalid_argument("the password must not be empty");
  return password;
}

int no_such_user(const std::string& username) {
  std::fprintf(stderr, "contacts-api: no user named '%s'\n", username.c_str());
  return 1;
}

int cmd_set_password(const std::vector<std::string>& args) {
  const std::string username = username_option(args);
  const std::string hash = auth::hash_password(read_password());
  const auto store = open_store(load_settings());
  if (!store->update_user(username, hash, std::nullopt)) return no_such_user(username);
  std::printf("password of '%s' changed; its earlier tokens no longer work\n", username.c_str());
  return 0;
}

int cmd_set_admin(const std::vector<std::string>& args) {
  const std::string username = username_option(args);
  const std::string value = args.empty() ? "" : args.back();
  if (value != "true" && value != "false") {
    throw std::invalid_argument("set-admin --username NAME true|false");
  }
  const auto store = open_store(load_settings());
  if (!store->update_user(username, std::nullopt, value == "true")) return no_such_user(username);
  std::printf("'%s' is %s\n", username.c_str(), value == "true" ? "an admin" : "no longer an admin");
  return 0;
}

int cmd_delete_user(const std::vector<std::string>& args) {
  const std::string username = username_option(args);
  const auto store = open_store(load_settings());
  if (!store->delete_user(username)) return no_such_user(username);
  std::printf("user '%s' deleted\n", username.c_str());
  return 0;
}

int cmd_create_user(const std::vector<std::string>& args, bool is_staff) {
  const std::string username = username_option(args);
  const std::string password = read_password();
  const Settings settings = load_settings();
  const auto store = open_store(settings);
  const int64_t id = store->save_user(username, auth::hash_password(password), is_staff);
  std::printf("%s '%s' saved (id %lld)\n", is_staff ? "admin" : "user", username.c_str(),
              static_cast<long long>(id));
  return 0;
}

void load_demo_data(Store& store, const Settings& settings, uint64_t rows) {
  if (rows == 0 || store.count() > 0) return;
  const std::string csv = (std::filesystem::path(settings.data_dir) / "demo_contacts.csv").string();
  std::printf("first start: generating %llu demo contacts...\n",
              static_cast<unsigned long long>(rows));
  std::fflush(stdout);
  {
    std::ofstream file(csv, std::ios::binary | std::ios::trunc);
    demo::generate_csv(rows, 42, file);
  }
  ingest::import_file(store, csv, default_errors_path(settings), /*print_summary=*/true);
  std::filesystem::remove(csv);
}

ingest::JobRunnerOptions job_runner_options(const Settings& settings, unsigned workers,
                                           api::Freshness& freshness) {
  ingest::JobRunnerOptions o;
  o.data_dir = settings.data_dir;
  o.workers = workers;
  o.lease_seconds = settings.import_lease_seconds;
  o.poll_interval = std::chrono::milliseconds(settings.import_poll_ms);
  o.formula_guard = settings.csv_formula_guard;
  o.after_rows_written = [&freshness] { freshness.job_rows_written(); };
  o.before_complete = [&freshness] { freshness.publish_finished_job(); };
  o.on_job_start = [&freshness] { freshness.job_started(); };
  o.on_job_end = [&freshness] { freshness.job_ended(); };
  return o;
}

// `contacts-api worker`: runs import jobs until SIGINT/SIGTERM.
int cmd_worker() {
  const Settings settings = load_settings();
  const auto store_ptr = open_store(settings);
  Store& store = *store_ptr;
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);  // worker threads inherit the mask
  {
    const auto cache = make_cache(settings, store);  // with Redis: finished jobs publish their version
    api::Freshness freshness(store, *cache);
    ingest::JobRunner runner(
        store, job_runner_options(settings, std::max(1u, settings.import_workers), freshness));
    // A CLI import's notice: the search index it left to services (BackgroundWork).
    NoticeListener listener(store, {[&runner] { runner.notify(); },
                                    [&store](uint64_t) { store.resume_background_work(); }});
    std::printf("import worker running (%u threads)\n", std::max(1u, settings.import_workers));
    std::fflush(stdout);
    int sig = 0;
    sigwait(&signals, &sig);
  }
  return 0;
}

// `contacts-api migrate`: applies pending schema migrations (serve, worker and import also do
// it on start; this is for deployments that migrate as a separate step).
int cmd_migrate() {
  const Settings settings = load_settings();
  if (settings.database_url.empty()) {
    SqliteStore store(settings.data_dir);  // creates or upgrades the embedded schema
    std::printf("embedded store in %s is up to date\n", settings.data_dir.c_str());
    return 0;
  }
  PostgresStore store(settings.database_url, 1);
  store.wait_for_background_work();  // a search index a bulk import left to build
  std::printf("postgresql schema is up to date\n");
  return 0;
}

int cmd_serve(const std::vector<std::string>& args) {
  const Settings settings = load_settings();
  const auto store_ptr = open_store(settings);
  Store& store = *store_ptr;
  std::printf("store: %s\n", store_kind(settings));
  load_demo_data(store, settings, parse_count(option(args, "--demo-rows", "0"), "--demo-rows"));
  const auto start = std::chrono::steady_clock::now();
  const std::string snapshot_dir = (std::filesystem::path(settings.data_dir) / "index").string();
  index::IndexReader reader(index::open_snapshot(store, snapshot_dir));
  const double load_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("read index loaded: %u contacts in %.2f s\n", reader.snapshot()->rows, load_s);
  index::RefreshOptions refresh;
  refresh.snapshot_dir = snapshot_dir;
  // A store that announces its writes (both do: store.h) hands their rows to
  // the index as they commit: index/row_feed.h.
  refresh.feed = store.set_commit_listener({});
  index::Refresher refresher(store, reader, refresh);
  if (refresh.feed) {
    store.set_commit_listener([&refresher](const CommittedRows& rows) { refresher.committed(rows); });
  }
  // Destroyed before the refresher: the store stops calling it first.
  const struct StopListening {
    Store& store;
    ~StopListening() { store.set_commit_listener({}); }
  } stop_listening{store};
  const auto cache = make_cache(settings, store);
  std::unique_ptr<PostgresReader> primary_sql, replica;
  if (!settings.database_url.empty()) {
    // Answers reads while the index catches up with an import finished by another process.
    primary_sql = std::make_unique<PostgresReader>(
        settings.database_url, settings.database_pool_size, settings.count_timeout_ms);
  }
  if (!settings.replica_url.empty()) {
    replica = std::make_unique<PostgresReader>(settings.replica_url, settings.database_pool_size,
                                               settings.count_timeout_ms);
  }
  // The published version and who learns of it: api/freshness.h.
  api::Freshness freshness(store, *cache,
                           {&reader, [&refresher] { refresher.refresh_now(); },
                            [&refresher] { refresher.wake(); }, primary_sql != nullptr,
                            [&refresher](bool started) {
                              if (started) {
                                refresher.import_started();
                              } else {
                                refresher.import_ended();
                              }
                            }});
  api::ReadRouter router({reader, primary_sql.get(), replica.get()}, freshness,
                         [&store] { return store.data_version(); },
                         std::chrono::milliseconds(settings.replica_max_lag_ms));
  std::unique_ptr<ingest::JobRunner> runner;
  if (settings.import_workers > 0) {
    runner = std::make_unique<ingest::JobRunner>(
        store, job_runner_options(settings, settings.import_workers, freshness));
  }
  NoticeListener listener(store, {[&runner] {
                                    if (runner) runner->notify();
                                  },
                                  [&freshness, &store](uint64_t version) {
                                    freshness.learn_from_notice(version);
                                    store.resume_background_work();  // a CLI import's
                                  }});
  api::Authenticator authenticator(
      settings, store, auth::load_or_create_secret_key(settings.data_dir, settings.secret_key));
  api::ImportEndpoints imports(settings, store, freshness, [&runner] {
    if (runner) runner->notify();
  });
  const api::Telemetry telemetry(settings.access_log, {&store, &reader, &freshness, &refresher});
  api::App app(settings, router, freshness, authenticator, imports, *cache,
               [&store] { store.data_version(); }, &telemetry);
  http::ServerOptions options;
  options.host = settings.host;
  options.port = settings.port;
  options.threads = settings.threads;
  options.route_body = [&app](const http::Request& head) { return app.route_body(head); };
  options.on_exchange = [&app](const http::Exchange& exchange) { app.observe(exchange); };
  // Multipart framing around the file: the file itself is checked against the exact limit.
  options.max_streamed_body_bytes = settings.max_upload_bytes + 64 * 1024;
  http::serve(
      options, [&app](const http::Request& r) { return app.handle(r); },
      [&](uint16_t port) {
        std::printf("listening on http://%s:%u\n", settings.host.c_str(), port);
        std::fflush(stdout);
      });
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  const std::string command = argv[1];
  const std::vector<std::string> args(argv + 2, argv + argc);
  // A peer that closed its socket (Redis restarting) must be an error, not a fatal signal.
  std::signal(SIGPIPE, SIG_IGN);
  try {
    if (command == "serve") return cmd_serve(args);
    if (command == "import") return cmd_import(args);
    if (command == "generate") return cmd_generate(args);
    if (command == "export") return cmd_export(args);
    if (command == "worker") return cmd_worker();
    if (command == "migrate") return cmd_migrate();
    if (command == "create-admin") return cmd_create_user(args, /*is_staff=*/true);
    if (command == "create-user") return cmd_create_user(args, /*is_staff=*/false);
    if (command == "set-password") return cmd_set_password(args);
    if (command == "set-admin") return cmd_set_admin(args);
    if (command == "delete-user") return cmd_delete_user(args);
    if (command == "--help" || command == "help" || command == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    }
    std::fprintf(stderr, "unknown command '%s'\n%s", command.c_str(), kUsage);
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "contacts-api %s: %s\n", command.c_str(), e.what());
    return 1;
  }
}
