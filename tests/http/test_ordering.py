"""`ordering` (contract section 4, revision 2): every field, Unicode collation (checked
against ICU through python3-icu), empty/null last in both directions, ties by id in the first
field's direction; the pagination selection rule."""
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

    def test_text_order_is_the_unicode_collation(self):
        names = [c["first_name"] for c in
                 self.walk("/api/contacts/", {"ordering": "first_name", "limit": "100"})]
        # Accents and case sort with their base letters, lower case first; fullwidth too.
        self.assertLess(names.index("apple"), names.index("Zoe"))
        self.assertLess(names.index("élan"), names.index("Zoe"))
        self.assertLess(names.index("Élodie"), names.index("Zoë"))
        self.assertLess(names.index("Ａｌｉｃｅ"), names.index("Élodie"))
        self.assertLess(names.index("Elan"), names.index("Élodie"))
        # Latin before Greek before Cyrillic before CJK (UCA script order).
        countries = [c["country"] for c in
                     self.walk("/api/contacts/", {"ordering": "country", "limit": "100"})]
        self.assertLess(countries.index("United States"), countries.index("Ελλάδα"))
        self.assertLess(countries.index("Ελλάδα"), countries.index("Россия"))
        self.assertLess(countries.index("Россия"), countries.index("中国"))
        self.assertLess(countries.index("greece"), countries.index("Greece"))

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


class WebClientActions(ApiTest):
    """What the original service's web front end sends (contract section 4, revision 2)."""

    def test_sort_by_email_status_and_stage_both_ways(self):
        for ordering in ("email_status", "-email_status", "stage", "-stage"):
            with self.subTest(ordering=ordering):
                body = self.get_json("/api/contacts/", {"ordering": ordering})
                self.assertEqual(body["meta"]["strategy"], "limit_offset")
                self.assertEqual(body["meta"]["ordering"], ordering)
                self.assertEqual([r["id"] for r in body["results"]],
                                 self.expected_ids({}, ordering)[:25])

    def test_created_at_pages_with_limit_and_offset(self):
        expected = self.expected_ids({}, "created_at")
        pages = []
        for offset in (0, 20, 40):
            body = self.get_json("/api/contacts/", {"ordering": "created_at", "limit": "20",
                                                    "offset": str(offset)})
            meta = body["meta"]
            self.assertEqual((meta["strategy"], meta["page_size"], meta["ordering"]),
                             ("limit_offset", 20, "created_at"))
            self.assertEqual([r["id"] for r in body["results"]], expected[offset:offset + 20])
            pages.append(body)
        self.assertIsNone(pages[0]["previous"])
        self.assertIn("offset=20", pages[0]["next"])
        self.assertIn("offset=0", pages[1]["previous"])
        self.assertIn("offset=40", pages[1]["next"])

    def test_offset_alone_under_the_default_ordering_is_limit_offset(self):
        body = self.get_json("/api/contacts/", {"offset": "5"})
        self.assertEqual(body["meta"]["strategy"], "limit_offset")
        self.assertEqual(body["meta"]["ordering"], "-created_at")
        self.assertEqual([r["id"] for r in body["results"]], self.expected_ids({})[5:30])

    def test_a_cursor_wins_over_limit_and_offset(self):
        first = self.get_json("/api/contacts/", {"page_size": "10"})
        self.assertEqual(first["meta"]["strategy"], "cursor")
        cursor = first["next"].split("cursor=")[1].split("&")[0]
        body = self.get_json("/api/contacts/", {"cursor": cursor, "page_size": "10",
                                                "limit": "3", "offset": "7"})
        self.assertEqual(body["meta"]["strategy"], "cursor")
        self.assertEqual([r["id"] for r in body["results"]], self.expected_ids({})[10:20])

    def test_sort_by_first_name_follows_the_collation(self):
        got = self.walk("/api/contacts/", {"ordering": "first_name", "limit": "100"})
        self.assert_ids(got, self.expected_ids({}, "first_name"), "ordering=first_name")
        names = [c["first_name"] for c in got]
        self.assertLess(names.index("élan"), names.index("Zoe"))
        self.assertLess(names.index("apple"), names.index("Zoe"))
