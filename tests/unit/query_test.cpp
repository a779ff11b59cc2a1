#include <gtest/gtest.h>

#include "query/cursor.h"
#include "query/params.h"
#include "query/parse.h"
#include "util/error.h"

using namespace contacts;

namespace {

// Runs `fn` and returns the Error it throws (fails the test when it does not throw).
template <typename Fn>
Error error_of(Fn fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e;
  }
  ADD_FAILURE() << "expected an Error";
  return Error(ErrorCode::not_found, "");
}

}  // namespace

TEST(QueryParams, DecodesAndLastValueWins) {
  const auto p = QueryParams::parse("title=a%20b&title=c+d&x&empty=");
  ASSERT_NE(p.get("title"), nullptr);
  EXPECT_EQ(*p.get("title"), "c d");
  EXPECT_EQ(*p.get("x"), "");
  EXPECT_EQ(*p.get("empty"), "");
  EXPECT_EQ(p.get("missing"), nullptr);
}

TEST(QueryParams, RejectsInvalidUtf8) {
  const Error e = error_of([] { QueryParams::parse("title=%FF"); });
  EXPECT_EQ(e.code(), ErrorCode::invalid_parameter);
  EXPECT_EQ(e.message(), "Query parameter is not valid UTF-8.");
}

TEST(QueryParams, CanonicalFormIgnoresParameterOrder) {
  EXPECT_EQ(QueryParams::parse("a=1&b=2").canonical(), QueryParams::parse("b=2&a=1").canonical());
  EXPECT_NE(QueryParams::parse("a=1&b=2").canonical(), QueryParams::parse("a=2&b=1").canonical());
}

TEST(QueryParams, TypedValuesNameTheParameterWhenInvalid) {
  const auto p = QueryParams::parse("limit=abc&offset=-1&distinct=maybe&page_size=0&d=yesterday");
  EXPECT_EQ(error_of([&] { p.get_uint("limit"); }).message(),
            "Invalid value for 'limit': must be a non-negative integer.");
  EXPECT_EQ(error_of([&] { p.get_uint("offset"); }).message(),
            "Invalid value for 'offset': must be a non-negative integer.");
  EXPECT_EQ(error_of([&] { p.get_bool("distinct"); }).message(),
            "Invalid value for 'distinct': expected true or false.");
  EXPECT_EQ(error_of([&] { p.get_positive("page_size"); }).message(),
            "Invalid value for 'page_size': must be a positive integer.");
  EXPECT_EQ(error_of([&] { p.get_datetime("d"); }).message(),
            "Invalid value for 'd': expected an ISO 8601 date or datetime.");
}

TEST(QueryParams, BooleansAcceptTheContractSpellings) {
  const auto p = QueryParams::parse("a=TRUE&b=0&c=Yes&d=no&e=1&f=False");
  EXPECT_EQ(p.get_bool("a"), true);
  EXPECT_EQ(p.get_bool("b"), false);
  EXPECT_EQ(p.get_bool("c"), true);
  EXPECT_EQ(p.get_bool("d"), false);
  EXPECT_EQ(p.get_bool("e"), true);
  EXPECT_EQ(p.get_bool("f"), false);
}

TEST(ListQueryParsing, DefaultsToNewestFirstCursorPages) {
  const ListQuery q = parse_list_query(QueryParams::parse(""));
  EXPECT_TRUE(q.cursor_strategy);
  EXPECT_EQ(q.ordering_text, "-created_at");
  EXPECT_EQ(q.page_size, 25u);
  EXPECT_TRUE(q.filter.empty());
}

TEST(ListQueryParsing, CustomOrderingUsesCappedLimitOffset) {
  const ListQuery q = parse_list_query(QueryParams::parse("ordering=-employees,country&limit=500&offset=7"));
  EXPECT_FALSE(q.cursor_strategy);
  ASSERT_EQ(q.ordering.size(), 2u);
  EXPECT_EQ(q.ordering[0].key, SortKey::employees);
  EXPECT_TRUE(q.ordering[0].descending);
  EXPECT_EQ(q.ordering[1].key, sort_key_of(TextField::country));
  EXPECT_EQ(q.page_size, 100u);
  EXPECT_EQ(q.offset, 7u);
  EXPECT_EQ(q.ordering_text, "-employees,country");
}

// Contract section 4's rule (revision 2), item by item.
TEST(ListQueryParsing, PaginationFollowsTheSelectionRule) {
  auto parse = [](const std::string& q) { return parse_list_query(QueryParams::parse(q)); };
  const std::string cursor = encode_cursor({1'700'000'000'000'000, 42, false});
  // 1. A cursor: cursor pages, limit and offset ignored, whatever the ordering.
  ListQuery q = parse("ordering=first_name&limit=3&offset=9&page_size=7&cursor=" + cursor);
  EXPECT_TRUE(q.cursor_strategy);
  ASSERT_TRUE(q.cursor.has_value());
  EXPECT_EQ(q.cursor->id, 42);
  EXPECT_EQ(q.page_size, 7u);
  EXPECT_EQ(q.offset, 0u);
  EXPECT_EQ(q.ordering_text, "-created_at");
  q = parse("ordering=created_at&cursor=" + cursor);
  EXPECT_TRUE(q.cursor_strategy);
  EXPECT_EQ(q.ordering_text, "created_at");
  // 2. An explicit limit or offset: limit-offset, whatever the ordering.
  q = parse("ordering=created_at&limit=20&offset=20");
  EXPECT_FALSE(q.cursor_strategy);
  EXPECT_EQ(q.page_size, 20u);
  EXPECT_EQ(q.offset, 20u);
  EXPECT_EQ(q.ordering_text, "created_at");
  q = parse("offset=5&page_size=9");
  EXPECT_FALSE(q.cursor_strategy);
  EXPECT_EQ(q.page_size, kDefaultPageSize);
  EXPECT_EQ(q.offset, 5u);
  EXPECT_EQ(q.ordering_text, "-created_at");
  EXPECT_FALSE(parse("limit=500").cursor_strategy);
  EXPECT_EQ(parse("limit=500").page_size, kPageSizeCap);
  // 3. No ordering, or created_at alone either way: cursor pages.
  for (const char* text : {"", "page_size=10", "ordering=-created_at", "ordering=created_at",
                           "cursor=&ordering=created_at"}) {
    EXPECT_TRUE(parse(text).cursor_strategy) << text;
  }
  EXPECT_EQ(parse("page_size=1000").page_size, kPageSizeCap);
  // 4. Anything else: limit-offset.
  for (const char* text : {"ordering=first_name", "ordering=created_at,id", "ordering=stage",
                           "ordering=id", "cursor=&ordering=email_status"}) {
    EXPECT_FALSE(parse(text).cursor_strategy) << text;
  }
}

TEST(ListQueryParsing, RejectsUnknownOrderingFieldsWithTheContractMessage) {
  const Error e = error_of([] { parse_list_query(QueryParams::parse("ordering=password,-bogus,title")); });
  EXPECT_EQ(e.code(), ErrorCode::invalid_parameter);
  EXPECT_EQ(e.message(),
            "Invalid ordering field(s): password, bogus. Valid fields are: id, first_name, "
            "last_name, title, company, company_name_for_emails, email, email_status, "
            "primary_email_catch_all_status, seniority, departments, work_direct_phone, "
            "home_phone, mobile_phone, corporate_phone, other_phone, stage, employees, "
            "industry, keywords, person_linkedin_url, website, company_linkedin_url, "
            "facebook_url, twitter_url, city, state, country, company_address, company_city, "
            "company_state, company_country, company_phone, technologies, annual_revenue, "
            "total_funding, latest_funding, latest_funding_amount, last_raised_at, "
            "created_at, updated_at");
}

TEST(ListQueryParsing, FiltersAreFoldedAndEmptyValuesIgnored) {
  const ListQuery q = parse_list_query(
      QueryParams::parse("title=MÜLLER&company=&email_status=Verified&employees_min=10&search=John,%20ENGINEER"));
  ASSERT_EQ(q.filter.text.size(), 2u);
  EXPECT_EQ(q.filter.text[0].field, TextField::title);
  EXPECT_EQ(q.filter.text[0].folded, "müller");
  EXPECT_FALSE(q.filter.text[0].exact);
  EXPECT_EQ(q.filter.text[1].field, TextField::email_status);
  EXPECT_TRUE(q.filter.text[1].exact);
  ASSERT_EQ(q.filter.numbers.size(), 1u);
  EXPECT_EQ(q.filter.numbers[0].min, 10);
  EXPECT_FALSE(q.filter.numbers[0].max);
  EXPECT_EQ(q.filter.search_terms, (std::vector<std::string>{"john", "engineer"}));
}

TEST(ListQueryParsing, ForgedCursorIs404) {
  const Error e = error_of([] { parse_list_query(QueryParams::parse("cursor=' OR 1=1 --")); });
  EXPECT_EQ(e.code(), ErrorCode::invalid_cursor);
  EXPECT_EQ(e.message(), "Invalid cursor");
}

TEST(CursorToken, RoundTripsAndRejectsTampering) {
  const CursorToken t{1704067200123456LL, 42, true};
  const std::string text = encode_cursor(t);
  const auto back = decode_cursor(text);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->created_at_us, t.created_at_us);
  EXPECT_EQ(back->id, 42);
  EXPECT_TRUE(back->backwards);
  EXPECT_FALSE(decode_cursor(text.substr(0, text.size() - 2)));
  EXPECT_FALSE(decode_cursor(text + "A"));
  EXPECT_FALSE(decode_cursor("bm90IGEgY3Vyc29y"));
  EXPECT_FALSE(decode_cursor(""));
}

TEST(FieldQueryParsing, ReadsModesAndCapsLimit) {
  const FieldQuery q = parse_field_query(FieldEndpoint::keywords,
                                         QueryParams::parse("separated=true&distinct=1&search=Cloud&limit=1000"));
  EXPECT_TRUE(q.separated);
  EXPECT_TRUE(q.distinct);
  EXPECT_EQ(q.search_folded, "cloud");
  EXPECT_EQ(q.limit, 100u);
}

TEST(AnalyticsQueryParsing, CapsAt50AndRejectsZero) {
  EXPECT_EQ(parse_analytics_query(QueryParams::parse("")).limit, 10u);
  EXPECT_EQ(parse_analytics_query(QueryParams::parse("limit=99")).limit, 50u);
  EXPECT_EQ(error_of([] { parse_analytics_query(QueryParams::parse("limit=0")); }).code(), ErrorCode::invalid_parameter);
}
