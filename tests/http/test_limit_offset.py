"""Limit-offset pagination (any ordering other than created_at alone)."""
import client as http
from harness import ApiTest

ORDERING = "-employees,country"


class LimitOffset(ApiTest):

    def expected(self):
        return self.expected_ids({}, ORDERING)

    def page(self, **params):
        return self.get_json("/api/contacts/", dict({"ordering": ORDERING}, **params))

    def test_default_limit_is_25_and_first_page_has_no_previous(self):
        body = self.page()
        self.assertEqual([r["id"] for r in body["results"]], self.expected()[:25])
        self.assertEqual(body["meta"]["page_size"], 25)
        self.assertEqual(body["meta"]["strategy"], "limit_offset")
        self.assertIsNone(body["previous"])
        self.assertIsNotNone(body["next"])

    def test_limit_above_100_is_capped_not_rejected(self):
        for limit in ("101", "250", "100000"):
            body = self.page(limit=limit)
            self.assertEqual([r["id"] for r in body["results"]], self.expected()[:100], limit)
            self.assertEqual(body["meta"]["page_size"], 100)

    def test_next_link_points_at_the_following_page(self):
        body = self.page(limit="20", offset="40")
        self.assertEqual([r["id"] for r in body["results"]], self.expected()[40:60])
        nxt = self.c.follow(body["next"]).json()
        self.assertEqual([r["id"] for r in nxt["results"]], self.expected()[60:80])
        _, _, _, pairs = http.split_url(body["next"])
        self.assertEqual(dict(pairs).get("offset"), "60")
        self.assertEqual(dict(pairs).get("limit"), "20")

    def test_previous_link_points_at_the_preceding_page(self):
        body = self.page(limit="20", offset="50")
        prev = self.c.follow(body["previous"]).json()
        self.assertEqual([r["id"] for r in prev["results"]], self.expected()[30:50])

    def test_previous_link_near_the_start_goes_to_offset_zero(self):
        body = self.page(limit="20", offset="10")
        self.assertEqual([r["id"] for r in body["results"]], self.expected()[10:30])
        prev = self.c.follow(body["previous"]).json()
        self.assertEqual([r["id"] for r in prev["results"]], self.expected()[0:20])
        self.assertIsNone(prev["previous"])

    def test_last_page_has_no_next(self):
        n = len(self.expected())
        body = self.page(limit="10", offset=str(n - 5))
        self.assertEqual([r["id"] for r in body["results"]], self.expected()[n - 5:])
        self.assertIsNone(body["next"])
        self.assertIsNotNone(body["previous"])
        body = self.page(limit="10", offset=str(n - 10))
        self.assertEqual(len(body["results"]), 10)
        self.assertIsNone(body["next"])

    def test_offset_beyond_the_end_is_an_empty_page(self):
        n = len(self.expected())
        for offset in (n, n + 1, n + 1000, 10 ** 9):
            body = self.page(limit="10", offset=str(offset))
            self.assertEqual(body["results"], [], offset)
            self.assertIsNone(body["next"])
            self.assertEqual(body["meta"]["returned_records"], 0)

    def test_limit_one(self):
        body = self.page(limit="1", offset="7")
        self.assertEqual([r["id"] for r in body["results"]], self.expected()[7:8])

    def test_offset_without_limit_uses_default_limit(self):
        body = self.page(offset="3")
        self.assertEqual([r["id"] for r in body["results"]], self.expected()[3:28])
