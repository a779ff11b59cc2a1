"""The JSON access log over HTTP: one line per answered request on stderr with the request id
the server answered, the route template, the path without its query, status, duration, body
bytes and whether the cache answered; CONTACTS_ACCESS_LOG turns it off; and no line that any
process writes (serve, worker, create-admin) ever holds a secret: the signing key, the
database and Redis passwords, users' passwords (right or wrong) and tokens."""
import json
import os
import re
import secrets
import socket
import subprocess
import time
import unittest
import uuid

import harness
from harness import CTX
from metrics_text import Exposition
from test_fleet import redis_script
from test_import_jobs import BOUNDARY, multipart, people_csv
from test_metrics import metrics_server

ACCESS_FIELDS = ["ts", "level", "msg", "request_id", "method", "route", "path", "status",
                 "duration_ms", "bytes", "cache_hit"]


def access_lines(path):
    """The access-log lines of a stderr file, parsed."""
    out = []
    with open(path, "rb") as f:
        for raw in f.read().decode("utf-8", "replace").splitlines():
            if raw.startswith("{") and '"msg":"request"' in raw:
                out.append(json.loads(raw))
    return out


def wait_lines(path, request_ids, timeout=5):
    """{request_id: line} once every id in `request_ids` has its line."""
    deadline = time.time() + timeout
    while True:
        found = {l["request_id"]: l for l in access_lines(path) if l["request_id"] in request_ids}
        if len(found) == len(request_ids) or time.time() > deadline:
            return found
        time.sleep(0.05)


class AccessLogLines(unittest.TestCase):

    def test_one_line_per_request_with_the_answered_request_id(self):
        server = metrics_server()
        c = server.client
        tag = uuid.uuid4().hex[:12]
        ids = {name: "%s-%s" % (name, tag) for name in ("miss", "hit", "retrieve404", "bad")}
        query = {"search": "secret-search-term-" + tag, "page_size": "1"}
        miss = c.get("/api/contacts/", query, headers={"X-Request-Id": ids["miss"]})
        hit = c.get("/api/contacts/", query, headers={"X-Request-Id": ids["hit"]})
        gone = c.get("/api/contacts/987654321/", headers={"X-Request-Id": ids["retrieve404"]})
        bad = c.get("/api/contacts/", {"limit": "x"}, headers={"X-Request-Id": ids["bad"]})
        generated = c.get("/healthz")
        self.assertEqual((miss.status, hit.status, gone.status, bad.status), (200, 200, 404, 400))
        self.assertEqual(hit.header("X-Cache-Hit"), "true")
        ids["generated"] = generated.header("X-Request-Id")
        lines = wait_lines(server.stderr_path, set(ids.values()))
        self.assertEqual(sorted(lines), sorted(ids.values()))
        for name, response, route, path, cache_hit in (
                ("miss", miss, "/api/contacts/", "/api/contacts/", False),
                ("hit", hit, "/api/contacts/", "/api/contacts/", True),
                ("retrieve404", gone, "/api/contacts/{id}/", "/api/contacts/987654321/", False),
                ("bad", bad, "/api/contacts/", "/api/contacts/", False),
                ("generated", generated, "/healthz", "/healthz", False)):
            line = lines[ids[name]]
            self.assertEqual(list(line), ACCESS_FIELDS, name)
            self.assertEqual(
                (line["level"], line["method"], line["route"], line["path"], line["status"],
                 line["bytes"], line["cache_hit"]),
                ("info", "GET", route, path, response.status, len(response.body), cache_hit),
                name)
            self.assertIsInstance(line["duration_ms"], float)
            self.assertGreaterEqual(line["duration_ms"], 0)
            self.assertLess(line["duration_ms"], 30000)
            self.assertRegex(line["ts"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")
        with open(server.stderr_path, "rb") as f:
            self.assertNotIn(b"secret-search-term-" + tag.encode(), f.read(),
                             "query strings are not logged")

    def test_a_streamed_export_logs_the_bytes_of_its_body(self):
        server = metrics_server()
        rid = "export-" + uuid.uuid4().hex[:12]
        r = server.client.get("/api/contacts/export/", headers={"X-Request-Id": rid})
        self.assertEqual(r.status, 200, r.describe())
        self.assertEqual(r.header("Transfer-Encoding"), "chunked")
        line = wait_lines(server.stderr_path, {rid}).get(rid)
        self.assertIsNotNone(line, "no access-log line for the export")
        self.assertEqual((line["route"], line["status"], line["bytes"]),
                         ("/api/contacts/export/", 200, len(r.body)))

    def test_requests_the_server_rejects_itself_are_logged_without_a_request(self):
        server = metrics_server()
        before = len(access_lines(server.stderr_path))
        r = harness.http.raw_exchange(harness.LOOPBACK, server.port,
                                      b"GET /x HTTP/1.1\r\nNo colon here\r\n\r\n")
        self.assertEqual(r.status, 400)
        deadline = time.time() + 5
        while len(access_lines(server.stderr_path)) == before and time.time() < deadline:
            time.sleep(0.05)
        line = access_lines(server.stderr_path)[-1]
        # The answer's made-up X-Request-Id (contract section 1: every response has one).
        self.assertTrue(r.header("X-Request-Id"))
        self.assertEqual((line["status"], line["route"], line["method"], line["path"],
                          line["request_id"]),
                         (400, "unmatched", None, None, r.header("X-Request-Id")))


class AccessLogSetting(unittest.TestCase):

    def test_access_log_false_writes_no_request_lines(self):
        data = os.path.join(CTX.root, "data-no-access-log")
        os.makedirs(data, exist_ok=True)
        server = harness.Server("no-access-log", CTX.binary, data, CTX.root,
                                {"CONTACTS_ACCESS_LOG": "false"})
        CTX.servers.append(server)
        server.start(timeout=60)
        try:
            for _ in range(3):
                self.assertEqual(server.client.get("/api/contacts/").status, 200)
            page = Exposition(server.client.get("/metrics").body.decode())
            self.assertEqual(page.get("contacts_http_requests_total", method="GET",
                                      route="/api/contacts/", status="200"), 3,
                             "requests are still counted")
        finally:
            server.stop()
        self.assertEqual(access_lines(server.stderr_path), [])

    def test_invalid_value_stops_the_program_naming_the_variable(self):
        env = harness.import_env(os.path.join(CTX.root, "data-bad-setting"))
        env["CONTACTS_ACCESS_LOG"] = "sometimes"
        env["CONTACTS_PORT"] = str(harness.free_port())
        p = subprocess.run([CTX.binary, "serve"], env=env, capture_output=True, timeout=60,
                           cwd=CTX.root)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn(b"CONTACTS_ACCESS_LOG", p.stderr)


class ComponentSettings(unittest.TestCase):
    """Values whose syntax the component using them checks (api/settings_check.h) still stop
    every command at start, naming the variable and not echoing a secret in the value."""

    def test_a_malformed_redis_url_stops_every_command(self):
        for command in (["serve"], ["migrate"], ["export", "--output", "x.csv"]):
            env = harness.import_env(os.path.join(CTX.root, "data-bad-redis"))
            env["CONTACTS_REDIS_URL"] = "http://user:not-shown-pw@127.0.0.1:1/0"
            env["CONTACTS_PORT"] = str(harness.free_port())
            p = subprocess.run([CTX.binary] + command, env=env, capture_output=True, timeout=60,
                               cwd=CTX.root)
            self.assertEqual(p.returncode, 1, command)
            self.assertIn(b"CONTACTS_REDIS_URL: expected redis://", p.stderr, command)
            self.assertNotIn(b"not-shown-pw", p.stdout + p.stderr, command)


def redis_command(port, *words):
    with socket.create_connection((harness.LOOPBACK, port), timeout=5) as s:
        s.sendall(" ".join(words).encode() + b"\r\n")
        return s.recv(256)


def with_password(url, password):
    """postgresql://user@host... -> postgresql://user:password@host..."""
    m = re.match(r"^(postgres(?:ql)?://)([^:@/]+)@(.*)$", url)
    assert m, url
    return "%s%s:%s@%s" % (m.group(1), m.group(2), password, m.group(3))


class NoSecretsInLogs(unittest.TestCase):
    """A serve process, a worker and the CLI, all given secrets, exercised with right and wrong
    passwords, tokens, refreshes, an import with errors and failing requests; then every byte
    they wrote to stdout and stderr is searched for each secret."""

    @classmethod
    def setUpClass(cls):
        cls.secrets = {name: "%s%s" % (name.replace("_", ""), secrets.token_hex(12)) for name in (
            "secret_key", "redis_password", "wrong_redis_password", "db_password",
            "admin_password", "user_password", "wrong_password", "unknown_user_password")}
        cls.outputs = []    # paths of every stdout/stderr written by a process of this test
        cls.redis_dir = os.path.join(CTX.root, "redis-secrets")
        port = redis_script("start", cls.redis_dir).strip().rsplit(":", 1)[1].split("/")[0]
        reply = redis_command(port, "CONFIG", "SET", "requirepass", cls.secrets["redis_password"])
        assert reply.startswith(b"+OK"), reply
        cls.data = os.path.join(CTX.root, "data-secrets")
        os.makedirs(cls.data, exist_ok=True)
        cls.env = {
            "CONTACTS_SECRET_KEY": cls.secrets["secret_key"],
            "CONTACTS_REDIS_URL": "redis://:%s@127.0.0.1:%s/0" % (cls.secrets["redis_password"],
                                                                 port),
            "CONTACTS_REDIS_KEY_PREFIX": "secrets",
            "CONTACTS_IMPORT_WORKERS": "0",
            "CONTACTS_IMPORT_LEASE_SECONDS": "2",
        }
        store = harness.store_env(cls.data)
        if harness.PG_URL:
            cls.env["CONTACTS_DATABASE_URL"] = with_password(store["CONTACTS_DATABASE_URL"],
                                                             cls.secrets["db_password"])
        cls.run_cli("create-admin", "admin", cls.secrets["admin_password"])
        cls.run_cli("create-user", "viewer", cls.secrets["user_password"])
        cls.server = harness.Server("secrets", CTX.binary, cls.data, CTX.root, cls.env)
        CTX.servers.append(cls.server)
        cls.outputs += [cls.server.stdout_path, cls.server.stderr_path]
        cls.server.start(timeout=60)
        cls.worker = None
        cls.tokens = []
        cls.statuses = []  # (method, route-ish path, status) of each request made
        cls.readyz = cls.call("GET", "/readyz").json()
        try:
            cls.exercise()
            cls.wrong_redis_password_run(port)
        finally:
            # Stopped before any test looks: every buffered log line is written by then.
            cls.stop_processes()

    @classmethod
    def stop_processes(cls):
        if cls.worker is not None and cls.worker.poll() is None:
            cls.worker.terminate()
            cls.worker.wait(20)
        cls.server.stop()

    @classmethod
    def tearDownClass(cls):
        cls.stop_processes()
        redis_script("stop", cls.redis_dir)

    @classmethod
    def process_env(cls):
        env = harness.import_env(cls.data)
        env.update(cls.env)
        return env

    @classmethod
    def run_cli(cls, command, user, password):
        env = cls.process_env()
        env["CONTACTS_PASSWORD"] = password
        p = subprocess.run([CTX.binary, command, "--username", user], env=env,
                           capture_output=True, timeout=120, cwd=CTX.root)
        assert p.returncode == 0, p.stderr
        for suffix, data in (("stdout", p.stdout), ("stderr", p.stderr)):
            path = os.path.join(CTX.root, "secrets-%s-%s.%s" % (command, user, suffix))
            with open(path, "wb") as f:
                f.write(data)
            cls.outputs.append(path)

    @classmethod
    def call(cls, method, target, headers=None, body=None):
        r = cls.server.client.request(method, target, headers=headers, body=body)
        cls.statuses.append((method, target.split("?")[0], r.status))
        return r

    @classmethod
    def sign_in(cls, user, password):
        body = json.dumps({"username": user, "password": password}).encode()
        return cls.call("POST", "/api/auth/token/", {"Content-Type": "application/json"}, body)

    @classmethod
    def exercise(cls):
        s = cls.secrets
        admin = cls.sign_in("admin", s["admin_password"]).json()
        viewer = cls.sign_in("viewer", s["user_password"]).json()
        cls.tokens += [admin["access"], admin["refresh"], viewer["access"], viewer["refresh"]]
        assert cls.sign_in("admin", s["wrong_password"]).status == 401
        assert cls.sign_in("nobody", s["unknown_user_password"]).status == 401
        truncated = ('{"username": "admin", "password": "%s"' % s["wrong_password"]).encode()
        assert cls.call("POST", "/api/auth/token/", {"Content-Type": "application/json"},
                        truncated).status == 400
        refreshed = cls.call("POST", "/api/auth/token/refresh/",
                             {"Content-Type": "application/json"},
                             json.dumps({"refresh": admin["refresh"]}).encode())
        cls.tokens.append(refreshed.json()["access"])
        assert cls.call("POST", "/api/auth/token/refresh/", {"Content-Type": "application/json"},
                        json.dumps({"refresh": admin["access"]}).encode()).status == 401
        admin_auth = {"Authorization": "Bearer " + admin["access"]}
        tampered = admin["access"][:-4] + ("AAAA" if not admin["access"].endswith("AAAA") else "BBBB")
        assert cls.call("GET", "/api/contacts/import/1/",
                        {"Authorization": "Bearer " + tampered}).status == 401
        assert cls.call("GET", "/api/contacts/import/1/",
                        {"Authorization": "Bearer " + viewer["access"]}).status == 403
        # A password in a query string (a client's mistake) is not logged either.
        assert cls.call("GET", "/api/contacts/?search=" + s["user_password"]).status == 200
        upload_headers = dict(admin_auth,
                              **{"Content-Type": "multipart/form-data; boundary=" + BOUNDARY})
        # Refused from its head (a viewer's token), then accepted: both under the import route.
        assert cls.call("POST", "/api/contacts/import/",
                        dict(upload_headers, Authorization="Bearer " + viewer["access"]),
                        multipart("file", "v.csv", people_csv(2, prefix="vw"))).status == 403
        r = cls.call("POST", "/api/contacts/import/", upload_headers,
                     multipart("file", "s.csv", people_csv(20, bad_every=5, prefix="sec")))
        assert r.status == 201, r.describe()
        cls.job_id = r.json()["job_id"]
        cls.queued_page = Exposition(cls.call("GET", "/metrics").body.decode())
        cls.start_worker()
        deadline = time.time() + 120
        while time.time() < deadline:
            job = cls.call("GET", "/api/contacts/import/%d/" % cls.job_id, admin_auth).json()
            if job["status"] in ("completed", "failed"):
                break
            time.sleep(0.1)
        cls.job = job
        cls.call("GET", "/api/contacts/import/%d/errors/" % cls.job_id, admin_auth)
        harness.http.raw_exchange(harness.LOOPBACK, cls.server.port, (
            "GET /api/contacts/ HTTP/1.1\r\nAuthorization: Bearer %s\r\nbroken header\r\n\r\n"
            % admin["access"]).encode())
        cls.call("GET", "/api/contacts/import/999/", admin_auth)
        cls.done_page = Exposition(cls.call("GET", "/metrics").body.decode())
        cls.store_outage = None
        if harness.PG_URL:
            cls.store_outage = cls.lose_the_database(admin_auth)

    @classmethod
    def wrong_redis_password_run(cls, port):
        """A second server whose Redis password is wrong: Redis refuses it, and the server
        logs that it answers without the shared cache."""
        env = dict(cls.env, CONTACTS_REDIS_URL="redis://:%s@127.0.0.1:%s/0" % (
            cls.secrets["wrong_redis_password"], port))
        server = harness.Server("secrets-wrong-redis", CTX.binary, cls.data, CTX.root, env)
        CTX.servers.append(server)
        cls.outputs += [server.stdout_path, server.stderr_path]
        server.start(timeout=60)
        try:
            cls.wrong_redis_readyz = server.client.get("/readyz").json()
        finally:
            server.stop()
        with open(server.stderr_path, "rb") as f:
            cls.wrong_redis_stderr = f.read()

    @classmethod
    def start_worker(cls):
        out = os.path.join(CTX.root, "secrets-worker.stdout")
        err = os.path.join(CTX.root, "secrets-worker.stderr")
        cls.outputs += [out, err]
        with open(out, "wb") as o, open(err, "wb") as e:
            cls.worker = subprocess.Popen([CTX.binary, "worker"], env=cls.process_env(),
                                          stdout=o, stderr=e, stdin=subprocess.DEVNULL,
                                          cwd=CTX.root)

    @classmethod
    def lose_the_database(cls, admin_auth):
        """Drops the server's database under it: store calls fail (503, error lines naming the
        server and database, never the password) and are counted."""
        cls.worker.terminate()
        cls.worker.wait(20)
        name = harness.database_name(cls.data)
        harness.psql(harness.PG_URL, "DROP DATABASE %s WITH (FORCE)" % name)
        CTX.databases.pop(name, None)
        statuses = [cls.call("GET", "/api/contacts/import/%d/" % cls.job_id, admin_auth).status
                    for _ in range(3)]
        page = Exposition(cls.call("GET", "/metrics").body.decode())
        return statuses, page

    def read_outputs(self):
        out = {}
        for path in self.outputs:
            with open(path, "rb") as f:
                out[os.path.basename(path)] = f.read()
        return out

    def test_uploads_are_logged_under_the_import_route(self):
        # The route is matched once, from the upload's head, and carried to the access log.
        lines = [line for line in access_lines(self.server.stderr_path)
                 if line["method"] == "POST" and line["path"] == "/api/contacts/import/"]
        self.assertEqual(sorted((line["route"], line["status"]) for line in lines),
                         [("/api/contacts/import/", 201), ("/api/contacts/import/", 403)])

    def test_no_output_holds_a_secret_or_a_token(self):
        outputs = self.read_outputs()
        needles = dict(self.secrets)
        for i, t in enumerate(self.tokens):
            needles["token%d" % i] = t
            needles["token%d signature" % i] = t.rsplit(".", 1)[1]
            needles["token%d payload" % i] = t.split(".")[1]
        if not harness.PG_URL:
            del needles["db_password"]
        for name, value in needles.items():
            for path, data in outputs.items():
                at = data.find(value.encode())
                if at >= 0:
                    line = data[data.rfind(b"\n", 0, at) + 1:data.find(b"\n", at)]
                    self.fail("%s found in %s: %r" % (name, path, line[:600]))

    def test_the_scanned_outputs_are_the_real_logs(self):
        """The scan above looked where the lines are: the server's stderr has an access line
        for every request made (the wrong passwords and bad tokens included), the worker's
        stderr its job lines."""
        lines = access_lines(self.server.stderr_path)
        # Without the start-up polls of /api/health/ and the request the server could not parse.
        logged = [(l["method"], l["path"], l["status"]) for l in lines
                  if l["method"] and l["path"] != "/api/health/"]
        self.assertEqual(logged, self.statuses)
        self.assertIn((None, None, 400), [(l["method"], l["path"], l["status"]) for l in lines])
        with open(os.path.join(CTX.root, "secrets-worker.stderr"), "rb") as f:
            self.assertIn(b'"import job completed"', f.read())

    def test_the_passwords_given_were_the_ones_in_use(self):
        self.assertEqual(self.readyz.get("cache"), "redis", "Redis accepted its password")
        self.assertEqual(self.wrong_redis_readyz.get("cache"), "redis-unavailable")
        self.assertIn(b"redis unavailable", self.wrong_redis_stderr)
        self.assertEqual(self.job["status"], "completed")

    def test_jobs_by_state_come_from_the_store_whichever_process_ran_them(self):
        self.assertEqual(self.queued_page.get("contacts_import_jobs", state="queued"), 1)
        self.assertEqual(self.job["status"], "completed")
        done = self.done_page
        self.assertEqual([done.get("contacts_import_jobs", state=s)
                          for s in ("queued", "running", "completed", "failed")], [0, 0, 1, 0])
        self.assertEqual(done.get("contacts_import_rows_total", result="success"), 0,
                         "the rows were imported by the worker process, not this one")

    @unittest.skipUnless(harness.PG_URL, "runs with --postgres")
    def test_a_lost_database_is_counted_as_store_unavailable(self):
        statuses, page = self.store_outage
        self.assertEqual(statuses, [503, 503, 503])
        self.assertGreaterEqual(page.get("contacts_store_errors_total", kind="unavailable"), 3)
        self.assertEqual(page.get("contacts_store_up"), 0)
        self.assertNotIn(("contacts_import_jobs", frozenset({("state", "queued")})), page.samples)
        self.assertEqual(page.get("contacts_http_requests_total", method="GET",
                                  route="/api/contacts/import/{job_id}/", status="503"), 3)
        with open(self.server.stderr_path, "rb") as f:
            self.assertIn(b'"msg":"store unavailable"', f.read())


if __name__ == "__main__":
    unittest.main()
