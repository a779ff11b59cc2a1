// Store: the durable source of truth for contacts (and, later, users and import jobs).
// Reads for the API go through the read index (index/), which is loaded from a Store.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "model/contact.h"

namespace contacts {

// A user who can sign in. Only a salted, slow hash of the password is ever stored.
struct UserRecord {
  int64_t id = 0;
  std::string username;
  std::string password_hash;
  bool is_staff = false;  // admin: may use the import endpoints
  bool is_active = true;
};

struct UpsertCounts {
  uint64_t inserted = 0;
  uint64_t updated = 0;
};

// Safe for concurrent use from several threads: writes are serialised inside the store.
// Failures throw std::runtime_error with a message for logs (never shown to clients).
class Store {
 public:
  virtual ~Store() = default;

  // Writes `rows` in one transaction. A row whose lower-cased (case-folded) non-empty email
  // matches an existing contact replaces every field of it (same id and created_at, new
  // updated_at); other rows become new contacts with fresh ids. Rows are applied in order,
  // so a later row of the same batch wins. `on_commit` runs inside the transaction (for
  // job checkpoints), and its failure rolls the batch back.
  virtual UpsertCounts upsert_batch(std::span<const ContactValues> rows, int64_t now_us,
                                    const std::function<void()>& on_commit = {}) = 0;

  // Calls `fn` for every contact with version > `since_version`, in id order.
  virtual void scan(uint64_t since_version, const std::function<void(Contact&&)>& fn) const = 0;

  // A number that grows with every committed write of contacts.
  virtual uint64_t data_version() const = 0;

  virtual uint64_t count() const = 0;

  // Creates `username`, or replaces the password hash and staff flag of the existing user
  // of that name. Returns the user's id.
  virtual int64_t save_user(const std::string& username, const std::string& password_hash,
                            bool is_staff) = 0;
  // The user named `username` (exact match), or nullopt.
  virtual std::optional<UserRecord> find_user(std::string_view username) const = 0;
};

}  // namespace contacts
