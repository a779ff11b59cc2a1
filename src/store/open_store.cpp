#include "store/open_store.h"

#include "store/postgres/postgres_store.h"
#include "store/sqlite/sqlite_store.h"

namespace contacts {

std::unique_ptr<Store> open_store(const Settings& settings, StoreUser user) {
  if (!settings.database_url.empty()) {
    return std::make_unique<PostgresStore>(settings.database_url, settings.database_pool_size);
  }
  SqliteOptions options;
  if (user == StoreUser::server) options.write_cache_bytes = int64_t{32} << 20;
  return std::make_unique<SqliteStore>(settings.data_dir, options);
}

const char* store_kind(const Settings& settings) {
  return settings.database_url.empty() ? "sqlite" : "postgresql";
}

}  // namespace contacts
