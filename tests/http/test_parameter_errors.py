"""400 answers for bad parameter values (contract section 1 + the decided messages)."""
import expect
from harness import ApiTest

BAD_INTEGERS = ["abc", "-1", "1.5", "+5", "1e3", "0x10", " 5"]
BAD_BOOLEANS = ["maybe", "2", "on", "tru"]
BAD_DATES = ["yesterday", "2024-13-01", "2024-02-30", "2024-01-01T25:00:00Z", "01/02/2024",
             "1700000000", "2024-01-01T00:00:00+25:00"]


class IntegerParameters(ApiTest):
    needs_dump = False

    def cases(self):
        yield "/api/contacts/", "page_size", {}
        yield "/api/contacts/", "limit", {"ordering": "-employees"}
        yield "/api/contacts/", "offset", {"ordering": "-employees"}
        for f in expect.NUMBER_FIELDS:
            yield "/api/contacts/", f + "_min", {}
            yield "/api/contacts/", f + "_max", {}
            yield "/api/contacts/count/", f + "_min", {}
        yield "/api/contacts/title/", "limit", {}
        yield "/api/contacts/title/", "offset", {}
        yield "/api/contacts/keywords/", "limit", {"separated": "true"}
        yield "/api/contacts/analytics/", "limit", {}

    def test_non_digits_and_negative_values_are_400(self):
        for path, param, extra in self.cases():
            for value in BAD_INTEGERS:
                with self.subTest(path=path, param=param, value=value):
                    r = self.get(path, dict(extra, **{param: value}))
                    self.assert_error(r, 400, expect.msg_non_negative(param))

    def test_limit_and_offset_are_validated_with_cursor_strategy_too(self):
        for param in ("limit", "offset"):
            self.assert_error(self.get("/api/contacts/", {param: "abc"}), 400,
                              expect.msg_non_negative(param))

    def test_zero_page_size_or_limit_is_400(self):
        self.assert_error(self.get("/api/contacts/", {"page_size": "0"}), 400,
                          expect.msg_positive("page_size"))
        self.assert_error(self.get("/api/contacts/", {"limit": "0", "ordering": "title"}), 400,
                          expect.msg_positive("limit"))
        for path in ("/api/contacts/company/", "/api/contacts/analytics/"):
            self.assert_error(self.get(path, {"limit": "0"}), 400, expect.msg_positive("limit"))

    def test_zero_offset_and_zero_bounds_are_fine(self):
        for params in ({"offset": "0", "ordering": "title"}, {"employees_min": "0"},
                       {"annual_revenue_max": "0"}, {"page_size": "1"}, {"limit": "007",
                                                                         "ordering": "id"}):
            self.assertEqual(self.get("/api/contacts/", params).status, 200, params)


class BooleanParameters(ApiTest):
    needs_dump = False

    def test_invalid_booleans_are_400(self):
        cases = [("/api/contacts/", "include_meta"), ("/api/contacts/", "use_replica"),
                 ("/api/contacts/title/", "distinct"), ("/api/contacts/keywords/", "separated"),
                 ("/api/contacts/keywords/", "distinct")]
        for path, param in cases:
            for value in BAD_BOOLEANS:
                with self.subTest(path=path, param=param, value=value):
                    self.assert_error(self.get(path, {param: value}), 400,
                                      expect.msg_boolean(param))

    def test_use_replica_spellings_accepted_without_replica(self):
        for value in ("true", "false", "1", "0", "YES", "no"):
            body = self.get_json("/api/contacts/", {"use_replica": value, "page_size": "1"})
            self.assertIs(body["meta"]["using_replica"], False)


class DateParameters(ApiTest):
    needs_dump = False

    def test_invalid_dates_are_400(self):
        for param in expect.DATE_FILTERS:
            for value in BAD_DATES:
                with self.subTest(param=param, value=value):
                    for path in ("/api/contacts/", "/api/contacts/count/"):
                        self.assert_error(self.get(path, {param: value}), 400,
                                          expect.msg_date(param))


class OrderingParameter(ApiTest):
    needs_dump = False

    def test_unknown_field_is_400_listing_valid_fields(self):
        for value, bad in (("password", ["password"]), ("password,title,secret",
                                                         ["password", "secret"]),
                           ("title,meta_data", ["meta_data"]),
                           ("employees;drop table contacts", ["employees;drop table contacts"]),
                           ("stage,-meta_data", ["meta_data"]), ("-", ["-"])):
            with self.subTest(ordering=value):
                self.assert_error(self.get("/api/contacts/", {"ordering": value}), 400,
                                  expect.msg_ordering(bad))


class Utf8Parameters(ApiTest):
    needs_dump = False

    def test_invalid_utf8_in_a_query_value_or_name_is_400(self):
        for query in ("title=%FF", "search=%C3", "title=%ED%A0%80", "title=%C0%AF",
                      "%FF=1", "country=ok&first_name=a%80b"):
            for path in ("/api/contacts/", "/api/contacts/count/", "/api/contacts/title/"):
                with self.subTest(path=path, query=query):
                    self.assert_error(self.c.request("GET", path + "?" + query), 400,
                                      expect.MSG_UTF8)

    def test_valid_percent_encoded_utf8_is_fine(self):
        body = self.get_json("/api/contacts/", {"last_name": "MÜLLER", "page_size": "100"})
        self.assertTrue(body["results"])
        r = self.c.request("GET", "/api/contacts/?last_name=m%C3%BCller&page_size=100")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.json()["results"], body["results"])

    def test_plus_means_space_in_query(self):
        a = self.get_json("/api/contacts/", {"search": "industry 4.0"})
        r = self.c.request("GET", "/api/contacts/?search=industry+4.0")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.json()["results"], a["results"])


class AbuseLimits(ApiTest):
    """Contract section 11: search and text filter sizes."""
    needs_dump = False

    def test_search_of_more_than_32_terms_or_256_characters_is_400(self):
        for value in (" ".join("t%d" % i for i in range(33)), "a" * 257, "é" * 257,
                      ",".join(["ab"] * 40), " ".join(["x"] * 2000)):
            with self.subTest(value=value[:40]):
                for path in ("/api/contacts/", "/api/contacts/count/"):
                    self.assert_error(self.get(path, {"search": value}), 400,
                                      expect.MSG_SEARCH_TOO_LONG)
        self.assert_error(self.get("/api/contacts/title/", {"search": "a" * 257}), 400,
                          expect.MSG_SEARCH_TOO_LONG)
        for value in (" ".join("t%d" % i for i in range(32)), "é" * 256):
            with self.subTest(value=value[:40]):
                self.assertEqual(self.get("/api/contacts/", {"search": value}).status, 200)

    def test_text_filter_over_1024_characters_is_400_naming_it(self):
        for param in ("title", "company", "email_status", "first_name"):
            with self.subTest(param=param):
                self.assert_error(self.get("/api/contacts/", {param: "ü" * 1025}), 400,
                                  expect.msg_filter_too_long(param))
                self.assertEqual(self.get("/api/contacts/count/", {param: "ü" * 1024}).status,
                                 200)
