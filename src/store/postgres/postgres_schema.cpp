#include "store/postgres/postgres_schema.h"

#include "model/contact.h"

namespace contacts::pg {
namespace {

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
  for (const char* col : {"title", "company", "email", "first_name", "last_name"}) {
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

}  // namespace

const std::vector<Migration>& migrations() {
  static const std::vector<Migration> kMigrations = {{1, migration_1()}};
  return kMigrations;
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
