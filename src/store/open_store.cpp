#include "store/open_store.h"

#include "store/postgres/postgres_store.h"
#include "store/sqlite/sqlite_store.h"

namespace contacts {

std::unique_ptr<Store> open_store(const Settings& settings, BackgroundWork background) {
  if (!settings.database_url.empty()) {
    return std::make_unique<PostgresStore>(settings.database_url, settings.database_pool_size,
                                           background);
  }
  return std::make_unique<SqliteStore>(settings.data_dir);
}

const char* store_kind(const Settings& settings) {
  return settings.database_url.empty() ? "sqlite" : "postgresql";
}

}  // namespace contacts
