// COPY text format escaping (store/postgres/pg_handle.h), without a server: the conformance
// suite loads such lines into a real PostgreSQL.
#include <gtest/gtest.h>

#include <string>

#include "store/postgres/pg_handle.h"

using namespace contacts;

TEST(CopyText, BackslashTabNewlineAndCarriageReturnAreEscapedWhereverTheyStand) {
  const auto copied = [](std::string_view v) {
    std::string line = "x\t";  // what the line held before: kept
    pg::append_copy_field(line, v);
    return line;
  };
  EXPECT_EQ(copied(""), "x\t");
  EXPECT_EQ(copied("plain text, é"), "x\tplain text, é");
  EXPECT_EQ(copied("\\"), "x\t\\\\");
  EXPECT_EQ(copied("a\tb\nc\rd\\e"), "x\ta\\tb\\nc\\rd\\\\e");
  EXPECT_EQ(copied("\r\n"), "x\t\\r\\n");
  EXPECT_EQ(copied("end\\"), "x\tend\\\\");
  EXPECT_EQ(copied("\tstart"), "x\t\\tstart");
  EXPECT_EQ(copied(std::string_view("nul\0byte", 8)), std::string("x\tnul\0byte", 10));
}
