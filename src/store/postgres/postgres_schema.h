// The PostgreSQL schema, as numbered migrations, and the contact column list it defines.
#pragma once

#include <string>
#include <vector>

namespace contacts::pg {

struct Migration {
  int version;
  std::string sql;  // one or more statements, run inside the migrating transaction
};

// Every migration, in increasing version order. Version 1 creates the whole schema.
const std::vector<Migration>& migrations();

// "first_name,...,latest_funding_amount,meta_data": the contact value columns in model order
// (text fields, then number fields, then meta_data). Names come only from the model.
const std::string& contact_value_columns();

}  // namespace contacts::pg
