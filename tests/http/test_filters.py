"""Filters of /api/contacts/ and /api/contacts/count/ (contract section 3), compared with the
model evaluated over the dump."""
import collections
import datetime

import expect
from harness import CTX, ApiTest

NO_MATCH = "zq-no-such-value-xj"


def values_of(field):
    return [c[field] for c in CTX.dump if c[field] not in ("", None)]


def common_and_rare(field):
    # values longer than 200 characters would make over-long URLs
    counts = collections.Counter(v for v in values_of(field) if len(v) <= 200)
    if not counts:
        return None, None
    common = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[0][0]
    singles = sorted(v for v, n in counts.items() if n == 1)
    rare = singles[len(singles) // 2] if singles else sorted(counts)[-1]
    return common, rare


def middle_piece(value, size=5):
    if len(value) <= size:
        return value
    start = (len(value) - size) // 2
    return value[start:start + size]


class TextFilters(ApiTest):
    """Case-insensitive substring, Unicode-aware; empty value means no filter."""

    def test_each_text_filter_with_common_rare_and_unmatched_values(self):
        for field in expect.CONTAINS_FILTERS:
            common, rare = common_and_rare(field)
            values = [NO_MATCH]
            if common is not None:
                values += [middle_piece(common).swapcase(), rare.upper()]
            for value in values:
                with self.subTest(field=field, value=value):
                    ids = self.check_list({field: value})
                    if value == NO_MATCH:
                        self.assertEqual(ids, [])
                    else:
                        self.assertTrue(ids)

    def test_every_text_filter_field_has_data_to_filter(self):
        empty = [f for f in expect.CONTAINS_FILTERS if not values_of(f)]
        self.assertEqual(empty, [], "fields without any value make their filter test weak")

    def test_empty_value_means_no_filter(self):
        for field in ("title", "country", "email_status", "search", "first_name"):
            with self.subTest(field=field):
                self.check_list({field: ""})

    def test_unicode_case_insensitive_substring(self):
        cases = [("last_name", "müller"), ("last_name", "MÜLLER"), ("first_name", "é"),
                 ("first_name", "ÉLODIE"), ("company", "éclair"), ("company", "ÉCLAIR SYS"),
                 ("title", "directeur général"), ("city", "東京"), ("first_name", "ａｌｉｃｅ"),
                 ("last_name", "🚀"), ("first_name", "SEÁN")]
        for field, value in cases:
            with self.subTest(field=field, value=value):
                ids = self.check_list({field: value})
                self.assertTrue(ids, "the fixture has a match")

    def test_mueller_matches_both_case_variants_of_the_fixture(self):
        got = self.walk("/api/contacts/", {"last_name": "müller", "page_size": "100"})
        emails = {c["email"].lower() for c in got}
        self.assertIn("juergen.mueller@example.de", emails)
        self.assertIn("anna.mueller@example.de", emails)

    def test_sharp_s_folds_to_ss(self):
        # Full Unicode case folding (str.casefold): "Straße" ~ "STRASSE".
        for field, value in (("last_name", "STRASSE"), ("city", "weissenburg"),
                             ("last_name", "straße"), ("company_address", "STRASSE DES")):
            with self.subTest(field=field, value=value):
                self.assertTrue(self.check_list({field: value}))

    def test_sql_wildcards_and_quotes_are_literal(self):
        for field, value in (("title", "%"), ("title", "_"), ("title", "100%"),
                             ("last_name", "'"), ("company", "&"), ("keywords", "100%"),
                             ("email", "%@%"), ("title", "\\"), ("company", '"')):
            with self.subTest(field=field, value=value):
                self.check_list({field: value})

    def test_value_with_space_and_dot(self):
        self.assertTrue(self.check_list({"keywords": "industry 4.0"}))
        self.assertTrue(self.check_list({"email": "EXAMPLE.DE"}))

    def test_text_filter_is_on_the_stored_column_not_the_joined_address(self):
        self.check_list({"company_address": "Berlin"})


class ExactFilters(ApiTest):
    """Case-insensitive equality."""

    def test_each_exact_filter(self):
        for field in expect.EXACT_FILTERS:
            common, rare = common_and_rare(field)
            values = [NO_MATCH]
            if common is not None:
                values += [common.upper(), common.lower(), rare.swapcase()]
                if len(common) > 2:
                    values.append(common[:-1])  # a prefix is not equal
            for value in values:
                with self.subTest(field=field, value=value):
                    self.check_list({field: value})

    def test_every_exact_filter_field_has_data(self):
        self.assertEqual([f for f in expect.EXACT_FILTERS if not values_of(f)], [])

    def test_verified_matches_all_case_variants(self):
        got = self.walk("/api/contacts/", {"email_status": "Verified", "page_size": "100"})
        statuses = {c["email_status"] for c in got}
        self.assertTrue({"Verified", "verified", "VERIFIED"} <= statuses, statuses)
        self.assertEqual({s.casefold() for s in statuses}, {"verified"})

    def test_unicode_exact(self):
        self.check_list({"seniority": "director"})
        self.check_list({"stage": "LEAD"})


class NumericRanges(ApiTest):
    """Inclusive bounds; null never matches."""

    def test_each_numeric_range(self):
        for field in expect.NUMBER_FIELDS:
            vals = sorted(set(v for v in values_of(field)))
            self.assertTrue(vals, field)
            lo, mid, hi = vals[0], vals[len(vals) // 2], vals[-1]
            q1, q3 = vals[len(vals) // 4], vals[3 * len(vals) // 4]
            cases = [
                {field + "_min": str(mid)},
                {field + "_max": str(mid)},
                {field + "_min": str(q1), field + "_max": str(q3)},
                {field + "_min": str(mid), field + "_max": str(mid)},
                {field + "_min": "0"},
                {field + "_max": "0"},
                {field + "_min": str(lo)},
                {field + "_max": str(hi)},
                {field + "_min": str(hi + 1)},
                {field + "_min": str(q3), field + "_max": str(q1)},
            ]
            for params in cases:
                with self.subTest(params=params):
                    self.check_list(params)

    def test_min_equal_to_a_value_includes_it(self):
        for field in expect.NUMBER_FIELDS:
            v = sorted(set(values_of(field)))[len(set(values_of(field))) // 3]
            ids = self.check_list({field + "_min": str(v), field + "_max": str(v)})
            self.assertTrue(ids, "inclusive bounds must match %s=%s" % (field, v))

    def test_null_never_matches_a_range(self):
        got = self.walk("/api/contacts/", {"employees_min": "0", "page_size": "100"})
        self.assertTrue(all(c["employees"] is not None for c in got))
        self.assertEqual(len(got), len([c for c in self.dump if c["employees"] is not None]))

    def test_zero_is_a_value(self):
        got = self.walk("/api/contacts/", {"annual_revenue_max": "0", "page_size": "100"})
        self.assertIn("zero@example.com", {c["email"] for c in got})


class DateRanges(ApiTest):
    """Inclusive; RFC 3339 with Z or an offset, or a plain date (midnight UTC)."""

    def distinct_times(self, field):
        return sorted(set(c[field] for c in self.dump), key=expect.parse_utc_ns)

    def test_bounds_equal_to_a_stored_value_are_inclusive(self):
        for field in ("created_at", "updated_at"):
            times = self.distinct_times(field)
            x = times[len(times) // 2]
            for params in ({field + "_after": x}, {field + "_before": x},
                           {field + "_after": x, field + "_before": x}):
                with self.subTest(params=params):
                    ids = self.check_list(params)
                    self.assertTrue(ids)
            exact = self.check_list({field + "_after": x, field + "_before": x})
            self.assertEqual(len(exact), len([c for c in self.dump if c[field] == x]))

    def test_bounds_with_utc_offsets(self):
        for field in ("created_at", "updated_at"):
            times = self.distinct_times(field)
            for x in (times[0], times[len(times) // 3], times[-1]):
                ns = expect.parse_utc_ns(x)
                for minutes in (120, -330, 0):
                    bound = expect.format_with_offset(ns, minutes)
                    for suffix in ("_after", "_before"):
                        with self.subTest(param=field + suffix, bound=bound):
                            self.check_list({field + suffix: bound})

    def test_bounds_one_microsecond_away(self):
        times = self.distinct_times("created_at")
        x = expect.parse_utc_ns(times[len(times) // 2])
        for delta in (-1000, 1000):
            bound = expect.format_with_offset(x + delta, 0)
            for suffix in ("_after", "_before"):
                with self.subTest(bound=bound, suffix=suffix):
                    self.check_list({"created_at" + suffix: bound})

    def test_plain_dates(self):
        for field in ("created_at", "updated_at"):
            times = self.distinct_times(field)
            d = datetime.date.fromisoformat(times[0][:10])
            for day in (d - datetime.timedelta(days=1), d, d + datetime.timedelta(days=1)):
                for suffix in ("_after", "_before"):
                    with self.subTest(param=field + suffix, day=day.isoformat()):
                        self.check_list({field + suffix: day.isoformat()})

    def test_whole_seconds_without_fraction(self):
        times = self.distinct_times("created_at")
        x = times[len(times) // 2][:19] + "Z"
        self.check_list({"created_at_after": x})
        self.check_list({"created_at_before": x})


class Search(ApiTest):

    def pick_terms(self):
        c = next(c for c in self.dump if c["first_name"] and c["country"] and c["title"]
                 and " " not in c["first_name"] and " " not in c["country"]
                 and "," not in c["first_name"] and "," not in c["country"])
        return c

    def test_single_terms(self):
        common, rare = common_and_rare("first_name")
        for term in (common.lower(), rare.upper(), middle_piece(common, 3), NO_MATCH,
                     "example.com", "@"):
            with self.subTest(search=term):
                self.check_list({"search": term})

    def test_every_term_must_match_some_field(self):
        c = self.pick_terms()
        for value in ("%s %s" % (c["first_name"], c["country"]),
                      "%s,%s" % (c["first_name"].upper(), c["country"]),
                      "%s, %s" % (c["country"], c["first_name"].lower()),
                      "  %s\t%s  " % (c["first_name"], c["country"]),
                      "%s %s" % (c["first_name"], NO_MATCH)):
            with self.subTest(search=value):
                ids = self.check_list({"search": value})
                if NO_MATCH not in value:
                    self.assertIn(c["id"], ids)
                else:
                    self.assertEqual(ids, [])

    def test_search_looks_into_each_listed_field(self):
        for field in expect.SEARCH_FIELDS:
            common, rare = common_and_rare(field)
            if rare is None:
                continue
            term = sorted(rare.replace(",", " ").split(), key=len)[-1]
            with self.subTest(field=field, term=term):
                self.check_list({"search": term})

    def test_search_ignores_fields_not_listed(self):
        # company_address, website, phone numbers, meta_data are not searched
        for field in ("company_address", "website", "mobile_phone", "company_city"):
            common, rare = common_and_rare(field)
            if rare is None:
                continue
            term = sorted(rare.replace(",", " ").split(), key=len)[-1]
            with self.subTest(field=field, term=term):
                self.check_list({"search": term})
        self.check_list({"search": "Trade Fair"})

    def test_unicode_search(self):
        for value in ("müller", "MÜLLER", "éclair", "ÉCLAIR", "東京", "🚀", "straße",
                      "Jürgen,Germany", "ANNA müller"):
            with self.subTest(search=value):
                self.assertTrue(self.check_list({"search": value}))
        self.check_list({"search": "müller verified"})

    def test_search_with_sql_wildcards(self):
        for value in ("100%", "%", "_", "'", "lead_engineer"):
            with self.subTest(search=value):
                self.check_list({"search": value})


class Combinations(ApiTest):

    def test_filters_combine_with_and(self):
        common_country, _ = common_and_rare("country")
        common_title, _ = common_and_rare("title")
        common_sen, _ = common_and_rare("seniority")
        emp = sorted(values_of("employees"))
        times = sorted(set(c["created_at"] for c in self.dump), key=expect.parse_utc_ns)
        cases = [
            {"title": middle_piece(common_title, 3), "country": common_country},
            {"employees_min": str(emp[len(emp) // 4]), "seniority": common_sen.upper()},
            {"search": common_country.split()[0], "employees_min": str(emp[len(emp) // 2]),
             "employees_max": str(emp[-1])},
            {"created_at_after": times[len(times) // 3], "email_status": "verified"},
            {"country": "france", "last_name": "É"},
            {"country": common_country.lower(), "annual_revenue_min": "1",
             "total_funding_max": str(10 ** 12), "search": "a"},
            {"title": NO_MATCH, "country": common_country},
        ]
        for params in cases:
            with self.subTest(params=params):
                self.check_list(params)

    def test_unknown_parameters_are_ignored(self):
        self.check_list({"foo": "bar", "password": "x"})
        self.check_list({"title": "eng", "not_a_filter": "1", "id": "3"})

    def test_repeated_parameter_last_value_wins(self):
        common, _ = common_and_rare("country")
        pairs = [("country", NO_MATCH), ("country", common), ("page_size", "100")]
        got = self.walk("/api/contacts/", pairs)
        self.assert_ids(got, self.expected_ids({"country": common}), "repeated country")
        pairs = [("country", common), ("country", NO_MATCH)]
        self.assertEqual(self.get_json("/api/contacts/", pairs)["results"], [])
