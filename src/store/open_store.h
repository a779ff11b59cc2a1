// Chooses the store from the settings: PostgreSQL when a database URL is set, else the
// embedded SQLite store in the data directory.
#pragma once

#include <memory>

#include "config/settings.h"
#include "store/store.h"

namespace contacts {

// Opens (and migrates) the configured store. Throws std::runtime_error when it cannot.
std::unique_ptr<Store> open_store(const Settings& settings,
                                  BackgroundWork background = BackgroundWork::here);

// "postgresql" or "sqlite", for start-up messages (never the URL: it may hold a password).
const char* store_kind(const Settings& settings);

}  // namespace contacts
