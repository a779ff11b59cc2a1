"""/api/contacts/count/ and /api/contacts/analytics/ (contract sections 5 and 10)."""
import expect
from harness import ApiTest


class Count(ApiTest):

    def test_unfiltered_count_is_within_one_percent(self):
        body = self.get_json("/api/contacts/count/")
        self.assertEqual(set(body), {"count"})
        self.assertIs(type(body["count"]), int)
        self.assertLessEqual(abs(body["count"] - len(self.dump)), len(self.dump) // 100)

    def test_empty_filters_mean_unfiltered(self):
        plain = self.get_json("/api/contacts/count/")
        for params in ({"search": ""}, {"title": ""}, {"search": "", "country": ""}):
            self.assertEqual(self.get_json("/api/contacts/count/", params), plain, params)

    def test_filtered_counts_are_exact(self):
        for params in ({"country": "a"}, {"search": "e a"}, {"search": "müller"},
                       {"employees_min": "100", "email_status": "VERIFIED"},
                       {"title": "zq-no-match-xj"}, {"annual_revenue_max": "0"},
                       {"search": "Germany,Jürgen"}, {"keywords": ","}):
            with self.subTest(params=params):
                want = len([c for c in self.dump if expect.matches(c, params)])
                self.assertEqual(self.get_json("/api/contacts/count/", params), {"count": want})

    def test_count_without_trailing_slash(self):
        params = {"country": "e"}
        self.assertEqual(self.get_json("/api/contacts/count", params),
                         self.get_json("/api/contacts/count/", params))


class Analytics(ApiTest):

    def check(self, params, limit):
        body = self.get_json("/api/contacts/analytics/", params)
        self.assertEqual(set(body), {"total_contacts", "top_countries", "top_industries",
                                     "hadoop_job_configured", "generated_at", "limit", "source"})
        self.assertEqual(body["total_contacts"], len(self.dump))
        self.assertEqual(body["top_countries"], expect.top_values(self.dump, "country", limit))
        self.assertEqual(body["top_industries"], expect.top_values(self.dump, "industry", limit))
        self.assertEqual(body["limit"], limit)
        self.assertEqual(body["source"], "database")
        self.assertIs(body["hadoop_job_configured"], False)
        self.assertRegex(body["generated_at"], expect.RFC3339_Z)
        return body

    def test_default_limit_is_10(self):
        body = self.check({}, 10)
        self.assertEqual(len(body["top_countries"]), min(10, len({c["country"] for c in self.dump
                                                                 if c["country"]})))

    def test_explicit_limits(self):
        for limit in (1, 3, 25, 50):
            with self.subTest(limit=limit):
                self.check({"limit": str(limit)}, limit)

    def test_limit_above_50_is_capped(self):
        for limit in ("51", "100", "100000"):
            with self.subTest(limit=limit):
                self.check({"limit": limit}, 50)

    def test_limit_zero_is_rejected(self):
        self.assert_error(self.get("/api/contacts/analytics/", {"limit": "0"}), 400,
                          expect.msg_positive("limit"))

    def test_empty_values_are_left_out(self):
        body = self.check({"limit": "50"}, 50)
        self.assertNotIn("", [x["country"] for x in body["top_countries"]])
        self.assertNotIn("", [x["industry"] for x in body["top_industries"]])

    def test_no_cache_request_gives_the_same_aggregates(self):
        a = self.get_json("/api/contacts/analytics/", {"limit": "7"})
        b = self.get_json("/api/contacts/analytics/", {"limit": "7"},
                          headers={"Cache-Control": "no-cache"})
        for k in ("total_contacts", "top_countries", "top_industries", "limit", "source"):
            self.assertEqual(a[k], b[k])
