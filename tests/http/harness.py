"""Shared state of one run: data sets, imports, servers, dumps; and the base test class."""
import glob
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback
import unittest

import client as http
import expect

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "fixtures")
GEN_ROWS = 3000
GEN_SEED = 424242
CORS_ORIGINS = ["https://app.example.com", "http://localhost:3000"]
LOOPBACK = "127.0.0.1"
SUMMARY_RE = re.compile(r"^total_rows=(\d+) success=(\d+) errors=(\d+)$")


def log(msg):
    sys.stderr.write("[http-tests] %s\n" % msg)
    sys.stderr.flush()


def free_port():
    s = socket.socket()
    s.bind((LOOPBACK, 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Server:
    """One `contacts-api serve` process on loopback."""

    def __init__(self, name, binary, data_dir, root, env=None):
        self.name = name
        self.binary = binary
        self.data_dir = data_dir
        self.root = root
        self.extra_env = dict(env or {})
        self.proc = None
        self.port = None
        self.stderr_path = os.path.join(root, "server-%s.stderr" % name)
        self.stdout_path = os.path.join(root, "server-%s.stdout" % name)
        self.returncode = None
        self.stop_seconds = None
        self.killed = False
        self.client = None
        self.proxy = None            # prism_proxy.Proxy in front of it when PRISM is set

    def env(self):
        env = dict(os.environ)
        for k in list(env):
            if k.startswith("CONTACTS_") or k in ("DATABASE_URL", "DB_CONTACTS_REPLICA_URL"):
                del env[k]
        env.update({
            "CONTACTS_DATA_DIR": self.data_dir,
            "CONTACTS_HOST": LOOPBACK,
            "CONTACTS_PORT": str(self.port),
            "CONTACTS_THREADS": "4",
            "CONTACTS_SECRET_KEY": "http-tests-secret-key-0123456789abcdef",
        })
        env.update(store_env(self.data_dir))
        env.update(self.extra_env)
        return env

    def start(self, timeout=120):
        last_error = None
        for _attempt in range(3):
            self.port = free_port()
            with open(self.stdout_path, "ab") as out, open(self.stderr_path, "ab") as err:
                self.proc = subprocess.Popen([self.binary, "serve"], env=self.env(), cwd=self.root,
                                             stdout=out, stderr=err, stdin=subprocess.DEVNULL)
            self.client = http.Client(LOOPBACK, self.port)
            deadline = time.time() + timeout
            while time.time() < deadline:
                if self.proc.poll() is not None:
                    last_error = "server %s exited with %s during start-up" % (
                        self.name, self.proc.returncode)
                    break
                try:
                    r = http.Client(LOOPBACK, self.port).get("/api/health/")
                    if r.status == 200:
                        if PRISM:
                            self.start_proxy()
                        return
                except OSError:
                    pass
                time.sleep(0.1)
            else:
                last_error = "server %s not ready after %ds" % (self.name, timeout)
                self.stop()
                raise RuntimeError(last_error + "\n" + self.stderr_tail())
        raise RuntimeError(last_error + "\n" + self.stderr_tail())

    def start_proxy(self):
        """Prism's validating proxy in front of the server; `client` then sends through it."""
        import prism_proxy  # noqa: PLC0415 - only runs with PRISM set (run_prism_tests.py)
        if self.proxy is not None:  # restarted after a kill, without stop()
            self.proxy.stop()
        self.proxy = prism_proxy.Proxy(self)
        try:
            self.proxy.start()
        except RuntimeError:
            self.stop()
            raise
        self.client = self.proxy.client()

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout=20):
        if self.client is not None:
            self.client.close()
        if self.proxy is not None:
            self.proxy.stop()
            self.proxy = None
        if self.proc is None or self.returncode is not None:
            return
        if self.proc.poll() is None:
            t0 = time.time()
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
                self.stop_seconds = time.time() - t0
            except subprocess.TimeoutExpired:
                self.killed = True
                self.proc.kill()
                self.proc.wait()
        self.returncode = self.proc.returncode

    def stderr_tail(self, limit=6000):
        try:
            with open(self.stderr_path, "rb") as f:
                data = f.read()
        except OSError:
            return ""
        return data[-limit:].decode("utf-8", "replace")


class Context:
    def __init__(self):
        self.binary = None
        self.root = None
        self.error = None            # set when the data/servers could not be prepared
        self.generated = {}          # name -> (path, rc, stderr)
        self.imports = {}            # label -> dict(rc, stdout, stderr, summary, path, errors_path)
        self.databases = {}          # PostgreSQL mode: database name -> URL
        self.model_phase1 = None
        self.model_final = None
        self.phase1_dump = None
        self.phase1_server = None
        self.main = None
        self.nocache = None
        self.cors = None
        self.cors_error = None
        self.cors_data = None
        self.ttl_data = None
        self.servers = []
        self.dump = None             # every contact (include_meta=true), cursor order
        self.dump_error = None
        self.headers_of = {}


CTX = Context()


# Set by run_http_tests.py --postgres: the URL of a PostgreSQL server on which every data
# directory of the run gets its own database (the store then lives there, not in the dir).
PG_URL = None
# Set by run_http_tests.py --redis: every server of the run caches in this Redis, each data
# directory under a key prefix of its own (CONTACTS_REDIS_KEY_PREFIX).
REDIS_URL = None
# Set by run_prism_tests.py: every server started gets Prism's validating proxy in front of it
# (prism_proxy.py) and its `client` sends through the proxy.
PRISM = False
PSQL = shutil.which("psql") or "/usr/lib/postgresql/15/bin/psql"


def psql(url, sql):
    """Runs `sql` with psql on `url`; returns rows as lists of strings (tab-separated)."""
    p = subprocess.run([PSQL, "-X", "-v", "ON_ERROR_STOP=1", "-At", "-F", "\t", "-d", url,
                        "-c", sql], capture_output=True, timeout=120)
    if p.returncode != 0:
        raise RuntimeError("psql failed: %s" % p.stderr.decode("utf-8", "replace"))
    return [line.split("\t") for line in p.stdout.decode().splitlines() if line]


def database_name(data_dir):
    rel = os.path.relpath(os.path.abspath(data_dir), CTX.root)
    return "h_" + re.sub(r"[^a-z0-9]+", "_", rel.lower()).strip("_")


def store_env(data_dir):
    """Settings that select the store of `data_dir`: {} for the embedded store, else the URL
    of a database of its own on PG_URL (created empty on first use); with REDIS_URL, the
    shared cache under a prefix of its own."""
    name = database_name(data_dir)
    env = {}
    if REDIS_URL:
        # A generous timeout: on a loaded test machine (sanitizers, parallel suites) Redis
        # replies can take more than the 10 ms default, and a server that skips Redis for half
        # a second now and then would turn cache assertions into coin flips. The timeout
        # itself is tested with private servers (test_fleet.RedisOutage, tests/redis).
        env = {"CONTACTS_REDIS_URL": REDIS_URL, "CONTACTS_REDIS_KEY_PREFIX": name,
               "CONTACTS_REDIS_TIMEOUT_MS": "2000"}
    if not PG_URL:
        return env
    url = PG_URL.rsplit("/", 1)[0] + "/" + name
    if name not in CTX.databases:
        psql(PG_URL, "DROP DATABASE IF EXISTS %s WITH (FORCE)" % name)
        psql(PG_URL, "CREATE DATABASE %s" % name)
        CTX.databases[name] = url
    env["CONTACTS_DATABASE_URL"] = url
    return env


def copy_store(src_dir, dst_dir):
    """A copy of `src_dir` (uploads, errors files, key) and of its store."""
    shutil.copytree(src_dir, dst_dir)
    if PG_URL:
        src = database_name(src_dir)
        store_env(src_dir)
        dst = database_name(dst_dir)
        psql(PG_URL, "DROP DATABASE IF EXISTS %s WITH (FORCE)" % dst)
        psql(PG_URL, "CREATE DATABASE %s TEMPLATE %s" % (dst, src))
        CTX.databases[dst] = PG_URL.rsplit("/", 1)[0] + "/" + dst


def store_rows(data_dir, sql):
    """Rows of `sql` run on the store of `data_dir` (SQLite file or PostgreSQL database)."""
    if PG_URL:
        return [tuple(r) for r in psql(store_env(data_dir)["CONTACTS_DATABASE_URL"], sql)]
    import sqlite3
    db = sqlite3.connect(os.path.join(data_dir, "contacts.db"))
    try:
        return db.execute(sql).fetchall()
    finally:
        db.close()


def run_cmd(args, env=None, timeout=900):
    t0 = time.time()
    p = subprocess.run(args, env=env, cwd=CTX.root, capture_output=True, timeout=timeout)
    log("%s -> rc=%s in %.1fs" % (" ".join(os.path.basename(a) for a in args[:3]), p.returncode,
                                  time.time() - t0))
    return p


def import_env(data_dir):
    env = dict(os.environ)
    for k in list(env):
        if k.startswith("CONTACTS_"):
            del env[k]
    env["CONTACTS_DATA_DIR"] = data_dir
    env.update(store_env(data_dir))
    return env


def run_import(label, path, data_dir, errors_path=None):
    args = [CTX.binary, "import", path]
    if errors_path:
        args += ["--errors", errors_path]
    p = run_cmd(args, env=import_env(data_dir))
    stdout = p.stdout.decode("utf-8", "replace")
    lines = [l for l in stdout.splitlines() if l.strip() != ""]
    info = {"rc": p.returncode, "stdout": stdout, "stderr": p.stderr.decode("utf-8", "replace"),
            "path": path, "errors_path": errors_path, "summary": None, "errors_line": None,
            "lines": lines}
    if lines:
        m = SUMMARY_RE.match(lines[-1])
        if m:
            info["summary"] = tuple(int(x) for x in m.groups())
    if len(lines) >= 2 and lines[-2].startswith("errors_file="):
        info["errors_line"] = lines[-2][len("errors_file="):]
    CTX.imports[label] = info
    return info


def create_user(data_dir, command, name, password, via_stdin):
    env = import_env(data_dir)
    args = [CTX.binary, command, "--username", name]
    if via_stdin:
        p = subprocess.run(args, env=env, input=(password + "\n").encode(),
                           capture_output=True, timeout=120)
    else:
        env["CONTACTS_PASSWORD"] = password
        p = subprocess.run(args, env=env, capture_output=True, timeout=120)
    if p.returncode != 0:
        raise AssertionError("%s failed: %s" % (command, p.stderr.decode()))
    return p


def walk_pages(c, path, params, max_pages=5000, headers=None):
    """GET path?params and follow `next` links; returns the list of page bodies."""
    r = c.get(path, params, headers=headers)
    if r.status != 200:
        raise AssertionError("walk start: %s" % r.describe())
    pages = [r.json()]
    seen = set()
    while pages[-1].get("next"):
        url = pages[-1]["next"]
        if url in seen or len(pages) >= max_pages:
            raise AssertionError("pagination loops or never ends at %s" % url)
        seen.add(url)
        r = c.follow(url, headers=headers)
        if r.status != 200:
            raise AssertionError("walk next: %s" % r.describe())
        pages.append(r.json())
    return pages


def walk_results(c, path, params, **kw):
    out = []
    for p in walk_pages(c, path, params, **kw):
        out.extend(p["results"])
    return out


def prepare(binary, workdir):
    """Build the data, import it, start the servers, dump the store. Never raises."""
    try:
        _prepare(binary, workdir)
    except Exception:  # noqa: BLE001
        CTX.error = "test environment could not be prepared:\n" + traceback.format_exc()
        log(CTX.error)


def _prepare(binary, workdir):
    CTX.binary = os.path.abspath(binary)
    os.makedirs(workdir, exist_ok=True)
    for old in glob.glob(os.path.join(workdir, "run-*")):
        shutil.rmtree(old, ignore_errors=True)
    CTX.root = tempfile.mkdtemp(prefix="run-", dir=os.path.abspath(workdir))
    log("work dir %s" % CTX.root)
    if not os.access(CTX.binary, os.X_OK):
        raise RuntimeError("binary %s does not exist or is not executable" % CTX.binary)

    # 1. data sets
    for name, seed in (("gen", GEN_SEED), ("gen_again", GEN_SEED), ("gen_other", GEN_SEED + 1)):
        out = os.path.join(CTX.root, name + ".csv")
        p = run_cmd([CTX.binary, "generate", "--rows", str(GEN_ROWS), "--seed", str(seed),
                     "--out", out])
        CTX.generated[name] = (out, p.returncode, p.stderr.decode("utf-8", "replace"))
    gen_path, gen_rc, gen_err = CTX.generated["gen"]
    if gen_rc != 0 or not os.path.exists(gen_path):
        raise RuntimeError("generate failed (rc=%s): %s" % (gen_rc, gen_err[-2000:]))

    tricky = os.path.join(FIXTURES, "tricky.csv")
    update = os.path.join(FIXTURES, "update.csv")
    with open(tricky, "rb") as f:
        tricky_bytes = f.read()
    with open(gen_path, "rb") as f:
        gen_bytes = f.read()
    with open(update, "rb") as f:
        update_bytes = f.read()
    CTX.model_phase1 = expect.StoreModel()
    CTX.headers_of["tricky"], _ = CTX.model_phase1.import_bytes(tricky_bytes, "tricky")
    CTX.model_final = expect.StoreModel()
    CTX.model_final.import_bytes(tricky_bytes, "tricky")
    CTX.headers_of["gen"], _ = CTX.model_final.import_bytes(gen_bytes, "gen")
    CTX.headers_of["update"], _ = CTX.model_final.import_bytes(update_bytes, "update1")
    CTX.model_final.import_bytes(update_bytes, "update2")

    # 2. phase 1: tricky.csv only (default errors file location), dumped by a first server
    data = os.path.join(CTX.root, "data")
    os.makedirs(data)
    run_import("tricky", tricky, data)
    CTX.phase1_server = Server("phase1", CTX.binary, data, CTX.root,
                               {"CONTACTS_CACHE_ENABLED": "false"})
    CTX.servers.append(CTX.phase1_server)
    CTX.phase1_server.start()
    try:
        CTX.phase1_dump = walk_results(CTX.phase1_server.client, "/api/contacts/",
                                       {"page_size": "100", "include_meta": "true"})
    except AssertionError as e:
        CTX.dump_error = "phase-1 dump failed: %s" % e
        log(CTX.dump_error)
    CTX.phase1_server.stop()

    # 3. the generated rows, then update.csv twice (upserts, idempotence)
    run_import("gen", gen_path, data, os.path.join(CTX.root, "gen_errors.csv"))
    run_import("update1", update, data, os.path.join(CTX.root, "update1_errors.csv"))
    run_import("update2", update, data, os.path.join(CTX.root, "update2_errors.csv"))

    # 4. servers: main (cache on, CORS, trusted proxy) and nocache (copy of the data)
    data2 = os.path.join(CTX.root, "data-nocache")
    copy_store(data, data2)
    CTX.cors_data = os.path.join(CTX.root, "data-cors")
    copy_store(data, CTX.cors_data)
    CTX.ttl_data = os.path.join(CTX.root, "data-ttl")
    copy_store(data, CTX.ttl_data)
    CTX.main = Server("main", CTX.binary, data, CTX.root, {
        "CONTACTS_CACHE_ENABLED": "true",
        "CONTACTS_TRUST_PROXY": "true",
    })
    CTX.nocache = Server("nocache", CTX.binary, data2, CTX.root, {
        "CONTACTS_CACHE_ENABLED": "false",
    })
    CTX.servers += [CTX.main, CTX.nocache]
    CTX.main.start()
    CTX.nocache.start()

    # 5. the dump every comparison starts from
    t0 = time.time()
    try:
        CTX.dump = walk_results(CTX.main.client, "/api/contacts/",
                                {"page_size": "100", "include_meta": "true"})
        log("dump: %d contacts in %.1fs" % (len(CTX.dump), time.time() - t0))
    except AssertionError as e:
        CTX.dump_error = "final dump failed: %s" % e
        log(CTX.dump_error)


def cors_server():
    """A third server, with CORS origins configured and the cache on; started on first use
    so that a failure there does not take the other tests down."""
    if CTX.cors is None and CTX.cors_error is None:
        server = Server("cors", CTX.binary, CTX.cors_data, CTX.root, {
            "CONTACTS_CACHE_ENABLED": "true",
            "CONTACTS_CORS_ALLOWED_ORIGINS": ",".join(CORS_ORIGINS)})
        CTX.servers.append(server)
        try:
            server.start(timeout=60)
            CTX.cors = server
        except RuntimeError as e:
            CTX.cors_error = "CORS server (CONTACTS_CORS_ALLOWED_ORIGINS=%s) did not start: %s" % (
                ",".join(CORS_ORIGINS), e)
    if CTX.cors is None:
        raise AssertionError(CTX.cors_error)
    if not CTX.cors.alive():
        raise AssertionError("CORS server died: " + CTX.cors.stderr_tail(2000))
    return CTX.cors


def stop_all():
    for s in CTX.servers:
        s.stop()


class ApiTest(unittest.TestCase):
    """Base class: fails every test when the environment is not ready."""

    maxDiff = 4000
    needs_dump = True

    def setUp(self):
        if CTX.error:
            self.fail(CTX.error.splitlines()[-1] if CTX.error else "no environment")
        if self.needs_dump and CTX.dump is None:
            self.fail(CTX.dump_error or "no dump of the store")
        if CTX.main is None or not CTX.main.alive():
            self.fail("main server is not running (crashed?)")

    # -- helpers --
    @property
    def c(self):
        return CTX.main.client

    @property
    def dump(self):
        return CTX.dump

    def get(self, path, params=None, headers=None, client=None):
        return (client or self.c).get(path, params, headers=headers)

    def get_json(self, path, params=None, headers=None, client=None):
        r = self.get(path, params, headers, client)
        self.assertEqual(r.status, 200, r.describe())
        self.assert_json_type(r)
        return r.json()

    def assert_json_type(self, r):
        ct = (r.header("Content-Type") or "").replace(" ", "").lower()
        self.assertEqual(ct, "application/json;charset=utf-8",
                         "Content-Type of %s %s" % (r.method, r.target))

    def assert_error(self, r, status, detail):
        self.assertEqual(r.status, status, r.describe())
        self.assert_json_type(r)
        self.assertEqual(r.json(), {"detail": detail}, r.describe())

    def walk(self, path, params, client=None, headers=None):
        return walk_results(client or self.c, path, params, headers=headers)

    def walk_pages(self, path, params, client=None, headers=None):
        return walk_pages(client or self.c, path, params, headers=headers)

    def expected_ids(self, params, ordering=None):
        rows = [c for c in self.dump if expect.matches(c, params)]
        if ordering is None:
            rows = expect.cursor_order(rows)
        elif ordering in ("created_at", "-created_at"):
            rows = expect.cursor_order(rows, ascending=ordering == "created_at")
        else:
            rows = expect.order(rows, ordering)
        return [c["id"] for c in rows]

    def assert_ids(self, got_rows, expected_ids, what):
        got = [r["id"] for r in got_rows]
        if got != expected_ids:
            missing = [i for i in expected_ids if i not in set(got)][:10]
            extra = [i for i in got if i not in set(expected_ids)][:10]
            first_diff = next((k for k, (a, b) in enumerate(zip(got, expected_ids)) if a != b),
                              min(len(got), len(expected_ids)))
            self.fail("%s: got %d ids, expected %d; missing %s; unexpected %s; first "
                      "difference at position %d (got %s, expected %s)" % (
                          what, len(got), len(expected_ids), missing, extra, first_diff,
                          got[first_diff:first_diff + 5], expected_ids[first_diff:first_diff + 5]))

    def check_list(self, params, what=None):
        """Walk the cursor list with filter params; compare ids/order, meta and the count."""
        params = dict(params)
        query = dict(params, page_size="100")
        pages = self.walk_pages("/api/contacts/", query)
        got = [r for p in pages for r in p["results"]]
        expected = self.expected_ids(params)
        self.assert_ids(got, expected, what or "list %s" % params)
        filtered = expect.is_filtered(params)
        meta = pages[0].get("meta")
        self.assertIsInstance(meta, dict, "no meta block")
        want_meta = {
            "strategy": "cursor", "count_mode": "none" if filtered else "estimated",
            "count": None if filtered else len(self.dump), "filters_applied": filtered,
            "ordering": "-created_at", "returned_records": len(pages[0]["results"]),
            "page_size": 100, "page_size_cap": 100, "using_replica": False}
        self.assert_meta(meta, want_meta, "meta of %s" % params)
        count = self.get_json("/api/contacts/count/", params)
        if filtered:
            self.assertEqual(count, {"count": len(expected)}, "count of %s" % params)
        return expected

    def assert_meta(self, meta, want, what):
        self.assertIsInstance(meta, dict, "no meta block: " + what)
        got = {k: meta.get(k, "<missing>") for k in want}
        self.assertEqual(got, want, what)

    def by_id(self):
        return {c["id"]: c for c in self.dump}
