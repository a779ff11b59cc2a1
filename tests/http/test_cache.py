"""Response cache (X-Cache-Hit, Cache-Control: no-cache, CONTACTS_CACHE_ENABLED) and the
invalidation after an import."""
import os
import time

import client as http
import harness
from harness import CORS_ORIGINS, CTX, ApiTest

_counter = [0]


def unique(prefix="cache"):
    _counter[0] += 1
    return "%s-%d-%d" % (prefix, os.getpid(), _counter[0])


class ResponseCache(ApiTest):
    needs_dump = False

    def targets(self):
        u = unique()
        return [("/api/contacts/", {"title": u}),
                ("/api/contacts/", {"ordering": "-employees", "country": u}),
                ("/api/contacts/count/", {"company": u}),
                ("/api/contacts/title/", {"search": u}),
                ("/api/contacts/keywords/", {"search": u, "separated": "true"}),
                ("/api/contacts/analytics/", {"limit": "37"})]

    def test_second_identical_request_is_a_hit(self):
        for path, params in self.targets():
            with self.subTest(path=path, params=params):
                a = self.get(path, params)
                self.assertEqual(a.status, 200)
                self.assertIsNone(a.header("X-Cache-Hit"), "first request is not a hit")
                b = self.get(path, params)
                self.assertEqual(b.header("X-Cache-Hit"), "true")
                self.assertEqual(b.json(), a.json())
                self.assert_json_type(b)

    def test_no_cache_request_bypasses_the_cache(self):
        u = unique()
        params = {"first_name": u}
        self.get("/api/contacts/", params)
        self.assertEqual(self.get("/api/contacts/", params).header("X-Cache-Hit"), "true")
        r = self.get("/api/contacts/", params, headers={"Cache-Control": "no-cache"})
        self.assertEqual(r.status, 200)
        self.assertIsNone(r.header("X-Cache-Hit"))
        r = self.get("/api/contacts/analytics/", {"limit": "29"},
                     headers={"Cache-Control": "no-cache"})
        self.assertIsNone(r.header("X-Cache-Hit"))

    def test_parameter_order_does_not_matter(self):
        u = unique()
        a = self.get("/api/contacts/", [("title", u), ("country", "a"), ("page_size", "3")])
        self.assertIsNone(a.header("X-Cache-Hit"))
        b = self.get("/api/contacts/", [("page_size", "3"), ("country", "a"), ("title", u)])
        self.assertEqual(b.header("X-Cache-Hit"), "true")
        c = self.get("/api/contacts/count/", [("title", u), ("country", "a")])
        d = self.get("/api/contacts/count/", [("country", "a"), ("title", u)])
        self.assertIsNone(c.header("X-Cache-Hit"))
        self.assertEqual(d.header("X-Cache-Hit"), "true")

    def test_different_parameters_are_different_entries(self):
        u = unique()
        self.get("/api/contacts/", {"title": u})
        self.assertIsNone(self.get("/api/contacts/", {"title": u + "x"}).header("X-Cache-Hit"))
        self.assertIsNone(self.get("/api/contacts/", {"title": u, "page_size": "3"})
                          .header("X-Cache-Hit"))
        self.assertIsNone(self.get("/api/contacts/count/", {"title": u}).header("X-Cache-Hit"))

    def test_unknown_parameters_share_the_entry_and_stay_in_the_links(self):
        """Contract section 11: junk parameters are no new cache entries (memory), and
        section 4: links keep every parameter of the request."""
        u = unique()
        first = self.get("/api/contacts/", {"title": "e", "page_size": "2", "junk0": u})
        self.assertEqual(first.status, 200)
        for i in range(1, 4):
            r = self.get("/api/contacts/", {"title": "e", "page_size": "2", "junk%d" % i: u})
            self.assertEqual(r.header("X-Cache-Hit"), "true", "junk%d made a new entry" % i)
            body = r.json()
            self.assertEqual(body["results"], first.json()["results"])
            _, _, _, pairs = http.split_url(body["next"])
            self.assertEqual(dict(pairs).get("junk%d" % i), u, body["next"])
            self.assertNotIn("junk0", dict(pairs))
        r = self.get("/api/contacts/count/", {"title": "e", "x": u})
        self.assertEqual(r.header("X-Cache-Hit"), None)
        r = self.get("/api/contacts/count/", {"title": "e", "y": u})
        self.assertEqual(r.header("X-Cache-Hit"), "true")

    def test_cache_hit_carries_the_request_id_of_the_new_request(self):
        params = {"title": unique()}
        a = self.get("/api/contacts/", params, headers={"X-Request-Id": "first-id"})
        b = self.get("/api/contacts/", params, headers={"X-Request-Id": "second-id"})
        self.assertEqual(a.header("X-Request-Id"), "first-id")
        self.assertEqual(b.header("X-Cache-Hit"), "true")
        self.assertEqual(b.header("X-Request-Id"), "second-id")

    def test_cache_hit_carries_cors_of_the_new_request(self):
        cc = harness.cors_server().client
        params = {"company": unique()}
        self.get("/api/contacts/", params, headers={"Origin": CORS_ORIGINS[0]}, client=cc)
        b = self.get("/api/contacts/", params, headers={"Origin": CORS_ORIGINS[1]}, client=cc)
        self.assertEqual(b.header("X-Cache-Hit"), "true")
        self.assertEqual(b.header("Access-Control-Allow-Origin"), CORS_ORIGINS[1])
        c = self.get("/api/contacts/", params, client=cc)
        self.assertIsNone(c.header("Access-Control-Allow-Origin"))

    def test_cached_links_follow_the_host_of_the_new_request(self):
        params = {"page_size": "2", "title": "e", "last_name": "a"}
        a = self.get_json("/api/contacts/", params, headers={"Host": "one.example:8001"})
        b = self.get_json("/api/contacts/", params, headers={"Host": "two.example:8002"})
        self.assertTrue(a["next"].startswith("http://one.example:8001/"), a["next"])
        self.assertTrue(b["next"].startswith("http://two.example:8002/"), b["next"])
        c = self.get_json("/api/contacts/", params, headers={
            "Host": "one.example:8001", "X-Forwarded-Proto": "https",
            "X-Forwarded-Host": "three.example"})
        self.assertTrue(c["next"].startswith("https://three.example/"), c["next"])

    def test_disabled_cache_never_hits(self):
        c = CTX.nocache.client
        for path, params in self.targets():
            with self.subTest(path=path):
                for _ in range(3):
                    r = self.get(path, params, client=c)
                    self.assertEqual(r.status, 200)
                    self.assertIsNone(r.header("X-Cache-Hit"))


class CacheInvalidationAfterImport(ApiTest):
    """An import done while the server runs shows within a few seconds, cache or not."""
    needs_dump = False
    server = None

    @classmethod
    def setUpClass(cls):
        if CTX.error:
            return
        root = os.path.join(CTX.root, "live")
        os.makedirs(root, exist_ok=True)
        data = os.path.join(root, "data")
        os.makedirs(data, exist_ok=True)
        harness.run_import("live-tricky", os.path.join(harness.FIXTURES, "tricky.csv"), data)
        cls.data = data
        cls.server = harness.Server("live", CTX.binary, data, CTX.root, {
            "CONTACTS_CACHE_ENABLED": "true", "CONTACTS_LIST_CACHE_TTL": "600",
            "CONTACTS_FIELD_CACHE_TTL": "600", "CONTACTS_ANALYTICS_CACHE_TTL": "600"})
        CTX.servers.append(cls.server)
        cls.server.start()

    @classmethod
    def tearDownClass(cls):
        if cls.server is not None:
            cls.server.stop()

    def test_cached_responses_change_after_an_import_completes(self):
        self.assertIsNotNone(self.server)
        c = self.server.client
        count_q = {"country": "canada"}
        list_q = {"country": "canada", "page_size": "100"}
        field_q = {"search": "Fresh"}
        before = c.get("/api/contacts/count/", count_q).json()["count"]
        self.assertEqual(before, 2)  # Padded Tabbed and Zero in tricky.csv
        c.get("/api/contacts/", list_q)
        c.get("/api/contacts/company/", field_q)
        an = c.get("/api/contacts/analytics/").json()
        self.assertEqual(c.get("/api/contacts/count/", count_q).header("X-Cache-Hit"), "true")
        self.assertEqual(c.get("/api/contacts/company/", field_q).header("X-Cache-Hit"), "true")
        info = harness.run_import("live-update", os.path.join(harness.FIXTURES, "update.csv"),
                                  self.data)
        self.assertEqual(info["rc"], 0, info["stderr"])
        deadline = time.time() + 10
        while time.time() < deadline:
            if c.get("/api/contacts/count/", count_q).json()["count"] == 3:
                break
            time.sleep(0.25)
        self.assertEqual(c.get("/api/contacts/count/", count_q).json()["count"], 3)
        emails = [x["email"] for x in c.get("/api/contacts/", list_q).json()["results"]]
        self.assertIn("new.person@example.org", emails)
        rows = c.get("/api/contacts/company/", field_q).json()["results"]
        self.assertEqual([r["company"] for r in rows], ["Fresh Co"])
        an2 = c.get("/api/contacts/analytics/").json()
        self.assertEqual(an2["total_contacts"], an["total_contacts"] + 1)
        anna = c.get("/api/contacts/", {"email": "anna.mueller@example.de"}).json()["results"]
        self.assertEqual([a["last_name"] for a in anna], ["Müller-Schmidt"])


class CacheLifetime(ApiTest):
    """CONTACTS_*_CACHE_TTL: an entry is served from the cache only within its lifetime."""
    needs_dump = False
    server = None

    @classmethod
    def setUpClass(cls):
        if CTX.error or CTX.ttl_data is None:
            return
        cls.server = harness.Server("ttl", CTX.binary, CTX.ttl_data, CTX.root, {
            "CONTACTS_CACHE_ENABLED": "true", "CONTACTS_LIST_CACHE_TTL": "1",
            "CONTACTS_FIELD_CACHE_TTL": "1", "CONTACTS_ANALYTICS_CACHE_TTL": "1"})
        CTX.servers.append(cls.server)
        try:
            cls.server.start(timeout=60)
        except RuntimeError as e:
            cls.start_error = str(e)

    @classmethod
    def tearDownClass(cls):
        if cls.server is not None:
            cls.server.stop()

    def test_entries_expire_after_their_ttl(self):
        self.assertIsNotNone(self.server)
        self.assertTrue(self.server.alive(), self.server.stderr_tail(2000))
        c = self.server.client
        targets = [("/api/contacts/", {"title": "ttl-a"}), ("/api/contacts/title/", {"search": "x"}),
                   ("/api/contacts/analytics/", {"limit": "4"})]
        cached_at = {}
        for path, params in targets:
            # The entry is stored while the miss is answered: not before the request is sent
            # (timing from the answer's arrival made a slow answer look like an early expiry).
            cached_at[path] = time.monotonic()
            self.assertIsNone(c.get(path, params).header("X-Cache-Hit"), path)
            self.assertEqual(c.get(path, params).header("X-Cache-Hit"), "true", path)
        # Each entry is served until its TTL (1 s) is over, then no more: poll for the first
        # miss (which caches the answer again, so stop there).
        for path, params in targets:
            while c.get(path, params).header("X-Cache-Hit") == "true":
                self.assertLess(time.monotonic() - cached_at[path], 5, "never expired: " + path)
                time.sleep(0.05)
            self.assertGreater(time.monotonic() - cached_at[path], 0.95, "expired early: " + path)
