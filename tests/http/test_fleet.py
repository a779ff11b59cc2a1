"""Several instances on one PostgreSQL and one Redis (issue 5), over HTTP with the real binary:
the shared cache, invalidation that reaches every instance the moment a job says completed
(the job run by another instance or by a `contacts-api worker`), and a Redis that stops,
restarts or stalls without costing a request an error or a wait.

Runs when the suite runs with --postgres and --redis."""
import os
import subprocess
import time
import unittest

import harness
from harness import CTX
from test_analytics_engines import without_time
from test_import_jobs import ADMIN, people_csv, token, wait_job
from test_postgres import stop_process, upload

REDIS_SCRIPT = os.path.join(harness.HERE, "..", "..", "scripts", "redis_test_server")
NO_CACHE = {"Cache-Control": "no-cache"}
# Behind a load balancer every instance sees the public host, so the links in their answers
# (and therefore the cached bodies) are the same.
PUBLIC = {"Host": "contacts.example.test"}


def needs_fleet(cls):
    return unittest.skipUnless(harness.PG_URL and harness.REDIS_URL,
                               "runs with --postgres and --redis")(cls)


def redis_script(*args):
    p = subprocess.run([REDIS_SCRIPT] + list(args), capture_output=True, timeout=60)
    if p.returncode != 0:
        raise RuntimeError("redis_test_server %s failed: %s" % (args[0], p.stderr.decode()))
    return p.stdout.decode()


def redis_cli(url, *args):
    port = url.rsplit(":", 1)[1].split("/")[0]
    p = subprocess.run(["redis-cli", "-p", port] + list(args), capture_output=True, timeout=30)
    return p.stdout.decode().strip()


def start_instance(name, data, extra=None):
    env = {"CONTACTS_IMPORT_LEASE_SECONDS": "2"}
    env.update(extra or {})
    server = harness.Server(name, CTX.binary, data, CTX.root, env)
    CTX.servers.append(server)
    server.start(timeout=60)
    return server


def cached(r):
    return r.header("x-cache-hit") == "true"


def untimed(bodies):
    """The answers of `reads` without the analytics' generated_at (when each was computed)."""
    return [without_time(body) if isinstance(body, dict) else body for body in bodies]


@needs_fleet
class TwoInstances(unittest.TestCase):
    """Instances A and B share the data directory (uploads, errors files), hence the database
    and the Redis key prefix (harness.store_env). Only B runs import workers."""

    @classmethod
    def setUpClass(cls):
        cls.data = os.path.join(CTX.root, "data-fleet")
        os.makedirs(cls.data, exist_ok=True)
        harness.create_user(cls.data, "create-admin", ADMIN[0], ADMIN[1], via_stdin=False)
        cls.a = start_instance("fleet-a", cls.data, {"CONTACTS_IMPORT_WORKERS": "0"})
        cls.b = start_instance("fleet-b", cls.data, {"CONTACTS_IMPORT_WORKERS": "1"})
        cls.auth = {"Authorization": "Bearer " + token(cls.b.client, ADMIN)}

    def reads(self, prefix):
        """Requests that depend on rows whose first name starts with `prefix`."""
        return [("/api/contacts/count/", {"first_name": prefix}),
                ("/api/contacts/", {"first_name": prefix, "ordering": "first_name",
                                    "limit": "5"}),
                ("/api/contacts/company/", {"company": "acme"}),
                ("/api/contacts/analytics/", None)]

    def answers(self, client, prefix, headers=None):
        out = []
        for path, params in self.reads(prefix):
            r = client.get(path, params, headers=dict(PUBLIC, **(headers or {})))
            self.assertEqual(r.status, 200, r.describe())
            body = r.json()
            if isinstance(body, dict) and "results" in body and "meta" in body:
                body = [row["first_name"] for row in body["results"]]
            out.append((body, cached(r)))
        return out

    def warm(self, client, prefix):
        self.answers(client, prefix)
        second = self.answers(client, prefix)
        self.assertTrue(all(hit for _, hit in second), "not served from the cache: %s" % second)
        return [body for body, _ in second]

    def test_cache_is_shared_and_parameter_order_does_not_matter(self):
        a, b = self.a.client, self.b.client
        r = a.request("GET", "/api/contacts/?limit=7&ordering=-id&use_replica=false",
                      headers=PUBLIC)
        self.assertEqual(r.status, 200, r.describe())
        self.assertFalse(cached(r))
        first = r.json()
        self.assertTrue(first["next"].startswith("http://contacts.example.test/"), first["next"])
        r = b.request("GET", "/api/contacts/?use_replica=false&ordering=-id&limit=7",
                      headers=PUBLIC)
        self.assertTrue(cached(r), "B did not find what A cached: " + r.describe())
        self.assertEqual(r.json(), first)
        # Different parameters or another public host, different entries; no-cache reads
        # bypass it.
        r = b.request("GET", "/api/contacts/?use_replica=false&ordering=-id&limit=6",
                      headers=PUBLIC)
        self.assertFalse(cached(r))
        r = b.request("GET", "/api/contacts/?use_replica=false&ordering=-id&limit=7",
                      headers={"Host": "other.example.test"})
        self.assertFalse(cached(r))
        self.assertTrue(r.json()["next"].startswith("http://other.example.test/"))
        r = b.request("GET", "/api/contacts/?limit=7&ordering=-id&use_replica=false",
                      headers=dict(PUBLIC, **NO_CACHE))
        self.assertFalse(cached(r))
        self.assertEqual(r.json(), first)
        # The keys live in Redis under the instances' prefix, one namespace per endpoint.
        keys = redis_cli(harness.REDIS_URL, "--scan", "--pattern",
                         harness.database_name(self.data) + ":*").split()
        namespaces = {k.split(":")[2] for k in keys if k.count(":") >= 3}
        self.assertIn("list", namespaces, keys)

    def test_a_job_completed_through_b_is_visible_on_a_at_once(self):
        a, b = self.a.client, self.b.client
        job = wait_job(self, b, self.auth, upload(self, b, self.auth, people_csv(800, prefix="base")))
        self.assertEqual(job["status"], "completed")
        before = self.warm(a, "fresh")
        self.assertEqual(before[0], {"count": 0})
        self.assertEqual(before[1], [])
        # B sees the same cached answers (one cache for the fleet).
        self.assertTrue(all(hit for _, hit in self.answers(b, "fresh")))

        job_id = upload(self, b, self.auth, people_csv(1500, prefix="fresh"))
        job = wait_job(self, b, self.auth, job_id)  # polls B only; A learns nothing from it
        self.assertEqual((job["status"], job["success_count"]), ("completed", 1500))
        after = [body for body, _ in self.answers(a, "fresh")]
        self.assertEqual(after[0], {"count": 1500}, "A answered pre-import results")
        self.assertEqual(after[1], ["fresh1", "fresh10", "fresh100", "fresh1000", "fresh1001"])
        self.assertNotEqual(untimed(after)[3], untimed(before)[3])  # analytics totals moved
        # The same as B computes without any cache (B's index has the rows: its job said so),
        # but for the analytics' generated_at: an answer computed now says now.
        self.assertEqual(untimed(after),
                         untimed(body for body, _ in self.answers(b, "fresh", NO_CACHE)))
        # Once recomputed, the new answers are cached again, for both instances.
        self.assertEqual(self.answers(a, "fresh"), [(body, True) for body in after])
        self.assertEqual(self.answers(b, "fresh"), [(body, True) for body in after])
        # And agree with the database itself.
        truth = harness.psql(harness.store_env(self.data)["CONTACTS_DATABASE_URL"],
                             "SELECT count(*) FROM contacts WHERE first_name LIKE 'fresh%'")
        self.assertEqual(truth, [["1500"]])

    def test_a_job_run_by_a_worker_process_is_visible_on_both_at_once(self):
        a, b = self.a.client, self.b.client
        # A third process runs the job: B's own worker is busy with nothing, so either may
        # take it; both publish the same way.
        env = harness.import_env(self.data)
        log = open(os.path.join(CTX.root, "fleet-worker.stderr"), "w+b")
        out_path = os.path.join(CTX.root, "fleet-worker.stdout")
        worker = subprocess.Popen([CTX.binary, "worker"], env=env,
                                  stdout=open(out_path, "wb"), stderr=log)
        deadline = time.time() + 60
        while b"import worker running" not in open(out_path, "rb").read():
            self.assertIsNone(worker.poll(), "the worker exited")
            self.assertLess(time.time(), deadline, "the worker did not start")
            time.sleep(0.05)
        try:
            self.warm(a, "viaworker")
            self.warm(b, "viaworker")
            job = wait_job(self, b, self.auth,
                           upload(self, b, self.auth, people_csv(700, prefix="viaworker")))
            self.assertEqual(job["status"], "completed")
            self.assertEqual(a.get("/api/contacts/count/", {"first_name": "viaworker"}).json(),
                             {"count": 700})
            self.assertEqual(b.get("/api/contacts/count/", {"first_name": "viaworker"}).json(),
                             {"count": 700})
        finally:
            self.assertEqual(stop_process(worker), 0)


@unittest.skipUnless(harness.PG_URL, "runs with --postgres")
class TwoInstancesWithoutRedis(unittest.TestCase):
    """The same guarantee with an in-process cache per instance: A learns of B's job from
    PostgreSQL's NOTIFY alone."""

    def test_a_job_completed_through_b_is_visible_on_a_at_once(self):
        data = os.path.join(CTX.root, "data-fleet-local")
        os.makedirs(data, exist_ok=True)
        harness.create_user(data, "create-admin", ADMIN[0], ADMIN[1], via_stdin=False)
        local = {"CONTACTS_REDIS_URL": ""}
        a = start_instance("local-a", data, dict(local, CONTACTS_IMPORT_WORKERS="0")).client
        b = start_instance("local-b", data, dict(local, CONTACTS_IMPORT_WORKERS="1")).client
        self.assertEqual(a.get("/readyz").json()["cache"], "in-process")
        auth = {"Authorization": "Bearer " + token(b, ADMIN)}
        params = {"first_name": "loc"}
        for _ in range(2):
            r = a.get("/api/contacts/count/", params)
        self.assertEqual((r.json(), cached(r)), ({"count": 0}, True))
        for n in (400, 900):
            job = wait_job(self, b, auth, upload(self, b, auth, people_csv(n, prefix="loc")))
            self.assertEqual(job["status"], "completed")
            r = a.get("/api/contacts/count/", params)
            self.assertEqual(r.json(), {"count": n if n == 400 else 1300})


@needs_fleet
class RedisOutage(unittest.TestCase):
    """A Redis of this class's own, stopped, restarted and paused by its tests."""

    @classmethod
    def setUpClass(cls):
        cls.dir = os.path.join(CTX.root, "redis-private")
        line = redis_script("start", cls.dir).strip()
        cls.url = line.split("=", 1)[1]
        cls.data = os.path.join(CTX.root, "data-redis-outage")
        os.makedirs(cls.data, exist_ok=True)
        harness.create_user(cls.data, "create-admin", ADMIN[0], ADMIN[1], via_stdin=False)
        # Short enough to show that nobody waits on a dead or stalled Redis, long enough
        # not to trip on a loaded test machine.
        cls.s = start_instance("redis-outage", cls.data, {
            "CONTACTS_REDIS_URL": cls.url, "CONTACTS_REDIS_TIMEOUT_MS": "50"})
        cls.c = cls.s.client
        cls.auth = {"Authorization": "Bearer " + token(cls.c, ADMIN)}
        job = wait_job(unittest.TestCase(), cls.c, cls.auth,
                       upload(unittest.TestCase(), cls.c, cls.auth, people_csv(300, prefix="out")))
        assert job["status"] == "completed", job

    @classmethod
    def tearDownClass(cls):
        redis_script("stop", cls.dir)

    def setUp(self):
        redis_script("start-server", self.dir)

    def read(self, prefix):
        t0 = time.time()
        r = self.c.get("/api/contacts/count/", {"first_name": prefix})
        elapsed = time.time() - t0
        self.assertEqual(r.status, 200, r.describe())
        return r.json()["count"], cached(r), elapsed

    def wait_cached(self, prefix, timeout=10):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.read(prefix)[1]:
                return
            time.sleep(0.1)
        self.fail("no cache hit within %ds" % timeout)

    def test_stopped_redis_costs_no_errors_and_no_waiting_and_is_rejoined(self):
        self.wait_cached("out")
        self.assertEqual(self.c.get("/readyz").json()["cache"], "redis")

        redis_script("stop-server", self.dir)
        timings = []
        for _ in range(30):
            count, hit, elapsed = self.read("out")
            self.assertEqual((count, hit), (300, False))
            timings.append(elapsed)
        timings.sort()
        # Requests do not wait on the dead Redis (the first one may pay one short timeout).
        self.assertLess(timings[len(timings) // 2], 0.25, timings)
        ready = self.c.get("/readyz")
        self.assertEqual(ready.status, 200, ready.describe())
        self.assertEqual(ready.json()["cache"], "redis-unavailable")
        # A job finishing during the outage: its rows show at once, and the version it
        # published is sent to Redis when it returns.
        job = wait_job(self, self.c, self.auth,
                       upload(self, self.c, self.auth, people_csv(200, prefix="during")))
        self.assertEqual(job["status"], "completed")
        self.assertEqual(self.read("during")[:2], (200, False))

        redis_script("start-server", self.dir)  # empty: it keeps nothing on disk
        self.wait_cached("during")
        self.assertEqual(self.read("during")[:2], (200, True))
        self.assertEqual(self.c.get("/readyz").json()["cache"], "redis")
        published = [k for k in redis_cli(self.url, "--scan", "--pattern", "*:published").split()]
        self.assertEqual(len(published), 1, published)
        self.assertEqual(int(redis_cli(self.url, "GET", published[0])), job_data_version(self))

    def test_a_stalled_redis_is_skipped_until_it_answers(self):
        self.wait_cached("out")
        redis_cli(self.url, "CLIENT", "PAUSE", "3000", "ALL")
        t0 = time.time()
        for _ in range(10):
            count, hit, elapsed = self.read("out")
            self.assertEqual((count, hit), (300, False))
            self.assertLess(elapsed, 1.0, "waited on the paused Redis")
        self.assertLess(time.time() - t0, 2.5, "ten reads took as long as the pause")
        self.wait_cached("out", timeout=15)


def job_data_version(test):
    url = harness.store_env(test.data)["CONTACTS_DATABASE_URL"]
    return int(harness.psql(url, "SELECT value FROM store_meta WHERE key = 'data_version'")[0][0])


if __name__ == "__main__":
    unittest.main()
