// ContactReader: every read the API makes, asked as *what* (typed queries), never as SQL.
// Implemented by the in-memory read index (index/); a store-backed implementation can stand
// behind the same interface.
#pragma once

#include <cstdint>
#include <memory>
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

// Every contact matching a query, in the query's ordering, a few at a time (exports). It reads
// one consistent state of the data from start to end, whatever is written meanwhile. Used by
// one thread at a time; it may hold resources (a snapshot, a database connection) until
// destroyed.
class ContactStream {
 public:
  virtual ~ContactStream() = default;
  // Replaces `out` with the next contacts: at most `max_rows`, possibly none when many rows
  // were skipped (each call does a bounded amount of work). Returns false once every contact
  // has been handed out (`out` then holds the last ones, if any). Throws what the reader's
  // other methods throw.
  virtual bool next(std::vector<Contact>& out, size_t max_rows) = 0;
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
  // Every contact matching `q.filter` in `q.ordering` (ties by id, as list() orders them);
  // pagination fields of `q` are ignored. Without meta_data unless `q.include_meta`.
  virtual std::unique_ptr<ContactStream> stream(const ListQuery& q) const = 0;
  // Changes whenever the data seen by readers changes (used in cache keys).
  virtual uint64_t generation() const = 0;
  // The store's data_version that readers see at least (every write committed up to it).
  virtual uint64_t data_version() const = 0;
};

}  // namespace contacts
