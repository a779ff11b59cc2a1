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
// adds the folded copies of the text columns (filled by C++, see append_folded_fields);
// version 5 drops the stored search column for the search expression (search_expr()).
const std::vector<Migration>& migrations();

// "first_name,...,latest_funding_amount,meta_data": the contact value columns in model order
// (text fields, then number fields, then meta_data). Names come only from the model.
const std::string& contact_value_columns();

// "first_name_folded,...,last_raised_at_folded": the columns written from
// append_folded_fields, in its order.
const std::string& folded_columns();

// "<name>_folded": the column holding text::fold of field `f` when that differs from its
// ASCII lower-casing (a value with letters outside ASCII that fold), else NULL.
std::string folded_column(const TextFieldInfo& f);

// SQL expression of the case-folded value of `f` (text::fold of the column): the column
// <name>_folded, else the value lower-cased as ASCII (lower() under the "C" collation changes
// A-Z only, as text::ascii_lower does). A row written before version 5 may hold its folded
// value although it is the ASCII lower-casing: the expression is the same either way.
std::string folded_expr(TextField f);

// SQL expression, for `search`, of the folded values of every in_search field joined with
// '\n' (only immutable functions, so that the trigram index can be built on it). Search terms
// never contain whitespace, so a term is a substring of it exactly when it is a substring of
// one of the fields. Rows carried it as a column (search_folded, ~270 bytes a row) until
// version 5: the expression spares every import writing it.
const std::string& search_expr();
// The collation texts are ordered by (migration 4; util/collation.h is the same order).
inline constexpr const char* kTextCollation = "contacts_unicode";
// The trigram index on search_expr(), built without blocking writes (search_index_builder.h),
// or at once on an empty table (migrations). kSearchIndex names it.
inline constexpr const char* kSearchIndex = "contacts_search_trgm";
std::string search_index_sql(bool concurrently);
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
// for `v` (mostly \N: only values that fold beyond ASCII lower-casing carry a copy).
void append_folded_fields(std::string& line, const ContactValues& v);

// "id, <text fields>, <number fields>, meta_data, created_at, updated_at" for a SELECT from
// contacts; without meta the meta_data column is the literal '{}'. Read rows with read_contact.
const std::string& contact_select_columns(bool with_meta);
Contact read_contact(const Result& r, int row);

}  // namespace contacts::pg
