"""Cursor pagination (contract section 4): default ordering -created_at then -id."""
import base64
import collections

import client as http
import expect
from harness import CTX, ApiTest

INVALID_CURSORS = ["garbage", "!!!", "' OR 1=1 --", "AAAA", "%00", "\x00",
                   base64.urlsafe_b64encode(b"1; DROP TABLE contacts; --").decode(),
                   base64.b64encode(b'{"created_at": "x\' OR 1=1", "id": "1 OR 1=1"}').decode()]


class CursorPagination(ApiTest):

    def subset_params(self, low, high):
        """A country filter that matches between low and high contacts."""
        counts = collections.Counter(c["country"] for c in self.dump if c["country"])
        for value, n in sorted(counts.items(), key=lambda kv: (kv[1], kv[0])):
            if low <= n <= high:
                return {"country": value}
        return {"search": "a", "country": sorted(counts)[0]}

    def check_pages(self, pages, size, expected_ids, what):
        got = [r for p in pages for r in p["results"]]
        self.assert_ids(got, expected_ids, what)
        self.assertIsNone(pages[0]["previous"], "previous on the first page: " + what)
        self.assertIsNone(pages[-1]["next"], "next on the last page: " + what)
        for i, p in enumerate(pages):
            if i < len(pages) - 1:
                self.assertEqual(len(p["results"]), size, "page %d of %s" % (i, what))
            self.assertEqual(p["meta"]["returned_records"], len(p["results"]))
            self.assertEqual(p["meta"]["page_size"], size)
            if i > 0:
                self.assertIsNotNone(p["previous"], "previous is null on page %d of %s" % (i, what))

    def walk_back(self, pages):
        """From the last page follow previous links to the first; return pages in order."""
        back = [pages[-1]]
        while back[-1]["previous"]:
            if len(back) > len(pages) + 2:
                self.fail("previous links go on beyond the first page")
            r = self.c.follow(back[-1]["previous"])
            self.assertEqual(r.status, 200, r.describe())
            back.append(r.json())
        back.reverse()
        return back

    def test_dump_order_is_created_at_desc_then_id_desc(self):
        self.assert_ids(self.dump, [c["id"] for c in expect.cursor_order(self.dump)], "dump")

    def test_page_size_7_forward_then_previous_links_back(self):
        pages = self.walk_pages("/api/contacts/", {"page_size": "7"})
        self.check_pages(pages, 7, [c["id"] for c in expect.cursor_order(self.dump)],
                         "page_size=7")
        back = self.walk_back(pages)
        self.assertEqual(len(back), len(pages))
        for i, (a, b) in enumerate(zip(pages, back)):
            self.assertEqual([r["id"] for r in b["results"]], [r["id"] for r in a["results"]],
                             "page %d reached through previous links" % i)

    def test_page_size_1_on_a_filtered_subset(self):
        params = self.subset_params(8, 60)
        pages = self.walk_pages("/api/contacts/", dict(params, page_size="1"))
        self.check_pages(pages, 1, self.expected_ids(params), "page_size=1 %s" % params)
        back = self.walk_back(pages)
        self.assertEqual([p["results"] for p in back], [p["results"] for p in pages])

    def test_page_size_100(self):
        pages = self.walk_pages("/api/contacts/", {"page_size": "100"})
        self.check_pages(pages, 100, [c["id"] for c in expect.cursor_order(self.dump)],
                         "page_size=100")

    def test_ascending_created_at_forward_and_back(self):
        params = self.subset_params(40, 400)
        pages = self.walk_pages("/api/contacts/", dict(params, page_size="9",
                                                       ordering="created_at"))
        self.check_pages(pages, 9, self.expected_ids(params, "created_at"), "created_at asc")
        back = self.walk_back(pages)
        self.assertEqual([p["results"] for p in back], [p["results"] for p in pages])

    def test_default_page_size_is_25(self):
        body = self.get_json("/api/contacts/")
        self.assertEqual(len(body["results"]), 25)
        self.assertEqual(body["meta"]["page_size"], 25)
        self.assertIsNone(body["previous"])
        self.assertIsNotNone(body["next"])

    def test_page_size_above_100_is_capped(self):
        expected = [c["id"] for c in expect.cursor_order(self.dump)][:100]
        for size in ("101", "500", "1000000"):
            body = self.get_json("/api/contacts/", {"page_size": size})
            self.assertEqual([r["id"] for r in body["results"]], expected, size)
            self.assertEqual(body["meta"]["page_size"], 100)
            self.assertEqual(body["meta"]["page_size_cap"], 100)

    def test_single_page_has_no_links(self):
        body = self.get_json("/api/contacts/", {"email": "juergen.mueller@example.de"})
        self.assertEqual(len(body["results"]), 1)
        self.assertIsNone(body["next"])
        self.assertIsNone(body["previous"])

    def test_empty_result(self):
        body = self.get_json("/api/contacts/", {"title": "zq-no-match-xj"})
        self.assertEqual((body["results"], body["next"], body["previous"]), ([], None, None))
        self.assertEqual(body["meta"]["returned_records"], 0)

    def test_invalid_cursor_is_404(self):
        for cursor in INVALID_CURSORS:
            with self.subTest(cursor=cursor):
                self.assert_error(self.get("/api/contacts/", {"cursor": cursor}), 404,
                                  expect.MSG_INVALID_CURSOR)

    def test_garbled_real_cursor_is_404(self):
        body = self.get_json("/api/contacts/", {"page_size": "5"})
        _, _, _, pairs = http.split_url(body["next"])
        cursor = dict(pairs)["cursor"]
        for bad in (cursor + "!!", "!" + cursor[1:], cursor[: len(cursor) // 2] + "~~~"):
            with self.subTest(cursor=bad):
                self.assert_error(self.get("/api/contacts/", {"cursor": bad, "page_size": "5"}),
                                  404, expect.MSG_INVALID_CURSOR)


class CursorLinks(ApiTest):

    def test_links_keep_every_other_query_parameter(self):
        params = [("country", "a"), ("page_size", "3"), ("include_meta", "true"),
                  ("foo", "bar baz"), ("title", "e")]
        body = self.get_json("/api/contacts/", params)
        self.assertIsNotNone(body["next"])
        _, _, path, pairs = http.split_url(body["next"])
        self.assertEqual(path, "/api/contacts/")
        got = dict(pairs)
        self.assertIn("cursor", got)
        for k, v in params:
            self.assertEqual(got.get(k), v, "parameter %s lost in next link %s" % (k, body["next"]))
        page2 = self.c.follow(body["next"]).json()
        _, _, _, pairs = http.split_url(page2["previous"])
        got = dict(pairs)
        for k, v in params:
            self.assertEqual(got.get(k), v, "parameter %s lost in previous link" % k)

    def test_links_are_absolute_urls_from_the_host_header(self):
        body = self.get_json("/api/contacts/", {"page_size": "2"},
                             headers={"Host": "contacts.example.test:8443"})
        self.assertTrue(body["next"].startswith("http://contacts.example.test:8443/api/contacts/?"),
                        body["next"])

    def test_links_default_to_the_connection_host(self):
        body = self.get_json("/api/contacts/", {"page_size": "2"})
        self.assertTrue(body["next"].startswith("http://127.0.0.1:%d/api/contacts/?" % CTX.main.port),
                        body["next"])

    def test_forwarded_headers_are_used_when_proxy_is_trusted(self):
        body = self.get_json("/api/contacts/", {"page_size": "2"},
                             headers={"X-Forwarded-Proto": "https",
                                      "X-Forwarded-Host": "api.example.org"})
        self.assertTrue(body["next"].startswith("https://api.example.org/api/contacts/?"),
                        body["next"])

    def test_forwarded_headers_are_ignored_without_trust_proxy(self):
        body = self.get_json("/api/contacts/", {"page_size": "2"}, client=CTX.nocache.client,
                             headers={"X-Forwarded-Proto": "https",
                                      "X-Forwarded-Host": "api.example.org"})
        self.assertTrue(body["next"].startswith("http://127.0.0.1:%d/api/contacts/?" %
                                                CTX.nocache.port), body["next"])

    def test_limit_offset_links_keep_parameters_and_host(self):
        body = self.get_json("/api/contacts/", {"ordering": "-employees", "limit": "4",
                                                "offset": "8", "country": "a"},
                             headers={"Host": "h.example:81"})
        for link, offset in (("next", 12), ("previous", 4)):
            url = body[link]
            self.assertTrue(url.startswith("http://h.example:81/api/contacts/?"), url)
            _, _, _, pairs = http.split_url(url)
            got = dict(pairs)
            self.assertEqual((got.get("ordering"), got.get("limit"), got.get("country")),
                             ("-employees", "4", "a"), url)
            self.assertEqual(got.get("offset"), str(offset), url)
