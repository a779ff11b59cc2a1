"""Contract section 8 over HTTP: streamed upload, job lifecycle, errors CSV, cache
invalidation, re-import, and a job resumed after the server is killed with SIGKILL."""
import csv
import io
import json
import os
import signal
import time
import unittest

import harness
from harness import CTX

ADMIN = ("importer", "import-password")
USER = ("viewer", "viewer-password")
BOUNDARY = "----contactsTestBoundary7MA4YWxkTrZu0gW"


def multipart(field, filename, content, extra_fields=()):
    parts = []
    for name, value in extra_fields:
        parts.append(("--%s\r\nContent-Disposition: form-data; name=\"%s\"\r\n\r\n%s\r\n"
                      % (BOUNDARY, name, value)).encode())
    parts.append(("--%s\r\nContent-Disposition: form-data; name=\"%s\"; filename=\"%s\"\r\n"
                  "Content-Type: text/csv\r\n\r\n" % (BOUNDARY, field, filename)).encode())
    parts.append(content)
    parts.append(("\r\n--%s--\r\n" % BOUNDARY).encode())
    return b"".join(parts)


def people_csv(rows, bad_every=0, prefix="p"):
    """Rows without e-mail (so a row applied twice would show as a second contact); every
    `bad_every`-th row has an invalid employee count."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["First Name", "Last Name", "Company", "# Employees"])
    for i in range(1, rows + 1):
        employees = "many" if bad_every and i % bad_every == 0 else str(i)
        w.writerow(["%s%d" % (prefix, i), "Row", "Acme %d" % (i % 50), employees])
    return out.getvalue().encode()


class ImportServer:
    def __init__(self, name, extra_env=None):
        self.data = os.path.join(CTX.root, "data-" + name)
        os.makedirs(self.data, exist_ok=True)
        self.name = name
        self.env = {"CONTACTS_CACHE_ENABLED": "true", "CONTACTS_IMPORT_LEASE_SECONDS": "2"}
        self.env.update(extra_env or {})
        self.server = None

    def start(self, register=True):
        self.server = harness.Server(self.name, CTX.binary, self.data, CTX.root, self.env)
        if register:
            CTX.servers.append(self.server)
        self.server.start(timeout=60)
        return self.server.client


def token(client, who):
    r = client.request("POST", "/api/auth/token/", headers={"Content-Type": "application/json"},
                       body=json.dumps({"username": who[0], "password": who[1]}).encode())
    assert r.status == 200, r.describe()
    return r.json()["access"]


def wait_job(test, client, auth, job_id, timeout=180):
    """Polls the job until it is completed or failed; returns its last state."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        r = client.get("/api/contacts/import/%d/" % job_id, headers=auth)
        test.assertEqual(r.status, 200, r.describe())
        job = r.json()
        if job["status"] in ("completed", "failed"):
            return job
        time.sleep(0.05)
    test.fail("job %d did not finish in %ds" % (job_id, timeout))


class Env:
    server = None
    error = None


def main_server():
    if Env.server is None and Env.error is None:
        try:
            s = ImportServer("imports")
            harness.create_user(s.data, "create-admin", ADMIN[0], ADMIN[1], via_stdin=False)
            harness.create_user(s.data, "create-user", USER[0], USER[1], via_stdin=False)
            s.start()
            Env.server = s
        except Exception as e:
            Env.error = "import server did not start: %s" % e
    if Env.error:
        raise AssertionError(Env.error)
    return Env.server


class ImportJobs(unittest.TestCase):

    def setUp(self):
        self.s = main_server()
        self.c = self.s.server.client
        self.auth = {"Authorization": "Bearer " + token(self.c, ADMIN)}

    def upload(self, body, headers=None, content_type=None, client=None):
        h = dict(self.auth if headers is None else headers)
        h["Content-Type"] = content_type or ("multipart/form-data; boundary=" + BOUNDARY)
        return (client or self.c).request("POST", "/api/contacts/import/", headers=h, body=body)

    def wait_job(self, job_id):
        return wait_job(self, self.c, self.auth, job_id)

    def count(self, **params):
        r = self.c.get("/api/contacts/count/", params or None)
        self.assertEqual(r.status, 200, r.describe())
        return r.json()["count"]

    def test_upload_runs_a_job_with_exact_counters_and_errors_csv(self):
        body = multipart("file", "../../etc/passwd", people_csv(30, bad_every=10, prefix="lc"),
                         extra_fields=[("note", "ignored")])
        r = self.upload(body)
        self.assertEqual(r.status, 201, r.describe())
        self.assertEqual(sorted(r.json()), ["job_id"])
        job = self.wait_job(r.json()["job_id"])
        self.assertEqual(job["status"], "completed")
        self.assertEqual(job["message"], "Completed")
        self.assertEqual((job["total_rows"], job["success_count"], job["error_count"]), (30, 27, 3))
        self.assertNotIn("passwd", job["upload_file_path"])
        self.assertTrue(job["error_file_path"])
        for key in ("started_at", "finished_at", "created_at", "updated_at"):
            self.assertTrue(job[key].endswith("Z"), key)
        self.assertTrue(job["errors_url"].endswith("/api/contacts/import/%d/errors/" % job["id"]))
        r = self.c.get("/api/contacts/import/%d/errors/" % job["id"], headers=self.auth)
        self.assertEqual(r.status, 200, r.describe())
        self.assertTrue(r.header("Content-Type").startswith("text/csv"))
        self.assertIn("attachment", r.header("Content-Disposition"))
        rows = list(csv.reader(io.StringIO(r.body.decode())))
        self.assertEqual(rows[0], ["First Name", "Last Name", "Company", "# Employees", "error"])
        self.assertEqual([row[0] for row in rows[1:]], ["lc10", "lc20", "lc30"])
        self.assertEqual(self.count(first_name="lc"), 27)

    def test_job_without_errors_has_no_errors_download(self):
        r = self.upload(multipart("file", "ok.csv", people_csv(5, prefix="clean")))
        job = self.wait_job(r.json()["job_id"])
        self.assertEqual((job["status"], job["error_file_path"]), ("completed", ""))
        r = self.c.get("/api/contacts/import/%d/errors/" % job["id"], headers=self.auth)
        self.assertEqual((r.status, r.json()), (404, {"detail": "Not found."}))

    def test_file_without_usable_header_fails_the_job_with_a_reason(self):
        r = self.upload(multipart("file", "x.csv", b"foo,bar\n1,2\n"))
        job = self.wait_job(r.json()["job_id"])
        self.assertEqual(job["status"], "failed")
        self.assertIn("header", job["message"].lower())

    def test_upload_validation_errors(self):
        r = self.upload(multipart("other", "x.csv", b"First Name\nA\n"))
        self.assertEqual((r.status, r.json()), (400, {"file": ["This field is required."]}))
        r = self.upload(multipart("file", "x.csv", b""))
        self.assertEqual((r.status, r.json()), (400, {"file": ["The submitted file is empty."]}))
        r = self.upload(b"First Name\nA\n", content_type="text/csv")
        self.assertEqual((r.status, r.json()), (400, {"file": ["This field is required."]}))
        # Fields other than the file are skipped, up to 1 MiB each (it used to be a 400 that
        # called the body malformed).
        r = self.upload(multipart("file", "x.csv", b"First Name\nA\n",
                                  extra_fields=[("note", "n" * (1024 * 1024 + 1))]))
        self.assertEqual((r.status, r.json()),
                         (413, {"detail": "A form field other than 'file' is over 1 MiB."}))
        r = self.upload(multipart("file", "x.csv", b"First Name\nA\n",
                                  extra_fields=[("note", "n" * (1024 * 1024))]))
        self.assertEqual(r.status, 201, r.describe())
        self.wait_job(r.json()["job_id"])

    def test_upload_needs_an_admin(self):
        body = multipart("file", "x.csv", b"First Name\nA\n")
        r = self.upload(body, headers={})
        self.assertEqual((r.status, r.json()),
                         (401, {"detail": "Authentication credentials were not provided."}))
        r = self.upload(body, headers={"Authorization": "Bearer " + token(self.c, USER)})
        self.assertEqual((r.status, r.json()),
                         (403, {"detail": "You do not have permission to perform this action."}))
        for path in ("/api/contacts/import/1/", "/api/contacts/import/1/errors/"):
            self.assertEqual(self.c.get(path).status, 401, path)

    def test_unknown_job_is_404(self):
        r = self.c.get("/api/contacts/import/999999/", headers=self.auth)
        self.assertEqual((r.status, r.json()), (404, {"detail": "Not found."}))

    def test_completed_job_invalidates_cached_reads(self):
        before = self.count(first_name="cachecheck")
        self.assertEqual(before, 0)
        r = self.c.get("/api/contacts/count/", {"first_name": "cachecheck"})
        self.assertEqual(r.header("X-Cache-Hit"), "true", "the count must be cached now")
        job = self.wait_job(self.upload(multipart("file", "c.csv", people_csv(12, prefix="cachecheck")))
                            .json()["job_id"])
        self.assertEqual(job["status"], "completed")
        r = self.c.get("/api/contacts/count/", {"first_name": "cachecheck"})
        self.assertEqual(r.json(), {"count": 12}, "a read after 'completed' saw pre-import data")

    def test_importing_the_same_file_twice_updates_in_place(self):
        content = b"First Name,Email,Title\nAda,ada.twice@example.com,CTO\nBob,bob.twice@example.com,CEO\n"
        self.wait_job(self.upload(multipart("file", "t.csv", content)).json()["job_id"])
        first = {c["email"]: c for c in harness.walk_results(self.c, "/api/contacts/", {"search": "twice@example"})}
        time.sleep(0.01)
        self.wait_job(self.upload(multipart("file", "t.csv", content)).json()["job_id"])
        r = self.c.get("/api/contacts/", {"search": "twice@example"}, headers={"Cache-Control": "no-cache"})
        second = {c["email"]: c for c in r.json()["results"]}
        self.assertEqual(sorted(second), sorted(first))
        for email, c in second.items():
            self.assertEqual(c["id"], first[email]["id"])
            self.assertEqual(c["created_at"], first[email]["created_at"])
            self.assertGreater(c["updated_at"], first[email]["updated_at"])


class UploadLimit(unittest.TestCase):

    def test_upload_over_the_limit_is_413(self):
        s = ImportServer("limit", {"CONTACTS_MAX_UPLOAD_BYTES": "1000"})
        harness.create_user(s.data, "create-admin", ADMIN[0], ADMIN[1], via_stdin=False)
        c = s.start()
        auth = {"Authorization": "Bearer " + token(c, ADMIN),
                "Content-Type": "multipart/form-data; boundary=" + BOUNDARY}
        r = c.request("POST", "/api/contacts/import/", headers=auth,
                      body=multipart("file", "big.csv", people_csv(200)))
        self.assertEqual(r.status, 413, r.describe())
        c.close()
        c = s.server.client
        r = c.request("POST", "/api/contacts/import/", headers=auth,
                      body=multipart("file", "small.csv", people_csv(3)))
        self.assertEqual(r.status, 201, r.describe())
        self.assertEqual(os.listdir(os.path.join(s.data, "uploads")), [os.path.basename(
            c.get("/api/contacts/import/%d/" % r.json()["job_id"], headers=auth).json()["upload_file_path"])],
            "the rejected upload left a file behind")


class CrashResume(unittest.TestCase):
    ROWS = 60000

    def test_job_killed_mid_file_resumes_with_every_row_exactly_once(self):
        s = ImportServer("crash")
        harness.create_user(s.data, "create-admin", ADMIN[0], ADMIN[1], via_stdin=False)
        c = s.start(register=False)  # killed on purpose: not part of the clean-shutdown checks
        auth = {"Authorization": "Bearer " + token(c, ADMIN)}
        h = dict(auth, **{"Content-Type": "multipart/form-data; boundary=" + BOUNDARY})
        r = c.request("POST", "/api/contacts/import/", headers=h,
                      body=multipart("file", "big.csv", people_csv(self.ROWS, bad_every=997)))
        self.assertEqual(r.status, 201, r.describe())
        job_id = r.json()["job_id"]
        deadline = time.time() + 120
        killed_at = None
        try:
            while time.time() < deadline:
                job = c.get("/api/contacts/import/%d/" % job_id, headers=auth).json()
                if job["status"] == "completed":
                    break
                if job["total_rows"] > 0:
                    os.kill(s.server.proc.pid, signal.SIGKILL)
                    s.server.proc.wait()
                    killed_at = job["total_rows"]
                    break
                time.sleep(0.005)
        finally:
            if s.server.proc.poll() is None:
                s.server.proc.kill()
                s.server.proc.wait()
            s.server.returncode = s.server.proc.returncode
        self.assertIsNotNone(killed_at, "the job finished before it could be killed; "
                             "raise ROWS")
        self.assertLess(killed_at, self.ROWS)
        c = s.start()
        job = wait_job(self, c, auth, job_id)
        bad = self.ROWS // 997
        self.assertEqual(job["status"], "completed", job)
        self.assertEqual((job["total_rows"], job["success_count"], job["error_count"]),
                         (self.ROWS, self.ROWS - bad, bad))
        r = c.get("/api/contacts/count/", headers={"Cache-Control": "no-cache"})
        self.assertEqual(r.json(), {"count": self.ROWS - bad}, "rows lost or duplicated")
        r = c.get("/api/contacts/import/%d/errors/" % job_id, headers=auth)
        lines = list(csv.reader(io.StringIO(r.body.decode())))
        self.assertEqual([row[0] for row in lines[1:]],
                         ["p%d" % i for i in range(997, self.ROWS + 1, 997)],
                         "the errors CSV lost or repeated rows")


class SeparateWorker(unittest.TestCase):

    def test_worker_process_runs_jobs_queued_by_a_server_without_workers(self):
        s = ImportServer("noworkers", {"CONTACTS_IMPORT_WORKERS": "0"})
        harness.create_user(s.data, "create-admin", ADMIN[0], ADMIN[1], via_stdin=False)
        c = s.start()
        auth = {"Authorization": "Bearer " + token(c, ADMIN)}
        h = dict(auth, **{"Content-Type": "multipart/form-data; boundary=" + BOUNDARY})
        r = c.request("POST", "/api/contacts/import/", headers=h,
                      body=multipart("file", "w.csv", people_csv(2500, bad_every=500, prefix="wk")))
        self.assertEqual(r.status, 201, r.describe())
        job_id = r.json()["job_id"]
        time.sleep(1.0)
        job = c.get("/api/contacts/import/%d/" % job_id, headers=auth).json()
        self.assertEqual((job["status"], job["message"], job["started_at"]), ("pending", "Queued", None))
        env = harness.import_env(s.data)
        env["CONTACTS_IMPORT_LEASE_SECONDS"] = "2"
        worker = harness.subprocess.Popen([CTX.binary, "worker"], env=env,
                                          stdout=harness.subprocess.DEVNULL,
                                          stderr=harness.subprocess.PIPE)
        try:
            job = wait_job(self, c, auth, job_id, timeout=120)
            self.assertEqual((job["status"], job["total_rows"], job["success_count"],
                              job["error_count"]), ("completed", 2500, 2495, 5))
            # "completed" is shown once this server reads the rows the other process wrote.
            r = c.get("/api/contacts/count/", {"first_name": "wk"})
            self.assertEqual(r.json(), {"count": 2495})
        finally:
            worker.send_signal(signal.SIGTERM)
            try:
                rc = worker.wait(20)
            except harness.subprocess.TimeoutExpired:
                worker.kill()
                rc = worker.wait()
            err = worker.stderr.read().decode("utf-8", "replace")
        self.assertEqual(rc, 0, err)
        self.assertIn('"msg":"import job completed"', err)
