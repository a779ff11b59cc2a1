"""HTTP conventions (contract section 1 and 10): routes, slashes, errors, 405, request ids,
CORS, content types, static routes."""
import json

import client as http
import expect
import harness
from harness import CORS_ORIGINS, CTX, ApiTest

READ_METHODS = {"GET", "HEAD", "OPTIONS"}


def normalise_links(body):
    """Links differ only by the trailing slash of the request path."""
    body = dict(body)
    for k in ("next", "previous"):
        if body.get(k):
            scheme, netloc, path, pairs = http.split_url(body[k])
            body[k] = (scheme, netloc, path.rstrip("/"), sorted(pairs))
    body.pop("generated_at", None)
    return body


class Routes(ApiTest):

    def read_routes(self):
        cid = self.dump[0]["id"]
        routes = [("/api/contacts/", {"country": "a", "page_size": "5"}),
                  ("/api/contacts/", {"ordering": "-employees", "limit": "5", "offset": "5"}),
                  ("/api/contacts/count/", {"country": "a"}),
                  ("/api/contacts/analytics/", {"limit": "5"}),
                  ("/api/contacts/%d/" % cid, None),
                  ("/api/health/", None)]
        for f in expect.FIELD_ENDPOINTS:
            routes.append(("/api/contacts/%s/" % f, {"limit": "5", "offset": "5"}))
        routes.append(("/api/contacts/keywords/", {"separated": "true", "limit": "5"}))
        return routes

    def test_with_and_without_trailing_slash_same_result_no_redirect(self):
        for path, params in self.read_routes():
            with self.subTest(path=path):
                a = self.get_json(path, params)
                r = self.get(path.rstrip("/"), params)
                self.assertEqual(r.status, 200, r.describe())
                self.assert_json_type(r)
                self.assertEqual(normalise_links(r.json()), normalise_links(a))

    def test_import_route_with_and_without_slash_same_answer(self):
        a = self.get("/api/contacts/import/")
        b = self.get("/api/contacts/import")
        self.assertEqual((a.status, a.json()), (b.status, b.json()))
        self.assertNotIn(a.status, (301, 302, 307, 308))

    def test_unknown_route_is_404_json(self):
        for path in ("/api/nope/", "/api/contacts/1/extra/", "/nope", "/api/contacts/title/x/",
                     "/api/contactsx/", "/api/"):
            with self.subTest(path=path):
                self.assert_error(self.get(path), 404, expect.MSG_NOT_FOUND)

    def test_wrong_method_is_405_with_allow(self):
        cid = self.dump[0]["id"]
        paths = ["/api/contacts/", "/api/contacts", "/api/contacts/count/",
                 "/api/contacts/analytics/", "/api/contacts/%d/" % cid, "/api/health/",
                 "/api/contacts/title/", "/api/contacts/contact_address"]
        for path in paths:
            for method in ("PUT", "DELETE", "PATCH", "POST"):
                with self.subTest(path=path, method=method):
                    r = self.c.request(method, path, headers={"Content-Length": "0"}, body=b"")
                    self.assert_error(r, 405, expect.msg_method(method))
                    allow = {m.strip() for m in (r.header("Allow") or "").split(",")}
                    self.assertEqual(allow, READ_METHODS, r.header("Allow"))

    def test_head_answers_without_a_body(self):
        r = self.c.request("HEAD", "/api/health/")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.body, b"")
        r = self.c.request("HEAD", "/api/contacts/?page_size=2")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.body, b"")
        self.assertEqual(self.get_json("/api/health/"), {"status": "ok"})

    def test_health(self):
        self.assertEqual(self.get_json("/api/health/"), {"status": "ok"})
        self.assertEqual(self.get_json("/api/health"), {"status": "ok"})

    def test_load_balancer_probes(self):
        self.assertEqual(self.get_json("/healthz"), {"status": "ok"})
        ready = self.get_json("/readyz")
        self.assertEqual((ready["status"], ready["store"]), ("ready", "ok"))
        self.assertEqual(ready["cache"], "redis" if harness.REDIS_URL else "in-process")
        self.assertEqual(self.c.request("HEAD", "/readyz").status, 200)
        r = self.c.request("POST", "/readyz")
        self.assertEqual(r.status, 405, r.describe())

    def test_favicon_is_204_without_body(self):
        r = self.get("/favicon.ico")
        self.assertEqual(r.status, 204)
        self.assertEqual(r.body, b"")

    def test_root_is_200(self):
        r = self.get("/")
        self.assertEqual(r.status, 200, r.describe())
        self.assertTrue(r.body)

    def test_json_content_type_everywhere(self):
        for path, params in self.read_routes():
            with self.subTest(path=path):
                self.assert_json_type(self.get(path, params))
        self.assert_json_type(self.get("/api/nope"))
        self.assert_json_type(self.get("/api/contacts/", {"page_size": "x"}))

    def test_responses_are_valid_utf8_json(self):
        r = self.get("/api/contacts/", {"search": "müller", "email": "juergen"})
        self.assertEqual(r.status, 200)
        body = json.loads(r.body.decode("utf-8"))
        self.assertIn("MÜLLER", [c["last_name"] for c in body["results"]])


class RequestId(ApiTest):

    def rid(self, value=None, path="/api/health/"):
        headers = {} if value is None else {"X-Request-Id": value}
        return self.get(path, headers=headers).header("X-Request-Id")

    def test_printable_ascii_id_is_echoed(self):
        for value in ("abc-123", "req 42 with spaces", "~!@#$%^&*()_+{}|:<>?[];',./`=",
                      "x" * 200):
            with self.subTest(value=value):
                self.assertEqual(self.rid(value), value)

    def test_echoed_on_errors_and_lists(self):
        self.assertEqual(self.rid("err-1", "/api/nope/"), "err-1")
        self.assertEqual(self.rid("err-2", "/api/contacts/?page_size=abc"), "err-2")
        self.assertEqual(self.rid("list-1", "/api/contacts/?page_size=2"), "list-1")

    def test_generated_when_absent(self):
        a, b = self.rid(), self.rid()
        self.assertTrue(a)
        self.assertTrue(b)
        self.assertNotEqual(a, b)

    def test_generated_when_too_long_or_not_printable_ascii(self):
        for value in ("y" * 201, "tab\tinside", "idé", "ünïcode"):
            with self.subTest(value=value):
                got = self.rid(value)
                self.assertTrue(got)
                self.assertNotEqual(got, value)
                self.assertLessEqual(len(got), 200)
                self.assertTrue(all(0x20 <= ord(ch) < 0x7f for ch in got), got)


class Cors(ApiTest):

    def preflight(self, client, origin, path="/api/contacts/"):
        return client.request("OPTIONS", path, headers={
            "Origin": origin, "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "content-type, x-request-id"})

    @property
    def cc(self):
        return harness.cors_server().client

    def test_preflight_is_answered_for_allowed_origin(self):
        cc = self.cc
        for origin in CORS_ORIGINS:
            for path in ("/api/contacts/", "/api/contacts/count", "/api/contacts/title/"):
                with self.subTest(origin=origin, path=path):
                    r = self.preflight(cc, origin, path)
                    self.assertIn(r.status, (200, 204), r.describe())
                    self.assertEqual(r.header("Access-Control-Allow-Origin"), origin)
                    methods = {m.strip().upper() for m in
                               (r.header("Access-Control-Allow-Methods") or "").split(",")}
                    self.assertIn("GET", methods)
                    allowed = {h.strip().lower() for h in
                               (r.header("Access-Control-Allow-Headers") or "").split(",")}
                    if "*" not in allowed:
                        self.assertTrue({"content-type", "x-request-id"} <= allowed, allowed)

    def test_simple_get_gets_allow_origin(self):
        for origin in CORS_ORIGINS:
            r = self.get("/api/contacts/", {"page_size": "1"}, headers={"Origin": origin},
                         client=self.cc)
            self.assertEqual(r.status, 200)
            self.assertEqual(r.header("Access-Control-Allow-Origin"), origin)
            # A browser script can read the request id, the cache flag, when to retry (429,
            # 503) and an export's file name.
            exposed = {h.strip().lower() for h in
                       (r.header("Access-Control-Expose-Headers") or "").split(",")}
            self.assertEqual(exposed, {"x-request-id", "x-cache-hit", "retry-after",
                                       "content-disposition"})

    def test_other_origin_gets_no_allow_origin(self):
        r = self.get("/api/contacts/", {"page_size": "1"},
                     headers={"Origin": "https://evil.example.net"}, client=self.cc)
        self.assertEqual(r.status, 200)
        self.assertIsNone(r.header("Access-Control-Allow-Origin"))
        r = self.preflight(self.cc, "https://evil.example.net")
        self.assertIsNone(r.header("Access-Control-Allow-Origin"))

    def test_vary_origin_on_every_response_when_configured(self):
        """A shared cache must not give one origin's answer (or a no-origin answer) to another
        (issue 13): Vary: Origin with and without an Origin header."""
        cc = self.cc
        for headers in ({}, {"Origin": CORS_ORIGINS[0]}, {"Origin": "https://evil.example.net"}):
            for path, params in (("/api/contacts/", {"page_size": "1"}), ("/api/contacts/count/", {}),
                                 ("/api/health/", {}), ("/api/contacts/nope/", {}),
                                 ("/api/contacts/", {"ordering": "bogus"})):
                with self.subTest(path=path, headers=headers, params=params):
                    r = self.get(path, params, headers=dict(headers), client=cc)
                    vary = [v.strip().lower() for v in (r.header("Vary") or "").split(",")]
                    self.assertIn("origin", vary, r.describe())
        # Twice through the cache: the hit carries it too.
        for _ in range(2):
            r = self.get("/api/contacts/", {"page_size": "2"}, client=cc)
            self.assertIn("origin", (r.header("Vary") or "").lower())

    def test_no_cors_headers_when_not_configured(self):
        for c in (CTX.nocache.client, CTX.main.client):
            for r in (self.get("/api/contacts/", {"page_size": "1"}, client=c,
                               headers={"Origin": CORS_ORIGINS[0]}),
                      self.preflight(c, CORS_ORIGINS[0])):
                cors = [k for k, _ in r.headers if k.lower().startswith("access-control-")]
                self.assertEqual(cors, [], r.describe())
