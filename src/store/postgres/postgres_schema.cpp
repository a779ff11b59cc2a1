#include "store/postgres/postgres_schema.h"

#include "model/contact.h"
#include "util/text.h"

namespace contacts::pg {
namespace {

constexpr int kBackfillFetchRows = 5000;
// Migration 1's trigram indexes on raw columns: unused once filters match folded values.
constexpr const char* kRawTrigramColumns[] = {"title", "company", "email", "first_name",
                                              "last_name"};

std::string migration_1() {
  std::string sql =
      "CREATE EXTENSION IF NOT EXISTS pg_trgm;"
      "CREATE TABLE store_meta(key text PRIMARY KEY, value bigint NOT NULL);"
      "INSERT INTO store_meta(key, value) VALUES('data_version', 0);"
      "CREATE TABLE contacts("
      "id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
      "email_key text,";
  for (const auto& f : text_fields()) sql += std::string(f.name) + " text NOT NULL DEFAULT '',";
  for (const auto& f : number_fields()) sql += std::string(f.name) + " bigint,";
  sql +=
      "meta_data jsonb NOT NULL DEFAULT '{}',"
      "created_at bigint NOT NULL,"
      "updated_at bigint NOT NULL,"
      "version bigint NOT NULL);"
      "CREATE UNIQUE INDEX contacts_email_key ON contacts(email_key) WHERE email_key IS NOT NULL;"
      "CREATE INDEX contacts_version ON contacts(version);"
      "CREATE INDEX contacts_created_at_id ON contacts(created_at, id);";
  for (const char* col : kRawTrigramColumns) {
    sql += std::string("CREATE INDEX contacts_") + col + "_trgm ON contacts USING gin (" + col +
           " gin_trgm_ops);";
  }
  sql +=
      "CREATE TABLE users("
      "id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
      "username text NOT NULL UNIQUE,"
      "password_hash text NOT NULL,"
      "is_staff boolean NOT NULL DEFAULT false,"
      "is_active boolean NOT NULL DEFAULT true,"
      "created_at bigint NOT NULL);"
      "CREATE TABLE import_jobs("
      "id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
      "status text NOT NULL,"
      "total_rows bigint NOT NULL DEFAULT 0,"
      "success_count bigint NOT NULL DEFAULT 0,"
      "error_count bigint NOT NULL DEFAULT 0,"
      "errors_file_bytes bigint NOT NULL DEFAULT 0,"
      "upload_file_path text NOT NULL,"
      "error_file_path text NOT NULL DEFAULT '',"
      "message text NOT NULL,"
      "started_at bigint, finished_at bigint,"
      "created_at bigint NOT NULL, updated_at bigint NOT NULL,"
      "worker text NOT NULL DEFAULT '', lease_expires_at bigint NOT NULL DEFAULT 0,"
      "data_version bigint NOT NULL DEFAULT 0);"
      "CREATE INDEX import_jobs_status ON import_jobs(status, id);";
  return sql;
}

std::string migration_2() {
  std::string sql = "ALTER TABLE contacts ";
  for (const auto& f : text_fields()) sql += "ADD COLUMN " + folded_column(f) + " text,";
  sql.back() = ';';
  for (const char* col : kRawTrigramColumns) {
    sql += std::string("DROP INDEX contacts_") + col + "_trgm;";
  }
  return sql;
}

// A keyset index for ordering by updated_at; (created_at, id) exists since migration 1. The
// trigram index came here on a stored search column until version 5 (search_expr()).
std::string migration_2_indexes() {
  return "CREATE INDEX contacts_updated_at_id ON contacts(updated_at, id);";
}

// The stored search column goes (its index with it); the index on search_expr() is built here
// when the table is empty, else by the search index builder in the background (migrate()).
std::string migration_5() {
  std::string create = search_index_sql(false);
  std::string quoted;  // as an SQL string literal
  for (const char ch : create) quoted += ch == '\'' ? std::string("''") : std::string(1, ch);
  return std::string("DROP INDEX IF EXISTS ") + kSearchIndex +
         ";ALTER TABLE contacts DROP COLUMN IF EXISTS search_folded;"
         "DO $$BEGIN IF NOT EXISTS (SELECT 1 FROM contacts) THEN EXECUTE '" +
         quoted + "'; END IF; END$$;";
}

// Computes the folded columns of every existing contact (text::fold has no SQL equivalent):
// reads them through a cursor, stages the folded values with COPY, updates in one statement.
void backfill_folded(PGconn* c) {
  std::string staging = "CREATE TEMP TABLE contacts_folding(id bigint NOT NULL";
  std::string text_columns;
  std::string updates;
  for (const auto& f : text_fields()) {
    staging += "," + folded_column(f) + " text";
    text_columns += "," + std::string(f.name);
    updates += folded_column(f) + "=f." + folded_column(f) + ",";
  }
  staging += ") ON COMMIT DROP";
  updates.pop_back();  // the last ','

  exec(c, staging);
  exec(c, "DECLARE contacts_folding_scan NO SCROLL CURSOR FOR SELECT id" + text_columns +
              " FROM contacts");
  const std::string copy = "COPY contacts_folding(id," + folded_columns() + ") FROM STDIN";
  const std::string fetch =
      "FETCH " + std::to_string(kBackfillFetchRows) + " FROM contacts_folding_scan";
  for (;;) {
    const Result r = exec(c, fetch);
    std::string data;
    for (int row = 0; row < r.rows(); ++row) {
      ContactValues v;
      for (size_t i = 0; i < kTextFieldCount; ++i) v.text[i] = r.text(row, static_cast<int>(i) + 1);
      data += r.text(row, 0);
      append_folded_fields(data, v);
      data += '\n';
    }
    if (!data.empty()) copy_in(c, copy, data);
    if (r.rows() < kBackfillFetchRows) break;
  }
  exec(c, "CLOSE contacts_folding_scan");
  exec(c, "UPDATE contacts c SET " + updates + " FROM contacts_folding f WHERE c.id = f.id");
}

}  // namespace

std::string folded_column(const TextFieldInfo& f) { return std::string(f.name) + "_folded"; }

const std::vector<Migration>& migrations() {
  static const std::vector<Migration> kMigrations = {
      {1, migration_1(), nullptr, ""},
      {2, migration_2(), backfill_folded, migration_2_indexes()},
      // A random identity: caches outside the database (Redis) key their entries by it, so a
      // database recreated from scratch never meets the entries of its predecessor.
      {3,
       "INSERT INTO store_meta(key, value) VALUES('store_id', "
       "floor(random() * 9.2e18)::bigint) ON CONFLICT (key) DO NOTHING;",
       nullptr, ""},
      // The text order of the API (contract section 4): ICU's root collation, like
      // "und-x-icu", but nondeterministic, so that texts with equal collation keys are equal
      // and ORDER BY breaks their tie by id, as the read index does.
      {4,
       std::string("CREATE COLLATION IF NOT EXISTS ") + kTextCollation +
           " (provider = icu, locale = 'und', deterministic = false);",
       nullptr, ""},
      {5, migration_5(), nullptr, ""},
  };
  return kMigrations;
}

const std::string& folded_columns() {
  static const std::string kColumns = [] {
    std::string cols;
    for (const auto& f : text_fields()) cols += (cols.empty() ? "" : ",") + folded_column(f);
    return cols;
  }();
  return kColumns;
}

std::string folded_expr(TextField f) {
  const TextFieldInfo& i = info(f);
  return "coalesce(" + folded_column(i) + ",lower(" + std::string(i.name) + " COLLATE \"C\"))";
}

const std::string& search_expr() {
  static const std::string kExpr = [] {
    std::string expr;
    for (const auto& f : text_fields()) {
      if (!f.in_search) continue;
      if (!expr.empty()) expr += "||E'\\n'||";
      expr += folded_expr(f.field);
    }
    return "(" + expr + ")";
  }();
  return kExpr;
}

std::string search_index_sql(bool concurrently) {
  return std::string("CREATE INDEX ") + (concurrently ? "CONCURRENTLY " : "") + "IF NOT EXISTS " +
         kSearchIndex + " ON contacts USING gin (" + search_expr() + " gin_trgm_ops)";
}

void append_folded_fields(std::string& line, const ContactValues& v) {
  for (const auto& f : text_fields()) {
    const std::string& value = v[f.field];
    line += '\t';
    const bool ascii = text::is_ascii(value);
    std::string folded;
    if (!ascii) folded = text::fold(value);
    if (ascii || folded == text::ascii_lower(value)) {
      line += "\\N";  // folded_expr() lower-cases it
    } else {
      append_copy_field(line, folded);
    }
  }
}

const std::string& contact_select_columns(bool with_meta) {
  static const auto build = [](bool meta) {
    std::string cols = "id,";
    for (const auto& f : text_fields()) cols += std::string(f.name) + ",";
    for (const auto& f : number_fields()) cols += std::string(f.name) + ",";
    return cols + (meta ? "meta_data::text" : "'{}'::text") + ",created_at,updated_at";
  };
  static const std::string kWithMeta = build(true);
  static const std::string kWithoutMeta = build(false);
  return with_meta ? kWithMeta : kWithoutMeta;
}

Contact read_contact(const Result& r, int row) {
  Contact c;
  int col = 0;
  c.id = r.int64(row, col++);
  for (auto& v : c.values.text) v = r.text(row, col++);
  for (auto& v : c.values.numbers) v = r.optional_int64(row, col++);
  c.values.meta_data_json = r.text(row, col++);
  c.created_at_us = r.int64(row, col++);
  c.updated_at_us = r.int64(row, col++);
  return c;
}

const std::string& contact_value_columns() {
  static const std::string kColumns = [] {
    std::string cols;
    for (const auto& f : text_fields()) cols += std::string(f.name) + ",";
    for (const auto& f : number_fields()) cols += std::string(f.name) + ",";
    return cols + "meta_data";
  }();
  return kColumns;
}

}  // namespace contacts::pg
