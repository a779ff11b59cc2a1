"""docs/operations.md, run: nginx with the configuration printed there (only addresses, ports and
paths replaced) in front of two `serve` instances and a `contacts-api worker` that share one
PostgreSQL database, one data directory, one secret key and one Redis; everything checked
through nginx over HTTPS. A second fleet, on a private primary + replica, checks what clients
see when the primary, the replica or Redis is down. Runs when the suite runs with --postgres.
Every process (nginx, servers, worker, Redis, PostgreSQL) is started here and stopped by PID."""
import http.client
import json
import os
import pwd
import re
import signal
import ssl
import subprocess
import time
import unittest
import urllib.parse
import uuid

import client as http_client
import harness
from harness import CTX, LOOPBACK
from test_import_jobs import ADMIN, BOUNDARY, multipart, people_csv, token, wait_job
from test_postgres import cluster, needs_postgres

ROOT = os.path.join(harness.HERE, "..", "..")
DOC = os.path.join(ROOT, "docs", "operations.md")
REDIS_SCRIPT = os.path.join(ROOT, "scripts", "redis_test_server")
NGINX = "/usr/sbin/nginx"
BEGIN, END = "# BEGIN nginx.conf", "# END nginx.conf"
SECRET_KEY = "operations-fleet-secret-key-0123456789abcdef"
JSON_TYPE = "application/json; charset=utf-8"


# -- the documented nginx.conf ---------------------------------------------------------------

def documented_nginx_conf():
    """The text between the marker lines of docs/operations.md, marker lines included."""
    with open(DOC, encoding="utf-8") as f:
        text = f.read()
    start, end = text.find(BEGIN), text.find(END)
    if start < 0 or end < start:
        raise AssertionError("docs/operations.md has no '%s' ... '%s' block" % (BEGIN, END))
    return text[start:text.index("\n", end) + 1]


def public_host(conf):
    m = re.search(r"^\s*server_name\s+([^\s;]+)", conf, re.M)
    if not m:
        raise AssertionError("the documented nginx.conf has no server_name")
    return m.group(1)


def substitute(conf, pattern, replacement, count):
    """re.sub over lines; fails unless `pattern` matched exactly `count` times, so that a change
    of the documented configuration that this test no longer understands is reported here."""
    out, n = re.subn(pattern, replacement, conf, flags=re.M)
    if n != count:
        raise AssertionError("documented nginx.conf: %r matched %d times, expected %d; update "
                             "tests/http/test_operations.py with docs/operations.md" % (
                                 pattern, n, count))
    return out


def replace_upstream_servers(conf, upstreams):
    """Every `server HOST:PORT params;` line becomes one line per (host, port) of `upstreams`,
    with the parameters of the documented first line."""
    pattern = re.compile(r"^(\s*)server\s+[^\s;{]+:\d+(\s[^;]*)?;\n", re.M)
    found = list(pattern.finditer(conf))
    if len(found) < 2:
        raise AssertionError("documented nginx.conf: expected several upstream server lines, "
                             "found %d" % len(found))
    indent, params = found[0].group(1), found[0].group(2) or ""
    lines = "".join("%sserver %s:%d%s;\n" % (indent, h, p, params) for h, p in upstreams)
    out = conf[:found[0].start()] + lines
    for prev, m in zip(found, found[1:] + [None]):
        out += conf[prev.end():m.start() if m else len(conf)]
    return out


def local_nginx_conf(conf, prefix, upstreams, https_port, http_port, cert, key):
    """The documented configuration on loopback ports, with certificate, logs and temp files
    under `prefix`, and the upstream servers replaced."""
    user = "user %s;" % pwd.getpwuid(os.geteuid()).pw_name if os.geteuid() == 0 else ""
    conf = substitute(conf, r"^user\s+\S+;$", lambda m: user, 1)
    conf = replace_upstream_servers(conf, upstreams)
    conf = substitute(conf, r"^\s*listen\s+\[::\]:\d+[^;]*;\n", "", 2)
    conf = substitute(conf, r"^(\s*)listen\s+443(\s[^;]*)?;$",
                      lambda m: "%slisten %s:%d%s;" % (m.group(1), LOOPBACK, https_port,
                                                       m.group(2) or ""), 1)
    conf = substitute(conf, r"^(\s*)listen\s+80(\s[^;]*)?;$",
                      lambda m: "%slisten %s:%d%s;" % (m.group(1), LOOPBACK, http_port,
                                                       m.group(2) or ""), 1)
    conf = substitute(conf, r"^(\s*)ssl_certificate\s+\S+;$",
                      lambda m: "%sssl_certificate %s;" % (m.group(1), cert), 1)
    conf = substitute(conf, r"^(\s*)ssl_certificate_key\s+\S+;$",
                      lambda m: "%sssl_certificate_key %s;" % (m.group(1), key), 1)
    logs = os.path.join(prefix, "logs")
    conf = substitute(conf, r"^(\s*)access_log\s+/\S+",
                      lambda m: "%saccess_log %s" % (m.group(1), os.path.join(logs, "access.log")), 1)
    conf = substitute(conf, r"^(\s*)error_log\s+/\S+",
                      lambda m: "%serror_log %s" % (m.group(1), os.path.join(logs, "error.log")), 1)
    temp = "".join("    %s_temp_path %s;\n" % (kind, os.path.join(prefix, "tmp", kind))
                   for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    return substitute(conf, r"^http \{\n", lambda m: "http {\n" + temp, 1)


def self_signed_certificate(directory, host):
    cert, key = os.path.join(directory, "cert.pem"), os.path.join(directory, "key.pem")
    p = subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2", "-subj",
                        "/CN=" + host, "-addext", "subjectAltName=DNS:" + host, "-keyout", key,
                        "-out", cert], capture_output=True, timeout=60)
    if p.returncode != 0:
        raise RuntimeError("openssl req failed: %s" % p.stderr.decode("utf-8", "replace"))
    return cert, key


class TlsClient:
    """HTTPS to nginx on loopback as a client of the public name (Host header), with the
    interface of client.Client; one connection per request."""

    def __init__(self, port, host, cafile):
        self.port = port
        self.host = host
        self.context = ssl.create_default_context(cafile=cafile)
        self.context.check_hostname = False  # we connect to 127.0.0.1; the chain is verified

    def request(self, method, target, headers=None, body=None):
        h = {"Host": self.host}
        h.update(headers or {})
        conn = http.client.HTTPSConnection(LOOPBACK, self.port, timeout=120,
                                           context=self.context)
        try:
            conn.request(method, target, body=body, headers=h)
            resp = conn.getresponse()
            return http_client.Response(resp.status, resp.getheaders(), resp.read(), method,
                                        target)
        finally:
            conn.close()

    def get(self, path, params=None, headers=None):
        return self.request("GET", http_client.target_of(path, params), headers=headers)

    def follow(self, url, headers=None):
        parts = urllib.parse.urlsplit(url)
        return self.get(parts.path + ("?" + parts.query if parts.query else ""), headers=headers)


def stop_pid(proc, sig=signal.SIGTERM, timeout=20):
    """Stops one child process by PID; returns its exit status."""
    if proc is None:
        return None
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode


class Nginx:
    """nginx in the foreground (`daemon off`) as a child process, on two free loopback ports
    (HTTPS and the plain-HTTP redirect), with the documented configuration."""

    def __init__(self, name, upstreams):
        self.prefix = os.path.join(CTX.root, "nginx-" + name)
        for sub in ("conf", "logs", "tmp"):
            os.makedirs(os.path.join(self.prefix, sub), exist_ok=True)
        self.documented = documented_nginx_conf()
        self.host = public_host(self.documented)
        self.cert, self.key = self_signed_certificate(self.prefix, self.host)
        self.https_port = harness.free_port()
        self.http_port = harness.free_port()
        self.conf_path = os.path.join(self.prefix, "conf", "nginx.conf")
        self.access_log = os.path.join(self.prefix, "logs", "access.log")
        self.stderr_path = os.path.join(self.prefix, "logs", "stderr.log")
        self.proc = None
        self.write(upstreams)

    def write(self, upstreams):
        with open(self.conf_path, "w", encoding="utf-8") as f:
            f.write(local_nginx_conf(self.documented, self.prefix, upstreams, self.https_port,
                                     self.http_port, self.cert, self.key))

    def command(self, *extra):
        globals_ = "daemon off; pid %s;" % os.path.join(self.prefix, "nginx.pid")
        return [NGINX, "-p", self.prefix + "/", "-c", self.conf_path, "-g", globals_] + list(extra)

    def check(self):
        """`nginx -t` on the configuration: (exit status, output)."""
        p = subprocess.run(self.command("-t"), capture_output=True, timeout=60)
        return p.returncode, (p.stdout + p.stderr).decode("utf-8", "replace")

    def start(self, timeout=20):
        rc, out = self.check()
        if rc != 0:
            raise RuntimeError("nginx -t rejects the documented configuration:\n" + out)
        with open(self.stderr_path, "ab") as err:
            self.proc = subprocess.Popen(self.command(), stdin=subprocess.DEVNULL,
                                         stdout=err, stderr=err)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("nginx exited with %s:\n%s" % (self.proc.returncode,
                                                                 self.logs()))
            try:
                if self.client().get("/api/health/").status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError("nginx did not answer within %ds:\n%s" % (timeout, self.logs()))

    def reload(self, upstreams):
        """New upstream servers, then SIGHUP: nginx re-reads its configuration."""
        self.write(upstreams)
        rc, out = self.check()
        if rc != 0:
            raise AssertionError("nginx -t: " + out)
        self.proc.send_signal(signal.SIGHUP)

    def stop(self):
        return stop_pid(self.proc)

    def client(self):
        return TlsClient(self.https_port, self.host, self.cert)

    def upstreams_of(self, marker):
        """Upstream addresses of the logged requests whose line contains `marker`."""
        try:
            with open(self.access_log, encoding="utf-8", errors="replace") as f:
                lines = [l for l in f if marker in l]
        except FileNotFoundError:
            return []
        out = []
        for line in lines:
            m = re.search(r"upstream=(\S+)", line)
            if m:
                out.extend(a.strip(",") for a in m.group(1).split(","))
        return out

    def logs(self, limit=4000):
        out = ""
        for path in (self.stderr_path, os.path.join(self.prefix, "logs", "error.log")):
            try:
                with open(path, "rb") as f:
                    out += "--- %s\n%s" % (path, f.read()[-limit:].decode("utf-8", "replace"))
            except FileNotFoundError:
                pass
        return out


class Fleet:
    """The processes of docs/operations.md on one database: Redis, `migrate`, a `worker`,
    `serve` instances without import threads of their own, and nginx in front; all share the
    data directory, the secret key and the Redis key prefix."""

    def __init__(self, name, database_url=None, replica_url=None):
        self.name = name
        self.data = os.path.join(CTX.root, "data-ops-" + name)
        os.makedirs(self.data, exist_ok=True)
        self.env = {"CONTACTS_SECRET_KEY": SECRET_KEY, "CONTACTS_TRUST_PROXY": "true",
                    "CONTACTS_CACHE_ENABLED": "true", "CONTACTS_IMPORT_LEASE_SECONDS": "3"}
        self.env.update({"CONTACTS_DATABASE_URL": database_url} if database_url
                        else harness.store_env(self.data))
        if replica_url:
            self.env["CONTACTS_DATABASE_REPLICA_URL"] = replica_url
        self.redis_dir = os.path.join(CTX.root, "redis-ops-" + name)
        self.redis_running = False
        self.instances = []
        self.worker = None
        self.worker_log = os.path.join(CTX.root, "worker-ops-%s.stderr" % name)
        self.nginx = None

    @property
    def database_url(self):
        return self.env["CONTACTS_DATABASE_URL"]

    def redis(self, command):
        p = subprocess.run([REDIS_SCRIPT, command, self.redis_dir], capture_output=True,
                           timeout=60)
        if p.returncode != 0:
            raise RuntimeError("redis_test_server %s: %s" % (command, p.stderr.decode()))
        return p.stdout.decode()

    def start_redis(self):
        lines = self.redis("start")
        self.redis_running = True
        url = dict(l.split("=", 1) for l in lines.split() if "=" in l)["CONTACTS_TEST_REDIS_URL"]
        self.env.update({"CONTACTS_REDIS_URL": url, "CONTACTS_REDIS_KEY_PREFIX": "ops-" + self.name})

    def process_env(self, **extra):
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("CONTACTS_") and k not in ("DATABASE_URL",
                                                              "DB_CONTACTS_REPLICA_URL")}
        env["CONTACTS_DATA_DIR"] = self.data
        env.update(self.env)
        env.update(extra)
        return env

    def run(self, *args, **extra_env):
        """`contacts-api ARGS` with the fleet's settings; fails unless it exits with 0."""
        p = subprocess.run([CTX.binary] + list(args), env=self.process_env(**extra_env),
                           capture_output=True, timeout=600, stdin=subprocess.DEVNULL)
        if p.returncode != 0:
            raise RuntimeError("contacts-api %s: rc=%d %s" % (
                " ".join(args), p.returncode, p.stderr.decode("utf-8", "replace")[-2000:]))
        return p.stdout.decode("utf-8", "replace")

    def seed(self, rows):
        path = os.path.join(CTX.root, "ops-%s-seed.csv" % self.name)
        with open(path, "wb") as f:
            f.write(people_csv(rows, prefix="seed"))
        self.run("import", path, "--errors", path + ".errors.csv")

    def start_worker(self):
        with open(self.worker_log, "ab") as log:
            self.worker = subprocess.Popen([CTX.binary, "worker"], stdin=subprocess.DEVNULL,
                                           stdout=subprocess.DEVNULL, stderr=log,
                                           env=self.process_env(CONTACTS_IMPORT_WORKERS="2"))

    def start_instance(self, name):
        server = harness.Server("ops-%s-%s" % (self.name, name), CTX.binary, self.data,
                                CTX.root, dict(self.env, CONTACTS_IMPORT_WORKERS="0"))
        CTX.servers.append(server)
        server.start(timeout=60)
        self.instances.append(server)
        return server

    def upstreams(self):
        return [(LOOPBACK, s.port) for s in self.instances]

    def start_nginx(self):
        self.nginx = Nginx(self.name, self.upstreams())
        self.nginx.start()

    def stop(self):
        """Stops every process of the fleet (by PID), nginx first."""
        if self.nginx is not None:
            self.nginx.stop()
        for server in self.instances:
            server.stop()
        stop_pid(self.worker)
        if self.redis_running:
            self.redis("stop")
            self.redis_running = False

    def worker_stderr(self):
        try:
            with open(self.worker_log, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""


def start_fleet(fleet, seed_rows, worker):
    """Steps 2-6 of docs/operations.md; stops what it started when a step fails."""
    if CTX.root is None or CTX.binary is None:
        raise RuntimeError(CTX.error or "the test environment was not prepared")
    try:
        fleet.start_redis()
        fleet.run("migrate")
        fleet.run("create-admin", "--username", ADMIN[0], CONTACTS_PASSWORD=ADMIN[1])
        fleet.seed(seed_rows)
        if worker:
            fleet.start_worker()
        fleet.start_instance("a")
        fleet.start_instance("b")
        wait_ready(fleet.instances, "redis")
        fleet.start_nginx()
    except BaseException:
        fleet.stop()
        raise


def direct_client(server):
    return http_client.Client(LOOPBACK, server.port)


def wait_ready(servers, cache, timeout=30):
    """Until GET /readyz on each server answers 200 with this cache state (as step 5 of
    docs/operations.md waits before an instance gets traffic)."""
    deadline = time.time() + timeout
    while True:
        answers = []
        for s in servers:
            r = direct_client(s).get("/readyz")
            answers.append((s.name, r.status, r.json() if r.body.startswith(b"{") else r.body))
        if all(status == 200 and isinstance(body, dict) and body.get("cache") == cache
               for _, status, body in answers):
            return
        if time.time() > deadline:
            raise AssertionError("not ready with cache %r after %ds: %s" % (cache, timeout,
                                                                          answers))
        time.sleep(0.2)


# -- the fleet ---------------------------------------------------------------------------------

@needs_postgres
class OperationsFleet(unittest.TestCase):
    """Two instances, a worker, Redis and nginx on the suite's PostgreSQL."""

    SEED_ROWS = 2000
    UPLOAD_ROWS = 50000

    @classmethod
    def setUpClass(cls):
        cls.fleet = Fleet("fleet")
        start_fleet(cls.fleet, cls.SEED_ROWS, worker=True)
        cls.nginx = cls.fleet.nginx
        cls.host = cls.nginx.host

    @classmethod
    def tearDownClass(cls):
        cls.fleet.stop()

    def setUp(self):
        self.public = self.nginx.client()
        if self.nginx.proc.poll() is not None:
            self.fail("nginx exited:\n" + self.nginx.logs())
        for s in self.fleet.instances:
            if not s.alive():
                self.fail("instance %s died: %s" % (s.name, s.stderr_tail(2000)))

    def auth(self, client=None):
        return {"Authorization": "Bearer " + token(client or self.public, ADMIN)}

    def contacts_in_database(self):
        return int(harness.psql(self.fleet.database_url, "SELECT count(*) FROM contacts")[0][0])

    def test_documented_config_passes_nginx_t(self):
        rc, out = self.nginx.check()
        self.assertEqual(rc, 0, out)

    def test_reads_through_nginx_are_answered_by_every_instance_alike(self):
        marker = "trace" + uuid.uuid4().hex[:12]
        total = self.contacts_in_database()
        direct = direct_client(self.fleet.instances[0])
        for i in range(12):
            r = self.public.get("/api/contacts/count/", {"trace": marker})
            self.assertEqual((r.status, r.json()), (200, {"count": total}), r.describe())
            self.assertEqual(r.header("Content-Type"), JSON_TYPE)
            params = {"page_size": "7", "ordering": "-employees", "first_name": "seed1",
                      "trace": marker}
            r = self.public.get("/api/contacts/", params)
            self.assertEqual(r.status, 200, r.describe())
            self.assertEqual(r.json()["results"], direct.get_json("/api/contacts/", params)["results"])
        used = set(self.nginx.upstreams_of(marker))
        self.assertEqual(used, {"%s:%d" % a for a in self.fleet.upstreams()},
                         "upstreams in nginx's access log")

    def test_links_carry_the_public_scheme_and_host_whatever_the_client_sends(self):
        base = "https://%s/api/contacts/" % self.host
        page = self.public.get("/api/contacts/", {"page_size": "3"})
        self.assertEqual(page.status, 200, page.describe())
        self.assertTrue(page.json()["next"].startswith(base + "?"), page.json()["next"])
        second = self.public.follow(page.json()["next"])
        self.assertEqual(second.status, 200, second.describe())
        self.assertTrue(second.json()["previous"].startswith(base + "?"), second.json()["previous"])
        self.assertNotEqual(second.json()["results"], page.json()["results"])
        spoofed = self.public.get("/api/contacts/", {"page_size": "3"}, headers={
            "X-Forwarded-Host": "evil.example.net", "X-Forwarded-Proto": "http"})
        self.assertTrue(spoofed.json()["next"].startswith(base + "?"), spoofed.json()["next"])
        s = self.fleet.instances[0]
        own = direct_client(s).get_json("/api/contacts/", {"page_size": "3"})
        self.assertTrue(own["next"].startswith("http://%s:%d/api/contacts/?" % (LOOPBACK, s.port)),
                        own["next"])

    def test_plain_http_is_redirected_to_https(self):
        r = http_client.Client(LOOPBACK, self.nginx.http_port).get(
            "/api/contacts/?page_size=1", headers={"Host": self.host})
        self.assertEqual(r.status, 301, r.describe())
        self.assertEqual(r.header("Location"), "https://%s/api/contacts/?page_size=1" % self.host)

    def test_probes_answer_through_nginx_and_on_each_instance_without_auth(self):
        clients = [self.public] + [direct_client(s) for s in self.fleet.instances]
        for c in clients:
            for path in ("/healthz", "/healthz/"):
                r = c.get(path)
                self.assertEqual((r.status, r.header("Content-Type")), (200, JSON_TYPE),
                                 r.describe())
                self.assertEqual(r.json(), {"status": "ok"})
            for path in ("/readyz", "/readyz/"):
                r = c.get(path)
                self.assertEqual((r.status, r.header("Content-Type")), (200, JSON_TYPE),
                                 r.describe())
                body = r.json()
                self.assertEqual((body.get("status"), body.get("store"), body.get("cache")),
                                 ("ready", "ok", "redis"), r.describe())

    def test_metrics_are_scraped_from_each_instance_and_denied_through_nginx(self):
        for path in ("/metrics", "/metrics/"):
            self.assertEqual(self.public.get(path).status, 403, path)
            for s in self.fleet.instances:
                r = direct_client(s).get(path)
                self.assertEqual(r.status, 200, r.describe())
                self.assertIn(b"# TYPE contacts_http_requests_total counter", r.body)

    def test_a_token_from_one_instance_is_accepted_by_the_other(self):
        a, b = [direct_client(s) for s in self.fleet.instances[:2]]
        for signer, checker in ((a, b), (b, a)):
            r = checker.get("/api/contacts/import/", headers=self.auth(signer))
            self.assertEqual(r.status, 200, r.describe())

    def test_upload_through_nginx_is_run_by_the_worker_and_seen_by_every_instance_at_once(self):
        auth = self.auth()
        direct = [direct_client(s) for s in self.fleet.instances]
        for c in direct * 2:  # both instances have the pre-import answer cached
            self.assertEqual(c.get_json("/api/contacts/count/", {"first_name": "zqfleet"}),
                             {"count": 0})
        body = multipart("file", "fleet.csv",
                         people_csv(self.UPLOAD_ROWS, bad_every=10000, prefix="zqfleet"))
        self.assertGreater(len(body), 1024 * 1024, "the upload must exceed nginx's 1m default")
        r = self.public.request("POST", "/api/contacts/import/", body=body, headers=dict(
            auth, **{"Content-Type": "multipart/form-data; boundary=" + BOUNDARY}))
        self.assertEqual(r.status, 201, r.describe())
        job_id = r.json()["job_id"]
        job = wait_job(self, self.public, auth, job_id, timeout=300)
        self.assertEqual((job["status"], job["total_rows"], job["success_count"],
                          job["error_count"]),
                         ("completed", self.UPLOAD_ROWS, self.UPLOAD_ROWS - 5, 5), job)
        self.assertEqual(job["errors_url"],
                         "https://%s/api/contacts/import/%d/errors/" % (self.host, job_id))
        self.assertTrue(job["upload_file_path"].startswith(os.path.join(self.fleet.data, "uploads")),
                        job["upload_file_path"])
        # No instance shows the pre-import count once the job says completed.
        want = {"count": self.UPLOAD_ROWS - 5}
        for s, c in zip(self.fleet.instances, direct):
            self.assertEqual(c.get_json("/api/contacts/count/", {"first_name": "zqfleet"}), want,
                             "instance %s" % s.name)
        for _ in range(4):
            self.assertEqual(self.public.get("/api/contacts/count/", {"first_name": "zqfleet"}).json(),
                             want)
        # The worker ran it; the errors file it wrote is served by every instance.
        self.assertRegex(self.fleet.worker_stderr(),
                         r'"msg":"starting import job","job_id":%d\b' % job_id)
        for c in direct + [self.public]:
            r = c.get("/api/contacts/import/%d/errors/" % job_id, headers=auth)
            self.assertEqual(r.status, 200, r.describe())
            self.assertTrue(r.header("Content-Type").startswith("text/csv"), r.header("Content-Type"))
            self.assertEqual(len(r.body.decode().strip().splitlines()), 6, r.body[:500])

    def test_reads_go_on_while_an_instance_is_down_and_after_nginx_reloads_its_replacement(self):
        total = self.contacts_in_database()
        victim = self.fleet.instances[-1]
        victim.stop()
        self.assertEqual(victim.returncode, 0, victim.stderr_tail(2000))
        for _ in range(12):
            r = self.public.get("/api/contacts/count/")
            self.assertEqual((r.status, r.json()), (200, {"count": total}), r.describe())
        self.fleet.instances.remove(victim)
        new = self.fleet.start_instance("replacement%d" % len(CTX.servers))
        self.fleet.nginx.reload(self.fleet.upstreams())
        marker = "trace" + uuid.uuid4().hex[:12]
        new_address = "%s:%d" % (LOOPBACK, new.port)
        deadline = time.time() + 20
        while new_address not in self.nginx.upstreams_of(marker) and time.time() < deadline:
            r = self.public.get("/api/contacts/count/", {"trace": marker})
            self.assertEqual((r.status, r.json()), (200, {"count": total}), r.describe())
            time.sleep(0.05)
        self.assertIn(new_address, self.nginx.upstreams_of(marker),
                      "the reloaded nginx never sent a request to the new instance")


# -- failures ----------------------------------------------------------------------------------

@needs_postgres
class OperationsOutages(unittest.TestCase):
    """Two instances, Redis and nginx on a private primary + replica, stopped by the tests."""

    SEED_ROWS = 300

    @classmethod
    def setUpClass(cls):
        if CTX.root is None:
            raise RuntimeError(CTX.error or "the test environment was not prepared")
        cls.dir = os.path.join(CTX.root, "pgc-ops")
        urls = dict(l.split("=", 1) for l in cluster("start", cls.dir).split() if "=" in l)
        cls.fleet = Fleet("outage", urls["CONTACTS_TEST_DATABASE_URL"] + "?connect_timeout=2",
                          urls["CONTACTS_TEST_REPLICA_URL"] + "?connect_timeout=2")
        try:
            start_fleet(cls.fleet, cls.SEED_ROWS, worker=False)
        except BaseException:
            cluster("stop", cls.dir)
            raise
        cls.nginx = cls.fleet.nginx

    @classmethod
    def tearDownClass(cls):
        try:
            cls.fleet.stop()
        finally:
            cluster("stop", cls.dir)

    def setUp(self):
        self.public = self.nginx.client()
        self.direct = [direct_client(s) for s in self.fleet.instances]

    def count_through_nginx(self, times=8, params=None):
        for _ in range(times):
            r = self.public.get("/api/contacts/count/", params)
            self.assertEqual((r.status, r.json()), (200, {"count": self.SEED_ROWS}), r.describe())

    def test_primary_down_503_with_retry_after_passes_through_nginx_and_reads_go_on(self):
        self.count_through_nginx(2)
        cluster("stop-server", self.dir, "primary")
        try:
            for c in self.direct + [self.public] * 6:
                r = c.get("/readyz")
                self.assertEqual((r.status, r.header("Retry-After"), r.header("Content-Type")),
                                 (503, "5", JSON_TYPE), r.describe())
                self.assertEqual(r.json().get("status"), "unavailable", r.describe())
            for _ in range(4):
                r = self.public.request("POST", "/api/auth/token/", body=json.dumps(
                    {"username": ADMIN[0], "password": ADMIN[1]}).encode(),
                    headers={"Content-Type": "application/json"})
                self.assertEqual((r.status, r.header("Retry-After"), r.header("Content-Type")),
                                 (503, "5", JSON_TYPE), r.describe())
                self.assertIn("database", r.json()["detail"])
                r = self.public.get("/healthz")
                self.assertEqual((r.status, r.json()), (200, {"status": "ok"}), r.describe())
            self.count_through_nginx()  # from the instances' read indexes
        finally:
            cluster("start-server", self.dir, "primary")
        wait_ready(self.fleet.instances, "redis")
        r = self.public.request("POST", "/api/auth/token/", body=json.dumps(
            {"username": ADMIN[0], "password": ADMIN[1]}).encode(),
            headers={"Content-Type": "application/json"})
        self.assertEqual(r.status, 200, r.describe())

    def replica_answers(self):
        r = self.public.get("/api/contacts/", {"page_size": "5", "use_replica": "true"})
        self.assertEqual(r.status, 200, r.describe())
        return r.json()["meta"]["using_replica"], r.json()["results"]

    def test_replica_down_reads_through_nginx_are_answered_by_the_instances(self):
        deadline = time.time() + 30
        while not self.replica_answers()[0]:
            if time.time() > deadline:
                self.fail("no instance used the replica within 30 s")
            time.sleep(0.2)
        primary_rows = self.public.get("/api/contacts/", {"page_size": "5",
                                                          "use_replica": "false"}).json()["results"]
        cluster("stop-server", self.dir, "replica")
        try:
            for _ in range(8):
                self.assertEqual(self.replica_answers(), (False, primary_rows))
            self.count_through_nginx(params={"use_replica": "true"})
            for c in self.direct:
                self.assertEqual(c.get("/readyz").status, 200)
        finally:
            cluster("start-server", self.dir, "replica")

    def test_redis_down_reads_go_on_and_instances_reconnect_when_it_is_back(self):
        wait_ready(self.fleet.instances, "redis")
        self.fleet.redis("stop-server")
        try:
            self.count_through_nginx()
            for c in self.direct:
                self.assertEqual(c.get_json("/api/contacts/count/"), {"count": self.SEED_ROWS})
            wait_ready(self.fleet.instances, "redis-unavailable", timeout=10)
        finally:
            self.fleet.redis("start-server")
        wait_ready(self.fleet.instances, "redis")
        self.count_through_nginx()
