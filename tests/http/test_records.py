"""Shape of the contact record in list and retrieve responses (contract section 2)."""
import expect
from harness import CTX, ApiTest


class ContactRecord(ApiTest):

    def test_ids_are_unique_positive_integers(self):
        ids = [c["id"] for c in self.dump]
        self.assertTrue(all(type(i) is int and i > 0 for i in ids), ids[:20])
        self.assertEqual(len(ids), len(set(ids)))

    def test_text_fields_are_strings_never_null(self):
        for c in self.dump:
            for f in expect.TEXT_FIELDS:
                self.assertIs(type(c[f]), str, "%s of %s: %r" % (f, c["id"], c[f]))

    def test_number_fields_are_integers_or_null(self):
        seen_null = seen_int = False
        for c in self.dump:
            for f in expect.NUMBER_FIELDS:
                v = c[f]
                self.assertTrue(v is None or type(v) is int, "%s of %s: %r" % (f, c["id"], v))
                seen_null |= v is None
                seen_int |= type(v) is int
        self.assertTrue(seen_null and seen_int)

    def test_times_are_rfc3339_utc_with_z_and_updated_not_before_created(self):
        for c in self.dump:
            for f in expect.TIME_FIELDS:
                self.assertRegex(c[f], expect.RFC3339_Z)
            self.assertGreaterEqual(expect.parse_utc_ns(c["updated_at"]),
                                    expect.parse_utc_ns(c["created_at"]))

    def test_meta_data_is_an_object(self):
        for c in self.dump:
            self.assertIs(type(c["meta_data"]), dict)
            self.assertTrue(all(type(v) is str and v != "" for v in c["meta_data"].values()))

    def test_list_items_with_include_meta_carry_every_retrieve_field(self):
        for c in self.dump:
            self.assertEqual(set(c), expect.RETRIEVE_KEYS)

    def test_list_items_without_include_meta_have_no_meta_data_and_same_values(self):
        lean = self.walk("/api/contacts/", {"page_size": "100"})
        self.assertEqual(len(lean), len(self.dump))
        for item, full in zip(lean, self.dump):
            self.assertEqual(set(item), expect.LIST_KEYS)
            expected = dict(full)
            del expected["meta_data"]
            self.assertEqual(item, expected)

    def test_include_meta_accepts_boolean_spellings(self):
        for value, present in (("true", True), ("TRUE", True), ("1", True), ("yes", True),
                               ("Yes", True), ("false", False), ("0", False), ("no", False),
                               ("False", False)):
            body = self.get_json("/api/contacts/", {"page_size": "3", "include_meta": value})
            self.assertEqual(len(body["results"]), 3)
            for item in body["results"]:
                self.assertEqual("meta_data" in item, present, "include_meta=%s" % value)

    def sample_ids(self):
        old = {c["id"] for c in (CTX.phase1_dump or [])}
        ids = sorted(c["id"] for c in self.dump)
        return sorted(old | set(ids[::40]) | {ids[0], ids[-1]})

    def test_retrieve_equals_list_item_with_meta_data(self):
        by_id = self.by_id()
        for cid in self.sample_ids():
            body = self.get_json("/api/contacts/%d/" % cid)
            self.assertEqual(set(body), expect.RETRIEVE_KEYS)
            self.assertEqual(body, by_id[cid])

    def test_retrieve_without_trailing_slash(self):
        cid = self.dump[0]["id"]
        self.assertEqual(self.get_json("/api/contacts/%d" % cid), self.by_id()[cid])

    def test_retrieve_of_tricky_contact_keeps_unicode_newlines_and_quotes(self):
        c = [c for c in self.dump if c["email"] == "juergen.mueller@example.de"]
        self.assertEqual(len(c), 1)
        body = self.get_json("/api/contacts/%d/" % c[0]["id"])
        self.assertEqual(body["last_name"], "MÜLLER")
        self.assertEqual(body["company_name_for_emails"], "Müller Söhne")
        self.assertEqual(body["city"], "Berlin")
        self.assertEqual(body["employees"], 1500000)
        self.assertEqual(body["annual_revenue"], 1500000)
        self.assertEqual(body["total_funding"], 0)
        self.assertEqual(body["latest_funding_amount"], 2500000)
        self.assertEqual(body["meta_data"], {"Lead Source": "Trade Fair", "Custom Score": "87"})
        c = [c for c in self.dump if c["first_name"] == "Ａｌｉｃｅ"]
        self.assertEqual(len(c), 1)
        body = self.get_json("/api/contacts/%d/" % c[0]["id"])
        self.assertEqual(body["company_address"], "1-2-3 Marunouchi\r\nChiyoda")

    def test_retrieve_unknown_id_is_404(self):
        top = max(c["id"] for c in self.dump)
        for target in (str(top + 1), str(top + 1000000), "0", "999999999999",
                       "99999999999999999999999"):
            self.assert_error(self.get("/api/contacts/%s/" % target), 404, expect.MSG_NOT_FOUND)

    def test_retrieve_non_integer_id_is_404(self):
        for target in ("abc", "-1", "1.5", "1e3", "%20"):
            self.assert_error(self.get("/api/contacts/%s/" % target), 404, expect.MSG_NOT_FOUND)
