#include "store_backend.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "store/postgres/pg_handle.h"
#include "store/postgres/postgres_store.h"
#include "store/sqlite/sqlite_handle.h"
#include "store/sqlite/sqlite_store.h"

namespace contacts::conformance {
namespace {

class SqliteBackend final : public StoreBackend {
 public:
  explicit SqliteBackend(const std::string& test_name)
      : dir_(std::filesystem::temp_directory_path() /
             ("contacts_conformance_" + std::to_string(::getpid()) + "_" + test_name)) {
    wipe();
  }
  ~SqliteBackend() override { std::filesystem::remove_all(dir_); }
  std::unique_ptr<Store> open() override { return std::make_unique<SqliteStore>(dir_.string()); }
  void delete_all_contacts() override {
    auto db = sqlite::open_database((dir_ / "contacts.db").string());
    sqlite::exec(db.get(), "DELETE FROM contacts;");
  }
  void wipe() override { std::filesystem::remove_all(dir_); }

 private:
  std::filesystem::path dir_;
};

class PostgresBackend final : public StoreBackend {
 public:
  PostgresBackend() : url_(postgres_test_url()) { wipe(); }
  std::unique_ptr<Store> open() override { return std::make_unique<PostgresStore>(url_); }
  void delete_all_contacts() override { pg::exec(pg::connect(url_).get(), "DELETE FROM contacts"); }
  void wipe() override {
    pg::exec(pg::connect(url_).get(),
             "DROP TABLE IF EXISTS contacts, store_meta, users, import_jobs, schema_migrations "
             "CASCADE");
  }

 private:
  std::string url_;
};

}  // namespace

std::string postgres_test_url() {
  const char* env_path = std::getenv("CONTACTS_TEST_PG_ENV");
  if (!env_path || !*env_path) {
    throw std::runtime_error(
        "CONTACTS_TEST_PG_ENV is not set (run through ctest with the "
        "postgres fixture)");
  }
  std::ifstream in(env_path);
  if (!in) throw std::runtime_error(std::string("cannot read ") + env_path);
  const std::string key = "CONTACTS_TEST_DATABASE_URL=";
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(key, 0) == 0) return line.substr(key.size());
  }
  throw std::runtime_error(std::string(env_path) + " has no CONTACTS_TEST_DATABASE_URL");
}

std::unique_ptr<StoreBackend> make_backend(const std::string& name, const std::string& test_name) {
  if (name == "sqlite") return std::make_unique<SqliteBackend>(test_name);
  if (name == "postgres") return std::make_unique<PostgresBackend>();
  throw std::invalid_argument("unknown backend " + name);
}

}  // namespace contacts::conformance
