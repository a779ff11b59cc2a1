// The stores the conformance suite runs on, each opened on a clean database.
#pragma once

#include <memory>
#include <string>

#include "store/store.h"

namespace contacts::conformance {

// One backend under test. open() hands out a store on the backend's current database;
// wipe() empties it completely (schema included), as if nothing had ever been written.
class StoreBackend {
 public:
  virtual ~StoreBackend() = default;
  virtual std::unique_ptr<Store> open() = 0;
  // Deletes every contact behind the store's back (ids must still never be reused).
  virtual void delete_all_contacts() = 0;
  virtual void wipe() = 0;
};

// "sqlite" or "postgres". Throws std::runtime_error when the backend is unavailable
// (for postgres: no CONTACTS_TEST_PG_ENV file naming CONTACTS_TEST_DATABASE_URL).
std::unique_ptr<StoreBackend> make_backend(const std::string& name, const std::string& test_name);

// CONTACTS_TEST_DATABASE_URL from the file named by CONTACTS_TEST_PG_ENV; throws when missing.
std::string postgres_test_url();

}  // namespace contacts::conformance
