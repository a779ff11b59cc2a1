"""GET /metrics over HTTP, on a server of this module's own (in-process cache, one import
worker): the page is the Prometheus text format, request counters and latency histograms move
exactly as the requests made, cache lookups show hits, misses and bypasses, and an import moves
the rows and jobs metrics."""
import os
import time
import unittest
import uuid

import harness
from harness import CTX
from metrics_text import CONTENT_TYPE, Exposition, delta, labels
from test_import_jobs import ADMIN, BOUNDARY, multipart, people_csv, token, wait_job

REQUESTS = "contacts_http_requests_total"
LATENCY = "contacts_http_request_duration_seconds"
CACHE = "contacts_cache_lookups_total"


class Env:
    server = None
    error = None


def metrics_server():
    if Env.server is None and Env.error is None:
        try:
            data = os.path.join(CTX.root, "data-metrics")
            os.makedirs(data, exist_ok=True)
            harness.create_user(data, "create-admin", ADMIN[0], ADMIN[1], via_stdin=False)
            server = harness.Server("metrics", CTX.binary, data, CTX.root, {
                "CONTACTS_CACHE_ENABLED": "true", "CONTACTS_IMPORT_WORKERS": "1"})
            CTX.servers.append(server)
            server.start(timeout=60)
            Env.server = server
        except Exception as e:  # noqa: BLE001
            Env.error = "metrics server did not start: %s" % e
    if Env.error:
        raise AssertionError(Env.error)
    return Env.server


class MetricsTest(unittest.TestCase):
    maxDiff = 6000

    def setUp(self):
        self.s = metrics_server()
        self.c = self.s.client

    def scrape(self, client=None):
        """The page, checked and parsed. Asked on the test's own connection, so every request
        made before on it has been recorded (the server records an answer before it reads the
        next request of that connection)."""
        r = (client or self.c).get("/metrics")
        self.assertEqual(r.status, 200, r.describe())
        self.assertEqual(r.header("Content-Type"), CONTENT_TYPE)
        return Exposition(r.body.decode("utf-8"))

    def upload(self, auth, body_csv):
        h = dict(auth, **{"Content-Type": "multipart/form-data; boundary=" + BOUNDARY})
        r = self.c.request("POST", "/api/contacts/import/", headers=h,
                           body=multipart("file", "m.csv", body_csv))
        self.assertEqual(r.status, 201, r.describe())
        return r.json()["job_id"]

    def import_rows(self, rows, prefix):
        auth = {"Authorization": "Bearer " + token(self.c, ADMIN)}
        job = wait_job(self, self.c, auth, self.upload(auth, people_csv(rows, prefix=prefix)))
        self.assertEqual(job["status"], "completed")


class MetricsPage(MetricsTest):

    def test_page_is_the_text_format_with_every_documented_family(self):
        page = self.scrape()
        expected = {
            REQUESTS: "counter", LATENCY: "histogram", CACHE: "counter",
            "contacts_import_rows_total": "counter", "contacts_import_jobs": "gauge",
            "contacts_store_errors_total": "counter", "contacts_store_up": "gauge",
            "contacts_index_rows": "gauge", "contacts_index_data_version": "gauge",
            "contacts_index_parts": "gauge", "contacts_index_compactions_total": "counter",
            "contacts_index_compaction_pending": "gauge",
            "contacts_index_compactions_stopped_total": "counter",
            "contacts_published_data_version": "gauge",
            "process_start_time_seconds": "gauge", "process_cpu_seconds_total": "counter",
            "process_resident_memory_bytes": "gauge", "process_open_fds": "gauge",
        }
        self.assertEqual({k: page.types.get(k) for k in expected}, expected)
        self.assertEqual(page.get("contacts_store_up"), 1)
        for kind in ("unavailable", "sql"):
            self.assertEqual(page.get("contacts_store_errors_total", kind=kind), 0, kind)
        self.assertGreater(page.get("process_resident_memory_bytes"), 1 << 20)
        self.assertLess(abs(page.get("process_start_time_seconds") - time.time()), 3600)
        self.assertEqual(self.c.get("/metrics/").status, 200, "the trailing slash is optional")

    def test_head_and_methods(self):
        r = self.c.request("HEAD", "/metrics")
        self.assertEqual((r.status, r.body), (200, b""))
        self.assertEqual(r.header("Content-Type"), CONTENT_TYPE)
        r = self.c.request("POST", "/metrics", body=b"")
        self.assertEqual(r.status, 405, r.describe())
        self.assertEqual(r.header("Allow"), "GET, HEAD, OPTIONS")

    def test_index_gauges_follow_an_import(self):
        before = self.scrape()
        self.import_rows(7, "idx" + uuid.uuid4().hex[:6])
        after = self.scrape()
        self.assertEqual(after.get("contacts_index_rows") - before.get("contacts_index_rows"), 7)
        self.assertGreater(after.get("contacts_index_data_version"),
                           before.get("contacts_index_data_version"))
        self.assertGreaterEqual(after.get("contacts_index_data_version"),
                                after.get("contacts_published_data_version"))
        # A 7-row import is stacked as a delta (small deltas may be merged into one), far below
        # what asks for a compaction into the base.
        self.assertGreaterEqual(after.get("contacts_index_parts"), 2)
        self.assertEqual(after.get("contacts_index_compaction_pending"), 0)
        self.assertGreater(after.get("contacts_published_data_version"),
                           before.get("contacts_published_data_version"))


class RequestCounters(MetricsTest):

    def test_requests_and_latency_move_exactly_by_route_template_and_status(self):
        self.import_rows(3, "rq" + uuid.uuid4().hex[:6])
        some_id = self.c.get_json("/api/contacts/", {"page_size": "1"})["results"][0]["id"]
        before = self.scrape()
        list_params = {"page_size": "2", "search": "rq-" + uuid.uuid4().hex}
        for _ in range(3):
            self.assertEqual(self.c.get("/api/contacts/", list_params).status, 200)
        self.assertEqual(self.c.get("/api/contacts/%d/" % some_id).status, 200)
        self.assertEqual(self.c.get("/api/contacts/%d" % some_id).status, 200)
        self.assertEqual(self.c.get("/api/contacts/987654321/").status, 404)
        self.assertEqual(self.c.get("/no/such/route/%s" % uuid.uuid4().hex).status, 404)
        self.assertEqual(self.c.request("DELETE", "/api/contacts/").status, 405)
        self.assertEqual(self.c.request("BREW", "/api/contacts/").status, 405)
        self.assertEqual(self.c.get("/api/contacts/title/", {"limit": "3"}).status, 200)
        self.assertEqual(self.c.get("/api/contacts/", {"limit": "nope"}).status, 400)

        expected = {
            labels(method="GET", route="/api/contacts/", status="200"): 3,
            labels(method="GET", route="/api/contacts/", status="400"): 1,
            labels(method="GET", route="/api/contacts/{id}/", status="200"): 2,
            labels(method="GET", route="/api/contacts/{id}/", status="404"): 1,
            labels(method="GET", route="unmatched", status="404"): 1,
            labels(method="DELETE", route="/api/contacts/", status="405"): 1,
            labels(method="other", route="/api/contacts/", status="405"): 1,
            labels(method="GET", route="/api/contacts/{field}/", status="200"): 1,
        }
        # An exchange is counted once its answer is written, which the client may see first (a
        # request sent straight after a proxied one, a loaded machine): scrape until every
        # count has arrived. Each scrape but the last is counted too.
        metrics = labels(method="GET", route="/metrics", status="200")
        deadline = time.time() + 5
        scrapes = 1  # `before` itself
        while True:
            after = self.scrape()
            changes = delta(before, after, REQUESTS)
            if changes.get(metrics) == scrapes:
                del changes[metrics]
            if changes == expected or time.time() > deadline:
                break
            scrapes += 1
            time.sleep(0.02)
        self.assertEqual(changes, expected)
        self.assertEqual(delta(before, after, REQUESTS)[metrics], scrapes)
        for route, n in (("/api/contacts/", 6), ("/api/contacts/{id}/", 3), ("unmatched", 1),
                         ("/api/contacts/{field}/", 1), ("/metrics", scrapes)):
            self.assertEqual(after.get(LATENCY + "_count", route=route) -
                             before.get(LATENCY + "_count", route=route), n, route)
        self.assertGreater(after.get(LATENCY + "_sum", route="/api/contacts/"),
                           before.get(LATENCY + "_sum", route="/api/contacts/"))
        bounds = [le for le, _ in after.buckets(LATENCY, route="/api/contacts/")]
        self.assertEqual(bounds[0], 0.00025)
        self.assertEqual(bounds[-2:], [10.0, float("inf")])
        self.assertNotIn("/api/contacts/%d/" % some_id, str(after.series(REQUESTS)),
                         "raw paths never become label values")

    def test_server_error_answers_are_counted_too(self):
        before = self.scrape()
        r = harness.http.raw_exchange(harness.LOOPBACK, self.s.port, b"GET / HTTP/1.1\r\nBad\r\n\r\n")
        self.assertEqual(r.status, 400)
        # A fresh connection: poll until the server has recorded it.
        deadline = time.time() + 5
        while time.time() < deadline:
            after = self.scrape()
            if delta(before, after, REQUESTS).get(labels(method="other", route="unmatched",
                                                         status="400")):
                break
            time.sleep(0.05)
        changes = delta(before, after, REQUESTS)
        changes.pop(labels(method="GET", route="/metrics", status="200"), None)
        self.assertEqual(changes, {labels(method="other", route="unmatched", status="400"): 1})


class CacheLookups(MetricsTest):

    def test_hits_misses_and_bypasses_by_endpoint(self):
        self.import_rows(2, "ca" + uuid.uuid4().hex[:6])
        before = self.scrape()
        tag = uuid.uuid4().hex
        hits = []
        for path, params in (("/api/contacts/", {"search": tag}),
                             ("/api/contacts/count/", {"search": tag}),
                             ("/api/contacts/company/", {"search": tag}),
                             ("/api/contacts/analytics/", {"limit": "13"})):
            for _ in range(3):
                r = self.c.get(path, params)
                self.assertEqual(r.status, 200, r.describe())
                hits.append(r.header("X-Cache-Hit") == "true")
            r = self.c.get(path, params, headers={"Cache-Control": "no-cache"})
            self.assertEqual(r.status, 200, r.describe())
            self.assertIsNone(r.header("X-Cache-Hit"))
        self.assertEqual(hits, [False, True, True] * 4)
        self.assertIn(self.c.get("/api/contacts/1/").status, (200, 404))  # never cached
        after = self.scrape()
        expected = {}
        for endpoint in ("list", "count", "field", "analytics"):
            expected[labels(endpoint=endpoint, result="miss")] = 1
            expected[labels(endpoint=endpoint, result="hit")] = 2
            expected[labels(endpoint=endpoint, result="bypass")] = 1
        self.assertEqual(delta(before, after, CACHE), expected)
        self.assertEqual(
            after.get(REQUESTS, method="GET", route="/api/contacts/count/", status="200") -
            before.get(REQUESTS, method="GET", route="/api/contacts/count/", status="200"), 4)


class ImportMetrics(MetricsTest):

    def test_an_import_moves_rows_and_jobs(self):
        auth = {"Authorization": "Bearer " + token(self.c, ADMIN)}
        before = self.scrape()
        prefix = "im" + uuid.uuid4().hex[:6]
        job = wait_job(self, self.c, auth, self.upload(auth, people_csv(40, bad_every=8,
                                                                        prefix=prefix)))
        self.assertEqual((job["status"], job["success_count"], job["error_count"]),
                         ("completed", 35, 5))
        failed = wait_job(self, self.c, auth, self.upload(auth, b"foo,bar\n1,2\n"))
        self.assertEqual(failed["status"], "failed")
        after = self.scrape()
        self.assertEqual(delta(before, after, "contacts_import_rows_total"), {
            labels(result="success"): 35, labels(result="error"): 5})
        self.assertEqual(delta(before, after, "contacts_import_jobs"), {
            labels(state="completed"): 1, labels(state="failed"): 1})
        for state in ("queued", "running"):
            self.assertEqual(after.get("contacts_import_jobs", state=state), 0, state)
        self.assertEqual(
            after.get(REQUESTS, method="POST", route="/api/contacts/import/", status="201") -
            before.get(REQUESTS, method="POST", route="/api/contacts/import/", status="201"), 2)


if __name__ == "__main__":
    unittest.main()
