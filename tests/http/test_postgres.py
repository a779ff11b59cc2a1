"""What only a PostgreSQL deployment has, over HTTP with the real binary: several worker
processes on one job queue, a read replica that is used only while it is healthy, and a
database restart the service survives. Runs when the suite runs with --postgres; the replica
and restart tests start a private primary + replica (scripts/pg_test_cluster) so that
stopping them disturbs no other test."""
import json
import os
import re
import signal
import subprocess
import time
import unittest

import harness
from harness import CTX
from test_import_jobs import (ADMIN, BOUNDARY, ImportServer, multipart, people_csv, token,
                              wait_job)

CLUSTER_SCRIPT = os.path.join(harness.HERE, "..", "..", "scripts", "pg_test_cluster")
JOB_LINE = re.compile(r'"msg":"(starting|resuming) import job","job_id":(\d+)')


def needs_postgres(cls):
    return unittest.skipUnless(harness.PG_URL, "runs with --postgres")(cls)


def upload(test, client, auth, body_csv, name="u.csv"):
    h = dict(auth, **{"Content-Type": "multipart/form-data; boundary=" + BOUNDARY})
    r = client.request("POST", "/api/contacts/import/", headers=h,
                       body=multipart("file", name, body_csv))
    test.assertEqual(r.status, 201, r.describe())
    return r.json()["job_id"]


def read_all(f):
    f.seek(0)
    return f.read()


def stop_process(proc):
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait()


@needs_postgres
class TwoWorkerProcesses(unittest.TestCase):
    JOBS = 6
    ROWS = 3000

    def test_two_worker_processes_never_run_the_same_job(self):
        s = ImportServer("twoworkers", {"CONTACTS_IMPORT_WORKERS": "0"})
        harness.create_user(s.data, "create-admin", ADMIN[0], ADMIN[1], via_stdin=False)
        c = s.start()
        auth = {"Authorization": "Bearer " + token(c, ADMIN)}
        env = harness.import_env(s.data)
        env["CONTACTS_IMPORT_LEASE_SECONDS"] = "3"
        # Idle workers look for jobs every 10 minutes only: the jobs below get done in time
        # only if PostgreSQL's NOTIFY wakes the workers when they are queued.
        env["CONTACTS_IMPORT_POLL_MS"] = "600000"
        workers, logs, outs = [], [], []
        for i in range(2):
            log = open(os.path.join(CTX.root, "worker-%d.stderr" % i), "w+b")
            out = open(os.path.join(CTX.root, "worker-%d.stdout" % i), "w+b")
            logs.append(log)
            outs.append(out)
            workers.append(subprocess.Popen([CTX.binary, "worker"], env=env, stdout=out,
                                            stderr=log))
        try:
            # Both idle and listening (the line comes once the job runner runs; a notice sent
            # before it listens is caught up by its first wait).
            deadline = time.time() + 60
            while not all(b"import worker running" in read_all(out) for out in outs):
                self.assertLess(time.time(), deadline, "the workers did not start")
                self.assertEqual([w.poll() for w in workers], [None, None])
                time.sleep(0.05)
            ids = [upload(self, c, auth, people_csv(self.ROWS, bad_every=1000, prefix="tw%d_" % j))
                   for j in range(self.JOBS)]
            for job_id in ids:
                job = wait_job(self, c, auth, job_id, timeout=90)
                self.assertEqual((job["status"], job["total_rows"], job["success_count"],
                                  job["error_count"]), ("completed", self.ROWS, self.ROWS - 3, 3))
        finally:
            rcs = [stop_process(w) for w in workers]
        self.assertEqual(rcs, [0, 0])
        # Rows have no e-mail: a job run twice would show up as extra contacts.
        r = c.get("/api/contacts/count/", {"first_name": "tw"}, headers={"Cache-Control": "no-cache"})
        self.assertEqual(r.json(), {"count": self.JOBS * (self.ROWS - 3)})
        taken = []
        for log in logs:
            log.seek(0)
            text = log.read().decode("utf-8", "replace")
            self.assertNotIn("resuming import job", text, "a job was taken over: " + text)
            taken.append(sorted(int(m.group(2)) for m in JOB_LINE.finditer(text)))
        self.assertEqual(sorted(taken[0] + taken[1]), sorted(ids), taken)
        self.assertFalse(set(taken[0]) & set(taken[1]), "a job ran in both workers: %s" % taken)
        self.assertTrue(taken[0] and taken[1], "one worker took every job: %s" % taken)


@needs_postgres
class SearchIndexLeftToServices(unittest.TestCase):
    def test_a_cli_import_leaves_the_search_index_to_the_running_service(self):
        """The CLI import into an empty table ends without PostgreSQL's search index; the
        running service builds it when the import's notice reaches it."""
        s = ImportServer("cliindex", {"CONTACTS_CACHE_ENABLED": "false"})
        c = s.start()
        self.assertEqual(c.get("/api/contacts/count/").json(), {"count": 0})
        url = harness.store_env(s.data)["CONTACTS_DATABASE_URL"]
        state_sql = ("SELECT coalesce((SELECT indisvalid::text FROM pg_index "
                     "WHERE indexrelid = to_regclass('contacts_search_trgm')), 'missing')")
        self.assertEqual(harness.psql(url, state_sql), [["true"]])
        path = os.path.join(CTX.root, "cliindex.csv")
        with open(path, "wb") as f:
            f.write(people_csv(2000, prefix="ci"))
        # Stopped before it runs, the service could not build it: the import alone must not.
        s.server.stop()
        info = harness.run_import("cliindex", path, s.data)
        self.assertEqual(info["rc"], 0, info["stderr"])
        self.assertEqual(harness.psql(url, state_sql), [["missing"]])
        c = s.start()
        self.assertEqual(c.get("/api/contacts/count/").json(), {"count": 2000})
        deadline = time.time() + 60
        while harness.psql(url, state_sql) != [["true"]]:
            self.assertLess(time.time(), deadline, "the service did not build the index")
            time.sleep(0.2)
        # Emptied again, with the service running: the next import's notice starts the build.
        harness.psql(url, "DELETE FROM contacts")
        info = harness.run_import("cliindex2", path, s.data)
        self.assertEqual(info["rc"], 0, info["stderr"])
        deadline = time.time() + 60
        while harness.psql(url, state_sql) != [["true"]]:
            self.assertLess(time.time(), deadline, "the service did not build the index")
            time.sleep(0.2)


def cluster(*args):
    p = subprocess.run([CLUSTER_SCRIPT] + list(args), capture_output=True, timeout=180)
    if p.returncode != 0:
        raise RuntimeError("pg_test_cluster %s failed: %s" % (args[0], p.stderr.decode()))
    return p.stdout.decode()


@needs_postgres
class PrivateCluster(unittest.TestCase):
    """A primary and a replica of this class's own, stopped and started by its tests."""

    @classmethod
    def setUpClass(cls):
        cls.dir = os.path.join(CTX.root, "pgc")
        env_lines = cluster("start", cls.dir)
        urls = dict(l.split("=", 1) for l in env_lines.split() if "=" in l)
        cls.primary_url = urls["CONTACTS_TEST_DATABASE_URL"] + "?connect_timeout=2"
        cls.replica_url = urls["CONTACTS_TEST_REPLICA_URL"] + "?connect_timeout=2"

    @classmethod
    def tearDownClass(cls):
        cluster("stop", cls.dir)

    def start_server(self, name, extra):
        data = os.path.join(CTX.root, "data-" + name)
        os.makedirs(data, exist_ok=True)
        env = {"CONTACTS_CACHE_ENABLED": "false", "CONTACTS_IMPORT_LEASE_SECONDS": "2",
               "CONTACTS_DATABASE_URL": self.primary_url}
        env.update(extra)
        user_env = harness.import_env(data)
        user_env.update(env)
        user_env["CONTACTS_PASSWORD"] = ADMIN[1]
        p = subprocess.run([CTX.binary, "create-admin", "--username", ADMIN[0]], env=user_env,
                           capture_output=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        server = harness.Server(name, CTX.binary, data, CTX.root, env)
        CTX.servers.append(server)
        server.start(timeout=60)
        return server

    def test_database_restart_gives_503_then_recovers_without_restarting_the_service(self):
        s = self.start_server("outage", {})
        c = s.client
        auth = {"Authorization": "Bearer " + token(c, ADMIN)}
        job = wait_job(self, c, auth, upload(self, c, auth, people_csv(500, prefix="before")))
        self.assertEqual(job["status"], "completed")
        self.assertEqual(c.get("/api/contacts/count/").json(), {"count": 500})
        # The job analysed the table before it said completed: the planner's estimate is exact.
        self.assertEqual(harness.psql(self.primary_url, "SELECT reltuples::bigint FROM pg_class "
                                      "WHERE oid = 'contacts'::regclass"), [["500"]])

        cluster("stop-server", self.dir, "primary")
        try:
            r = c.request("POST", "/api/auth/token/", headers={"Content-Type": "application/json"},
                          body=json.dumps({"username": ADMIN[0], "password": ADMIN[1]}).encode())
            self.assertEqual(r.status, 503, r.describe())
            self.assertEqual(r.header("content-type"), "application/json; charset=utf-8")
            self.assertIn("database", r.json()["detail"])
            r = c.get("/api/contacts/import/%d/" % job["id"], headers=auth)
            self.assertEqual(r.status, 503, r.describe())
            h = dict(auth, **{"Content-Type": "multipart/form-data; boundary=" + BOUNDARY})
            r = c.request("POST", "/api/contacts/import/", headers=h,
                          body=multipart("file", "x.csv", people_csv(10, prefix="lost")))
            self.assertEqual(r.status, 503, r.describe())
            # Reads are answered from the in-memory read index meanwhile.
            r = c.get("/api/contacts/", {"page_size": "3"})
            self.assertEqual(r.status, 200, r.describe())
            self.assertEqual(len(r.json()["results"]), 3)
            self.assertEqual(c.get("/api/health/").status, 200)
            # The load balancer's view: the process is up, but not ready.
            self.assertEqual(c.get("/healthz").status, 200)
            r = c.get("/readyz")
            self.assertEqual(r.status, 503, r.describe())
            self.assertEqual(r.header("retry-after"), "5")
            self.assertEqual(r.json()["store"], "unavailable")
            self.assertTrue(s.alive())
        finally:
            cluster("start-server", self.dir, "primary")

        deadline = time.time() + 30
        while True:
            r = c.request("POST", "/api/auth/token/", headers={"Content-Type": "application/json"},
                          body=json.dumps({"username": ADMIN[0], "password": ADMIN[1]}).encode())
            if r.status == 200 or time.time() > deadline:
                break
            time.sleep(0.2)
        self.assertEqual(r.status, 200, r.describe())
        self.assertEqual(c.get("/readyz").json()["status"], "ready")
        job = wait_job(self, c, auth, upload(self, c, auth, people_csv(300, prefix="after")))
        self.assertEqual((job["status"], job["success_count"]), ("completed", 300))
        self.assertEqual(c.get("/api/contacts/count/").json(), {"count": 800})
        self.assertEqual(c.get("/api/contacts/count/", {"first_name": "lost"}).json(), {"count": 0})
        self.assertTrue(s.alive(), "the service had to be restarted")
        # The upload refused during the outage left no file behind.
        uploads = os.path.join(s.data_dir, "uploads")
        self.assertEqual(len(os.listdir(uploads)), 2, os.listdir(uploads))

    def using_replica(self, c, params=None, headers=None):
        r = c.get("/api/contacts/", dict({"page_size": "5"}, **(params or {})), headers=headers)
        self.assertEqual(r.status, 200, r.describe())
        return r.json()["meta"]["using_replica"], r.json()["results"]

    def wait_replica_used(self, c, timeout=20):
        """Until the replica answers and has replayed what the primary path shows (within the
        allowed lag it may be used while it is still a little behind)."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            on_replica, rows = self.using_replica(c, {"use_replica": "true"})
            if on_replica and rows == self.using_replica(c, {"use_replica": "false"})[1]:
                return
            time.sleep(0.2)
        self.fail("the replica was not used (caught up) within %ds" % timeout)

    def test_replica_is_used_only_when_asked_reachable_and_recent(self):
        s = self.start_server("replica", {"CONTACTS_DATABASE_REPLICA_URL": self.replica_url,
                                          "CONTACTS_DEFAULT_REPLICA_READ": "true",
                                          "CONTACTS_REPLICA_MAX_LAG_MS": "1500"})
        c = s.client
        auth = {"Authorization": "Bearer " + token(c, ADMIN)}
        job = wait_job(self, c, auth, upload(self, c, auth, people_csv(400, prefix="rep")))
        self.assertEqual(job["status"], "completed")
        self.wait_replica_used(c)
        # Who answers: the setting, use_replica, and Cache-Control: no-cache.
        on_replica, rows_replica = self.using_replica(c)
        self.assertTrue(on_replica)
        on_primary, rows_primary = self.using_replica(c, {"use_replica": "false"})
        self.assertFalse(on_primary)
        self.assertEqual(rows_replica, rows_primary)
        self.assertFalse(self.using_replica(c, headers={"Cache-Control": "no-cache"})[0])
        self.assertTrue(self.using_replica(c, {"use_replica": "yes"},
                                           headers={"Cache-Control": "no-cache"})[0])
        for params in ({}, {"first_name": "rep1"}, {"search": "acme 1"}):
            self.assertEqual(c.get("/api/contacts/count/", params).json(),
                             c.get("/api/contacts/count/", dict(params, use_replica="false")).json())

        # A replica that stopped replaying falls behind: past the allowed lag, reads go to the
        # primary, which already has the new rows.
        harness.psql(self.replica_url, "SELECT pg_wal_replay_pause()")
        try:
            job = wait_job(self, c, auth, upload(self, c, auth, people_csv(100, prefix="lagging")))
            self.assertEqual(job["status"], "completed")
            # Within the allowed lag (1.5 s) the replica may still be used; past it, no more.
            finished = time.monotonic()
            while self.using_replica(c, headers={"Cache-Control": "no-cache"})[0]:
                self.assertLess(time.monotonic() - finished, 5,
                                "a replica lagging > 1.5 s was still used")
                time.sleep(0.1)
            self.assertFalse(self.using_replica(c)[0], "a replica lagging > 1.5 s was used")
            self.assertEqual(c.get("/api/contacts/count/", {"first_name": "lagging"}).json(),
                             {"count": 100})
        finally:
            harness.psql(self.replica_url, "SELECT pg_wal_replay_resume()")
        self.wait_replica_used(c)
        self.assertEqual(c.get("/api/contacts/count/", {"first_name": "lagging"}).json(),
                         {"count": 100})

        # A stopped replica: answers come from the primary, without an error.
        cluster("stop-server", self.dir, "replica")
        try:
            for _ in range(5):
                on_replica, rows = self.using_replica(c)
                self.assertFalse(on_replica)
                self.assertEqual(rows, self.using_replica(c, {"use_replica": "false"})[1])
                r = c.get("/api/contacts/count/", {"first_name": "rep"})
                self.assertEqual((r.status, r.json()), (200, {"count": 400}), r.describe())
        finally:
            cluster("start-server", self.dir, "replica")
        self.wait_replica_used(c)
