#include <gtest/gtest.h>

#include "api/api_error.h"

using namespace contacts;

// The one place where the lower layers' error codes become the contract's statuses and texts.
TEST(ApiErrorFor, EachDomainCodeGetsItsStatusAndText) {
  const ApiError bad = api_error_for(Error(ErrorCode::invalid_parameter, "Invalid value for 'x'."));
  EXPECT_EQ(bad.status(), 400);
  EXPECT_EQ(bad.detail(), "Invalid value for 'x'.");

  const ApiError cursor = api_error_for(Error(ErrorCode::invalid_cursor, "Invalid cursor"));
  EXPECT_EQ(cursor.status(), 404);
  EXPECT_EQ(cursor.detail(), "Invalid cursor");

  // The message of these two is for logs; the client gets the contract's text.
  const ApiError missing = api_error_for(Error(ErrorCode::not_found, "no asset /x"));
  EXPECT_EQ(missing.status(), 404);
  EXPECT_EQ(missing.detail(), "Not found.");

  const ApiError slow = api_error_for(Error(ErrorCode::count_timeout, "statement cancelled"));
  EXPECT_EQ(slow.status(), 500);
  EXPECT_EQ(slow.detail(),
            "Error counting contacts. The query may be too complex or timeout. Please try with "
            "simpler filters.");
}
