// ContactReader: every read the API makes, asked as *what* (typed queries), never as SQL.
// Implemented by the in-memory read index (index/); a store-backed implementation can stand
// behind the same interface.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "model/contact.h"
#include "query/contact_query.h"

namespace contacts {

struct ListPage {
  std::vector<Contact> rows;
  std::optional<CursorToken> next;      // cursor strategy: set when a next page exists
  std::optional<CursorToken> previous;  // cursor strategy: set when a previous page exists
  bool has_more = false;                // limit-offset strategy: rows exist past this page
};

struct FieldRow {
  int64_t id;
  std::string value;
};

struct FieldPage {
  std::vector<FieldRow> rows;
  bool has_more = false;
};

struct ValueCount {
  std::string value;
  uint64_t total;
};

struct AnalyticsSnapshot {
  uint64_t total_contacts = 0;
  std::vector<ValueCount> top_countries;
  std::vector<ValueCount> top_industries;
};

// Thread-safe: every method may be called concurrently from several threads.
class ContactReader {
 public:
  virtual ~ContactReader() = default;
  // One page of contacts matching `q`, in its ordering.
  virtual ListPage list(const ListQuery& q) const = 0;
  // Exact number of contacts matching `filter`.
  virtual uint64_t count(const ContactFilter& filter) const = 0;
  // The contact with this id, or nullopt.
  virtual std::optional<Contact> get(int64_t id) const = 0;
  virtual AnalyticsSnapshot analytics(const AnalyticsQuery& q) const = 0;
  virtual FieldPage field_values(const FieldQuery& q) const = 0;
  // Changes whenever the data seen by readers changes (used in cache keys).
  virtual uint64_t generation() const = 0;
  // The store's data_version that readers see at least (every write committed up to it).
  virtual uint64_t data_version() const = 0;
};

}  // namespace contacts
