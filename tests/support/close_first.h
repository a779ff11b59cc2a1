// Ends a PostgreSQL session when it goes out of scope. A test whose open transaction blocks
// work it runs with std::async declares one after the future: should an assertion return
// early, the connection closes (its transaction ends, its locks go) before the future's
// destructor waits for that work, which would otherwise wait forever.
#pragma once

#include "store/postgres/pg_handle.h"

namespace contacts::test_support {

struct CloseFirst {
  pg::ConnHandle& conn;
  ~CloseFirst() { conn.reset(); }
};

}  // namespace contacts::test_support
