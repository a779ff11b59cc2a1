// COPY text format escaping (store/postgres/pg_handle.h), without a server: the conformance
// suite loads such lines into a real PostgreSQL.
#include <gtest/gtest.h>

#include <random>
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

TEST(CopyText, RandomValuesAreEscapedLikeAByteAtATime) {
  // The escaping looks at eight bytes at once: specials and bytes near them (controls, 0x5B,
  // 0x5D, bytes above 0x7F) at every position of values longer and shorter than eight.
  const std::string alphabet = std::string("ab\\\t\n\r\x01\x0d\x0e\x5b\x5d\x7f\x80\xff ", 16) + "xyz";
  const auto byte_at_a_time = [](std::string_view v) {
    std::string out;
    for (const char c : v) {
      switch (c) {
        case '\\': out += "\\\\"; break;
        case '\t': out += "\\t"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        default: out += c;
      }
    }
    return out;
  };
  std::mt19937 random(7);
  for (int round = 0; round < 20000; ++round) {
    std::string v(random() % 40, ' ');
    for (char& c : v) c = random() % 4 == 0 ? alphabet[random() % alphabet.size()] : 'q';
    std::string line;
    pg::append_copy_field(line, v);
    ASSERT_EQ(line, byte_at_a_time(v)) << "round " << round;
  }
}
