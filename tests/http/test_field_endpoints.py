"""Field endpoints /api/contacts/<field>/ (contract sections 6 and 10)."""
import collections

import client as http
import expect
from harness import ApiTest


class FieldEndpoints(ApiTest):

    def rows(self, field, params):
        pages = self.walk_pages("/api/contacts/%s/" % field, dict(params, limit="100"))
        out = []
        for p in pages:
            self.assertLessEqual({"next", "previous", "results"}, set(p))
            for r in p["results"]:
                self.assertEqual(set(r), {"id", field}, r)
                out.append((r["id"], r[field]))
        return out

    def check(self, field, distinct=False, search=None, separated=False):
        params = {}
        if distinct:
            params["distinct"] = "true"
        if search is not None:
            params["search"] = search
        if separated:
            params["separated"] = "true"
        want = expect.field_rows(self.dump, field, distinct=distinct, search=search,
                                 separated=separated)
        got = self.rows(field, params)
        if got != want:
            diff = next((i for i, (a, b) in enumerate(zip(got, want)) if a != b),
                        min(len(got), len(want)))
            self.fail("/api/contacts/%s/ %s: %d rows, expected %d; first difference at %d: "
                      "got %r expected %r" % (field, params, len(got), len(want), diff,
                                              got[diff:diff + 3], want[diff:diff + 3]))
        return want

    def search_term(self, field):
        values = [expect.field_value(c, field) for c in self.dump]
        counts = collections.Counter(v for v in values if v)
        if not counts:
            return "e"
        common = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[0][0]
        start = len(common) // 3
        return common[start:start + 3].swapcase()

    def test_every_field_endpoint_all_rows_ordered_by_id(self):
        for field in expect.FIELD_ENDPOINTS:
            with self.subTest(field=field):
                self.assertTrue(self.check(field))

    def test_every_field_endpoint_distinct_values(self):
        for field in expect.FIELD_ENDPOINTS:
            with self.subTest(field=field):
                self.assertTrue(self.check(field, distinct=True))

    def test_every_field_endpoint_with_search(self):
        for field in expect.FIELD_ENDPOINTS:
            term = self.search_term(field)
            for distinct in (False, True):
                with self.subTest(field=field, search=term, distinct=distinct):
                    self.assertTrue(self.check(field, distinct=distinct, search=term))
                with self.subTest(field=field, search="no match", distinct=distinct):
                    self.assertEqual(self.check(field, distinct=distinct,
                                                search="zq-no-match-xj"), [])

    def test_unicode_search_on_field_values(self):
        for field, term in (("company", "éclair"), ("company", "MÜLLER"), ("title", "général"),
                            ("contact_address", "東京"), ("company_address", "strasse"),
                            ("city", "weiß"), ("title", "%"), ("company", "'")):
            for distinct in (False, True):
                with self.subTest(field=field, search=term, distinct=distinct):
                    self.assertTrue(self.check(field, distinct=distinct, search=term))

    def test_addresses_join_non_empty_parts(self):
        rows = dict(self.check("company_address"))
        by_email = {c["email"]: c for c in self.dump}
        c = by_email["juergen.mueller@example.de"]
        self.assertEqual(rows[c["id"]], "Straße des 17. Juni 1, Berlin, Germany")
        c = by_email["sean.obrien@example.ie"]
        self.assertEqual(rows[c["id"]], "1 Main Street, Leinster, Ireland")
        rows = dict(self.check("contact_address"))
        self.assertEqual(rows[by_email["juergen.mueller@example.de"]["id"]],
                         "Berlin, Berlin, Germany")
        self.assertEqual(rows[by_email["zoe@example.com"]["id"]], "United States")

    def test_distinct_is_exact_and_keeps_the_smallest_id(self):
        rows = self.check("company", distinct=True, search="éclair")
        # Collation order: lower case before upper case at the third level.
        self.assertEqual([v for _, v in rows], ["Éclair Systèmes", "ÉCLAIR SYSTÈMES"])
        by_email = {c["email"]: c["id"] for c in self.dump}
        self.assertEqual(rows[1][0], by_email["Emile.Eclair@Example.COM"])


class KeywordsSeparated(ApiTest):

    def check(self, **kw):
        return FieldEndpoints.check(self, "keywords", **kw)

    rows = FieldEndpoints.rows

    def test_separated(self):
        self.assertTrue(self.check(separated=True))

    def test_separated_distinct(self):
        self.assertTrue(self.check(separated=True, distinct=True))

    def test_separated_with_search(self):
        for term in ("cloud", "4.0", "AUTO", "rocket", "100%", "zq-no-match-xj", "a"):
            for distinct in (False, True):
                with self.subTest(search=term, distinct=distinct):
                    self.check(separated=True, distinct=distinct, search=term)

    def test_separated_parts_are_trimmed_and_empty_parts_skipped(self):
        rows = self.check(separated=True, search="o")
        by_email = {c["email"]: c["id"] for c in self.dump}
        mine = [v for i, v in rows if i == by_email["zoe@example.com"]]
        self.assertEqual(mine, ["rockets"])
        rows = self.check(separated=True)
        mine = [v for i, v in rows if i == by_email["juergen.mueller@example.de"]]
        self.assertEqual(mine, ["cnc", "automation", "industry 4.0", "robotics"])

    def test_separated_false_is_the_whole_value(self):
        rows = dict(self.check(separated=False, search="rockets"))
        self.assertIn("rockets,space , ,launch", rows.values())


class FieldPagination(ApiTest):

    def test_default_limit_25_cap_100_and_offset(self):
        want = expect.field_rows(self.dump, "title")
        body = self.get_json("/api/contacts/title/")
        self.assertEqual([(r["id"], r["title"]) for r in body["results"]], want[:25])
        self.assertIsNone(body["previous"])
        body = self.get_json("/api/contacts/title/", {"limit": "1000"})
        self.assertEqual([(r["id"], r["title"]) for r in body["results"]], want[:100])
        body = self.get_json("/api/contacts/title/", {"limit": "10", "offset": "35"})
        self.assertEqual([(r["id"], r["title"]) for r in body["results"]], want[35:45])
        prev = self.c.follow(body["previous"]).json()
        self.assertEqual([(r["id"], r["title"]) for r in prev["results"]], want[25:35])
        nxt = self.c.follow(body["next"]).json()
        self.assertEqual([(r["id"], r["title"]) for r in nxt["results"]], want[45:55])
        _, _, path, pairs = http.split_url(body["next"])
        self.assertEqual(path, "/api/contacts/title/")
        self.assertEqual(dict(pairs).get("offset"), "45")

    def test_links_keep_search_and_distinct(self):
        body = self.get_json("/api/contacts/company/", {"distinct": "true", "search": "a",
                                                        "limit": "5"})
        _, _, _, pairs = http.split_url(body["next"])
        got = dict(pairs)
        self.assertEqual((got.get("distinct"), got.get("search"), got.get("limit")),
                         ("true", "a", "5"))

    def test_offset_beyond_the_end(self):
        body = self.get_json("/api/contacts/industry/", {"distinct": "true", "offset": "100000"})
        self.assertEqual(body["results"], [])
        self.assertIsNone(body["next"])

    def test_distinct_boolean_spellings(self):
        want_d = expect.field_rows(self.dump, "country", distinct=True)[:25]
        want = expect.field_rows(self.dump, "country")[:25]
        for value, w in (("1", want_d), ("YES", want_d), ("True", want_d), ("0", want),
                         ("no", want), ("FALSE", want)):
            body = self.get_json("/api/contacts/country/", {"distinct": value})
            self.assertEqual([(r["id"], r["country"]) for r in body["results"]], w, value)

    def test_limit_zero_is_rejected(self):
        for field in ("title", "keywords", "contact_address"):
            self.assert_error(self.get("/api/contacts/%s/" % field, {"limit": "0"}), 400,
                              expect.msg_positive("limit"))
