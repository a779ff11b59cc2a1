// The PostgreSQL schema, as numbered migrations, and the contact column lists it defines.
#pragma once

#include <string>
#include <vector>

#include "model/contact.h"
#include "store/postgres/pg_handle.h"

namespace contacts::pg {

struct Migration {
  int version;
  std::string sql;  // one or more statements, run inside the migrating transaction
  // Optional: fills new columns of existing rows from C++ (after `sql`, same transaction).
  void (*backfill)(PGconn*) = nullptr;
  std::string sql_after_backfill;  // e.g. indexes, built once the columns are filled
};

// Every migration, in increasing version order. Version 1 creates the whole schema; version 2
// adds the folded copies of the text columns (filled by C++, see append_folded_fields) and
// trigram indexes on them.
const std::vector<Migration>& migrations();

// "first_name,...,latest_funding_amount,meta_data": the contact value columns in model order
// (text fields, then number fields, then meta_data). Names come only from the model.
const std::string& contact_value_columns();

// "first_name_folded,...,last_raised_at_folded,search_folded": the columns written from
// append_folded_fields, in its order.
const std::string& folded_columns();

// "<name>_folded": the column holding text::fold of field `f` when that differs from the value.
std::string folded_column(const TextFieldInfo& f);

// SQL expression of the case-folded value of `f` (text::fold of the column). The column
// <name>_folded holds the folded value only when folding changes it, else NULL.
std::string folded_expr(TextField f);

// Column holding, for `search`, the folded values of every in_search field joined with '\n'.
// Search terms never contain whitespace, so a term is a substring of this column exactly when
// it is a substring of one of the fields.
inline constexpr const char* kSearchColumn = "search_folded";
// The collation texts are ordered by (migration 4; util/collation.h is the same order).
inline constexpr const char* kTextCollation = "contacts_unicode";
// The trigram index on kSearchColumn (migration 2 made it), built without blocking writes
// (search_index_builder.h).
inline constexpr const char* kSearchIndexConcurrentlySql =
    "CREATE INDEX CONCURRENTLY IF NOT EXISTS contacts_search_trgm ON contacts USING gin "
    "(search_folded gin_trgm_ops)";
// The B-tree indexes a bulk import into an empty table leaves out until its end (migrations 1
// and 2 made them): each name, and the statement that builds it when it is missing.
struct SecondaryIndex {
  const char* name;
  const char* create_sql;
};
inline constexpr SecondaryIndex kSecondaryIndexes[] = {
    {"contacts_version", "CREATE INDEX IF NOT EXISTS contacts_version ON contacts(version)"},
    {"contacts_created_at_id",
     "CREATE INDEX IF NOT EXISTS contacts_created_at_id ON contacts(created_at, id)"},
    {"contacts_updated_at_id",
     "CREATE INDEX IF NOT EXISTS contacts_updated_at_id ON contacts(updated_at, id)"},
};

// Appends to a COPY text-format line, each preceded by a tab, the values of folded_columns()
// for `v`.
void append_folded_fields(std::string& line, const ContactValues& v);

// "id, <text fields>, <number fields>, meta_data, created_at, updated_at" for a SELECT from
// contacts; without meta the meta_data column is the literal '{}'. Read rows with read_contact.
const std::string& contact_select_columns(bool with_meta);
Contact read_contact(const Result& r, int row);

}  // namespace contacts::pg
