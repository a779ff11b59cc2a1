"""`ordering` (contract section 4): code-point text order, empty/null last in both
directions, ties by id in the first field's direction; strategies."""
import expect
from harness import ApiTest

MULTI = ["-employees,country", "country,-employees", "company_country,company_city,-annual_revenue",
         "seniority,-created_at", "-updated_at,id", "industry,title,first_name",
         "-created_at,first_name", "created_at,id", "-state,-latest_funding_amount,email",
         "-company_state,company_address"]


class Ordering(ApiTest):

    def check_ordering(self, ordering, params=None):
        params = dict(params or {})
        cursor = ordering in ("created_at", "-created_at")
        query = dict(params, ordering=ordering)
        query["page_size" if cursor else "limit"] = "100"
        pages = self.walk_pages("/api/contacts/", query)
        got = [r for p in pages for r in p["results"]]
        self.assert_ids(got, self.expected_ids(params, ordering), "ordering=%s %s" % (
            ordering, params))
        filtered = expect.is_filtered(params)
        self.assert_meta(pages[0].get("meta"), {
            "strategy": "cursor" if cursor else "limit_offset",
            "ordering": ordering, "page_size": 100, "page_size_cap": 100,
            "returned_records": len(pages[0]["results"]),
            "count_mode": "none" if filtered else "estimated",
            "count": None if filtered else len(self.dump),
            "filters_applied": filtered, "using_replica": False}, "meta of ordering=" + ordering)

    def test_each_field_ascending_and_descending(self):
        for field in expect.ORDERING_FIELDS:
            for ordering in (field, "-" + field):
                with self.subTest(ordering=ordering):
                    self.check_ordering(ordering)

    def test_multi_field_orderings(self):
        for ordering in MULTI:
            with self.subTest(ordering=ordering):
                self.check_ordering(ordering)

    def test_ordering_with_filters(self):
        self.check_ordering("-employees", {"country": "a"})
        self.check_ordering("title", {"search": "e", "employees_min": "10"})
        self.check_ordering("-created_at", {"email_status": "verified"})

    def test_text_order_is_by_code_point(self):
        got = self.walk("/api/contacts/", {"ordering": "title", "limit": "100"})
        titles = [c["title"] for c in got]
        fullwidth = titles.index("Ａ fullwidth title")
        rocket = titles.index("🚀 Launch Lead")
        self.assertLess(fullwidth, rocket, "U+FF21 sorts before U+1F680 by code point")
        got = self.walk("/api/contacts/", {"ordering": "first_name", "limit": "100"})
        names = [c["first_name"] for c in got]
        self.assertLess(names.index("Zoë"), names.index("Élodie"), "Z (U+005A) before É (U+00C9)")
        self.assertLess(names.index("Élodie"), names.index("Ａｌｉｃｅ"))

    def test_empty_text_and_null_numbers_last_in_both_directions(self):
        for ordering, field in (("title", "title"), ("-title", "title"), ("employees", "employees"),
                                ("-employees", "employees")):
            with self.subTest(ordering=ordering):
                got = self.walk("/api/contacts/", {"ordering": ordering, "limit": "100"})
                empty = [c[field] in ("", None) for c in got]
                self.assertIn(True, empty)
                first_empty = empty.index(True)
                self.assertTrue(all(empty[first_empty:]), "a non-empty value after an empty one")

    def test_ties_broken_by_id_in_first_field_direction(self):
        for ordering in ("country", "-country"):
            got = self.walk("/api/contacts/", {"ordering": ordering, "limit": "100"})
            for a, b in zip(got, got[1:]):
                if a["country"] == b["country"]:
                    if ordering.startswith("-"):
                        self.assertGreater(a["id"], b["id"])
                    else:
                        self.assertLess(a["id"], b["id"])

    def test_walking_with_explicit_offsets_gives_the_same_order(self):
        expected = self.expected_ids({}, "-annual_revenue")
        got = []
        for offset in range(0, len(expected) + 100, 100):
            body = self.get_json("/api/contacts/", {"ordering": "-annual_revenue",
                                                    "limit": "100", "offset": str(offset)})
            got.extend(body["results"])
        self.assert_ids(got, expected, "offset walk")
