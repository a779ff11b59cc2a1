#!/usr/bin/env python3
"""Benchmark of contacts-api: generation, import, start-up, the query mix, memory, HTTP import.

One run measures the same CSV and query mix on each store, side by side:
  sqlite          the embedded store (CONTACTS_DATA_DIR), reads from the in-memory index
  postgresql      a throw-away PostgreSQL 15 primary (scripts/pg_test_cluster), reads from
                  the in-memory index loaded from it
  postgresql-sql  the same database, every query with use_replica=true on a server given the
                  streaming replica, so that SQL on the replica answers
  postgresql-redis  the same database, a server with the shared Redis response cache
                  (CONTACTS_REDIS_URL, a throw-away redis-server from scripts/redis_test_server)
                  and CONTACTS_CACHE_ENABLED=true: every path of the mix is requested once to
                  warm the cache, then the mix is measured (target p99 < 5 ms for every query,
                  the share of responses with `X-Cache-Hit: true` reported); then a second
                  serve instance on the same database and Redis (same CONTACTS_SECRET_KEY)
                  starts, and Q3 from --scale-out-clients clients for --scale-out-seconds runs
                  on one instance and spread over both, with the cache warm and with
                  `Cache-Control: no-cache` (the "scale-out" section of the report)

Usage (what `make bench` runs):
  python3 bench/run_bench.py --binary ./build/contacts-api --bench ./build/contacts-bench
Quick check of the script itself:
  python3 bench/run_bench.py --binary ... --bench ... --rows 20000
Only some stores:
  python3 bench/run_bench.py --binary ... --bench ... --stores sqlite,postgresql
Only the Redis cache phase, small (checks the script in about a minute):
  python3 bench/run_bench.py --binary ... --bench ... --rows 20000 --stores postgresql-redis \
      --skip-http-import
Only the HTTP import phase (upload, job, queries during the job, upload memory):
  python3 bench/run_bench.py --binary ... --bench ... --only-http-import

Writes bench/out/results.md and bench/out/results.json; see docs/benchmarks.md.
Python 3 standard library only.
"""
import argparse
import datetime
import json
import os
import platform
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

sys.dont_write_bytecode = True  # keep bench/ free of __pycache__
from bench_report import NO_CACHE, REDIS_STORE, fmt_ms, fmt_share, markdown, missed_targets
import http_export
import http_import

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)

# (id, description, path, p99 target in ms, extra loadgen headers). Q2 and Q10 get their
# paths at run time (cursor walk, existing ids).
QUERY_MIX = [
    ("Q1", "first page, newest first (cursor)", "/api/contacts/", 5, []),
    ("Q2", "50th page of a cursor walk", None, 5, []),
    ("Q3", "title contains + exact email_status",
     "/api/contacts/?title=manager&email_status=Verified", 300, []),
    ("Q4", "search, two terms", "/api/contacts/?search=john%20engineer", 300, []),
    ("Q5", "ordering by two fields, limit 50",
     "/api/contacts/?ordering=-employees,country&limit=50", 300, []),
    ("Q6", "filtered count", "/api/contacts/count/?country=Germany&employees_min=100", 300, []),
    ("Q7", "distinct titles containing a term",
     "/api/contacts/title/?distinct=true&search=director", 300, []),
    ("Q8", "distinct separated keywords containing a term",
     "/api/contacts/keywords/?separated=true&distinct=true&search=cloud", 300, []),
    ("Q9", "analytics, uncached (Cache-Control: no-cache)", "/api/contacts/analytics/", 300,
     ["Cache-Control: no-cache"]),
    ("Q10", "retrieve by id (rotating over existing ids)", None, 5, []),
    ("Q11", "substring matching almost nothing", "/api/contacts/?company=zqxj", 300, []),
    ("Q12", "one-letter substring (matches almost all)", "/api/contacts/?title=e", 300, []),
    ("Q13", "unfiltered count", "/api/contacts/count/", 300, []),
    # Issue 13: collation orderings as the original's web front end sends them (p99 <= 20 ms
    # at 1M rows, cache off).
    ("Q14", "ordering by first name (Unicode collation), first page",
     "/api/contacts/?ordering=first_name", 20, []),
    ("Q15", "ordering by two text fields, offset 5000",
     "/api/contacts/?ordering=-company,last_name&offset=5000", 20, []),
    ("Q16", "ordering by e-mail status then stage, offset 100",
     "/api/contacts/?ordering=email_status,-stage&offset=100", 20, []),
]
CONCURRENT_QUERY = "Q3"

STORES = ("sqlite", "postgresql", "postgresql-sql", "postgresql-redis")
PG_STORES = ("postgresql", "postgresql-sql", "postgresql-redis")
WARM_TARGET_MS = 5  # p99 of every query of the mix with the response cache warm
# What a server logs each time its Redis client gives up on Redis (a reply later than
# CONTACTS_REDIS_TIMEOUT_MS, or none) and answers without the shared cache until it is back.
REDIS_UNAVAILABLE = "redis unavailable"
HTTP_IMPORT_STORES = ("sqlite", "postgresql")  # postgresql-sql reads differently, imports alike
# Stores whose server gets the export phase (both export from the read index; see
# docs/benchmarks.md).
EXPORT_STORES = ("sqlite", "postgresql")
REPLICA_PARAM = "use_replica=true"
PG_CLUSTER = os.path.join(REPO, "scripts", "pg_test_cluster")
REDIS_SERVER = os.path.join(REPO, "scripts", "redis_test_server")
PSQL = "/usr/lib/postgresql/15/bin/psql"
# What a failed step raises; the run records it and goes on with the next store or phase.
ERRORS = (RuntimeError, OSError, subprocess.SubprocessError, ValueError)


def log(*parts):
    print(*parts, flush=True)


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--binary", required=True, help="path of contacts-api")
    p.add_argument("--bench", required=True, help="path of contacts-bench")
    p.add_argument("--rows", type=int, default=1_000_000, help="rows to generate and import")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--out-dir", default=os.path.join(HERE, "out"))
    p.add_argument("--stores", default=",".join(STORES),
                   help="comma-separated stores to measure, in this order (default: %(default)s)")
    p.add_argument("--keep-data", action="store_true",
                   help="reuse the imported SQLite data dir when it holds the same rows and seed "
                   "(PostgreSQL is always a fresh cluster)")
    p.add_argument("--replica-timeout", type=float, default=30.0,
                   help="how long postgresql-sql waits for meta.using_replica to become true")
    add_query_mix_args(p)
    p.add_argument("--concurrency", type=int, default=16)
    p.add_argument("--concurrent-seconds", type=float, default=10.0)
    p.add_argument("--ready-timeout", type=float, default=600.0)
    p.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    g = p.add_argument_group("Redis cache phase (store postgresql-redis)")
    g.add_argument("--scale-out-clients", type=int, default=64,
                   help="concurrent Q3 clients on one serve instance, then over two")
    g.add_argument("--scale-out-seconds", type=float, default=10.0,
                   help="length of each of the four scale-out runs")
    g = p.add_argument_group("export phase (stores sqlite and postgresql)")
    g.add_argument("--skip-export", action="store_true",
                   help="skip the CSV export of every contact (GET /api/contacts/export/)")
    g = p.add_argument_group("HTTP import phase")
    g.add_argument("--skip-http-import", action="store_true",
                   help="skip the HTTP import phase (upload, job, upload memory check)")
    g.add_argument("--only-http-import", action="store_true",
                   help="run only the HTTP import phase (no CLI import, no query mix)")
    g.add_argument("--during-import-seconds", type=float, default=5.0,
                   help="length of each Q1/Q3 run while the import job runs; 0 runs none "
                   "(the import rate without readers)")
    g.add_argument("--http-import-timeout", type=float, default=1800.0,
                   help="limit for an upload and for the job to finish (s)")
    g.add_argument("--upload-mib", type=int, default=1024,
                   help="size of the file of the upload memory check; 0 skips the check")
    args = p.parse_args()
    if args.skip_http_import and args.only_http_import:
        p.error("--skip-http-import and --only-http-import exclude each other")
    args.stores = list(dict.fromkeys(s.strip() for s in args.stores.split(",") if s.strip()))
    unknown = [s for s in args.stores if s not in STORES]
    if unknown or not args.stores:
        p.error(f"--stores: unknown {', '.join(unknown) or '(none given)'}; "
                f"choose from {', '.join(STORES)}")
    return args


# ---------------------------------------------------------------- machine and files

def machine_info():
    model = ""
    try:
        with open("/proc/cpuinfo") as f:
            model = next((l.split(":", 1)[1].strip() for l in f if l.startswith("model name")), "")
    except OSError:
        pass
    mem_total = ""
    try:
        with open("/proc/meminfo") as f:
            kb = next(int(l.split()[1]) for l in f if l.startswith("MemTotal"))
            mem_total = f"{kb / 1024 / 1024:.1f} GiB"
    except (OSError, StopIteration):
        pass
    commit = subprocess.run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"],
                            capture_output=True, text=True).stdout.strip()
    return {"nproc": len(os.sched_getaffinity(0)), "cpu_model": model, "memory": mem_total,
            "kernel": platform.release(), "commit": commit,
            "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}


def read_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def write_json(path, value):
    with open(path, "w") as f:
        json.dump(value, f, indent=2)
        f.write("\n")


def run_logged(cmd, env, log_path, timeout):
    """Runs cmd with output to log_path; returns (seconds, output). Raises on failure."""
    start = time.monotonic()
    with open(log_path, "w") as out:
        proc = subprocess.run(cmd, env=env, stdout=out, stderr=subprocess.STDOUT,
                              timeout=timeout)
    seconds = time.monotonic() - start
    with open(log_path, errors="replace") as f:
        output = f.read()
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {proc.returncode}; see {log_path}:\n"
                           + output[-2000:])
    return seconds, output


def clean_env(**settings):
    """The caller's environment without CONTACTS_* / database settings, plus `settings`."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("CONTACTS_") and k not in ("DATABASE_URL", "DB_CONTACTS_REPLICA_URL")}
    env.update({k: str(v) for k, v in settings.items()})
    return env


def ensure_csv(args):
    """The CSV of --rows rows and --seed in --out-dir (bench/out/contacts_1m.csv at 1M rows),
    generated once and reused while its marker matches."""
    name = "contacts_1m.csv" if args.rows == 1_000_000 else f"contacts_{args.rows}.csv"
    return generate_csv(args.binary, args.out_dir, args.rows, args.seed, name)


def generate_csv(binary, out_dir, rows, seed, name, log_name="generate.log", timeout=1800):
    """`contacts-api generate` of `rows` rows with `seed` into out_dir/name, reused when the
    marker beside it (name.json: rows, seed, bytes) matches. Returns (path, marker)."""
    path = os.path.join(out_dir, name)
    marker_path = path + ".json"
    marker = read_json(marker_path)
    if (marker and marker.get("rows") == rows and marker.get("seed") == seed
            and os.path.exists(path) and os.path.getsize(path) == marker.get("bytes")):
        log(f"generate: reusing {path} ({marker['bytes']:,} bytes)")
        return path, dict(marker, reused=True)
    tmp = path + ".tmp"
    log(f"generate: {rows:,} rows (seed {seed}) -> {path}")
    seconds, _ = run_logged([binary, "generate", "--rows", str(rows), "--seed",
                             str(seed), "--out", tmp], clean_env(),
                            os.path.join(out_dir, log_name), timeout)
    os.replace(tmp, path)
    marker = {"rows": rows, "seed": seed, "bytes": os.path.getsize(path),
              "seconds": round(seconds, 2)}
    write_json(marker_path, marker)
    log(f"generate: {seconds:.1f} s, {marker['bytes']:,} bytes")
    return path, dict(marker, reused=False)


def imported_rows(output, rows):
    """Contacts the import created, as `contacts-api import` reports them, else `rows`."""
    for pattern in (r"(\d+) new\b", r'"?success(?:_count)?"?\s*[:=]\s*(\d+)', r"imported (\d+)"):
        found = re.findall(pattern, output)
        if found:
            return int(found[-1])
    return rows


def timed_import(args, csv_path, env, log_name, rows=None, seed=None, timeout=1800):
    """`contacts-api import csv_path` with `env`; returns its figures. `rows` and `seed` are
    those of the file (default --rows and --seed)."""
    rows = args.rows if rows is None else rows
    seed = args.seed if seed is None else seed
    seconds, output = run_logged([args.binary, "import", csv_path], env,
                                 os.path.join(args.out_dir, log_name), timeout)
    figures = {"rows": rows, "seed": seed, "imported": imported_rows(output, rows),
               "seconds": round(seconds, 2),
               "rows_per_s": round(rows / seconds) if seconds > 0 else None}
    log(f"import: {seconds:.1f} s, {figures['rows_per_s']:,} rows/s, "
        f"{figures['imported']:,} contacts")
    if env.get("CONTACTS_DATABASE_URL"):
        # The CLI import leaves PostgreSQL's search index (SQL reads) to the services; built
        # here, timed apart, so that what is measured next runs on a complete database.
        index_s, _ = run_logged([args.binary, "migrate"], env,
                                os.path.join(args.out_dir, "migrate-" + log_name), timeout)
        figures["search_index_s"] = round(index_s, 2)
        log(f"import: search index of SQL reads built after it in {index_s:.1f} s")
    return figures


def ensure_import(args, csv_path, csv_info):
    """The SQLite import into bench/out/data (reused with --keep-data)."""
    data_dir = os.path.join(args.out_dir, "data")
    marker_path = data_dir + ".json"
    marker = read_json(marker_path)
    wanted = {"rows": args.rows, "seed": args.seed, "csv_bytes": csv_info["bytes"]}
    if (args.keep_data and marker and os.path.isdir(data_dir)
            and all(marker.get(k) == v for k, v in wanted.items())):
        log(f"import: reusing {data_dir} ({marker['imported']:,} contacts)")
        return data_dir, dict(marker, reused=True)
    shutil.rmtree(data_dir, ignore_errors=True)
    if os.path.exists(marker_path):
        os.remove(marker_path)
    os.makedirs(data_dir)
    log(f"import: {csv_path} -> {data_dir}")
    marker = dict(timed_import(args, csv_path, clean_env(CONTACTS_DATA_DIR=data_dir),
                               "import.log"), **wanted)
    write_json(marker_path, marker)
    return data_dir, dict(marker, reused=False)


# ---------------------------------------------------------------- PostgreSQL and Redis

class TestService:
    """A throw-away server run by a scripts/ `start DIR` / `stop DIR` script in bench/out/NAME,
    started on first use and stopped (by the script, by PID) by `stop`; the script's output
    goes to bench/out/LOG_PREFIX-start.log and -stop.log."""

    def __init__(self, args, script, name, log_prefix, what):
        self.args, self.script, self.log_prefix, self.what = args, script, log_prefix, what
        self.dir = os.path.join(args.out_dir, name)
        self.urls = None
        self.start_error = None

    def _script(self, command):
        run_logged([self.script, command, self.dir], clean_env(),
                   os.path.join(self.args.out_dir, f"{self.log_prefix}-{command}.log"), 120)

    def urls_from_env(self, env):
        """The URLs of the started service, from the variables of DIR/env."""
        raise NotImplementedError

    def ensure_started(self):
        """Starts the service once (a left-over one of an aborted run is removed first);
        returns its URLs. Raises, also on later calls, if it failed."""
        if self.start_error:
            raise RuntimeError(self.start_error)
        if self.urls is None:
            try:
                self._script("stop")  # nothing running: succeeds and leaves no directory
                started = time.monotonic()
                self._script("start")
                with open(os.path.join(self.dir, "env")) as f:
                    env = dict(line.strip().split("=", 1) for line in f if "=" in line)
                self.urls = self.urls_from_env(env)
                log(f"{self.what}: up in {time.monotonic() - started:.1f} s "
                    f"({', '.join(f'{k} {v}' for k, v in self.urls.items())})")
            except (*ERRORS, KeyError) as e:
                self.start_error = f"{self.what} did not start: {e}"
                raise RuntimeError(self.start_error) from e
        return self.urls

    def stop(self):
        if self.urls is None and self.start_error is None:
            return
        try:
            self._script("stop")
            log(f"{self.what}: stopped")
        except ERRORS as e:
            log(f"run_bench: stopping the {self.what}: {e} "
                f"(stop it with: {os.path.relpath(self.script, REPO)} stop {self.dir})")


class PgCluster(TestService):
    """A throw-away PostgreSQL 15 primary + streaming replica (scripts/pg_test_cluster) in
    bench/out/pg, imported into once; its URLs are {"primary": url, "replica": url}."""

    def __init__(self, args):
        super().__init__(args, PG_CLUSTER, "pg", "pg-cluster", "PostgreSQL test cluster")
        self.imported = None  # figures of the CLI import, once done

    def urls_from_env(self, env):
        return {"primary": env["CONTACTS_TEST_DATABASE_URL"],
                "replica": env["CONTACTS_TEST_REPLICA_URL"]}

    def import_once(self, csv_path):
        """The CLI import into the primary's database `contacts` (done once per run)."""
        if self.imported is None:
            url = self.ensure_started()["primary"]
            log(f"import: {csv_path} -> PostgreSQL {url}")
            self.imported = timed_import(self.args, csv_path, clean_env(
                CONTACTS_DATA_DIR=self.data_dir(), CONTACTS_DATABASE_URL=url),
                "import-postgresql.log")
        return self.imported

    def data_dir(self):
        """CONTACTS_DATA_DIR of the PostgreSQL servers (secret key, uploads)."""
        path = os.path.join(self.args.out_dir, "data-pg")
        os.makedirs(path, exist_ok=True)
        return path

    def create_database(self, name):
        """A fresh, empty database on the primary; returns its URL."""
        url = self.ensure_started()["primary"]
        run_logged([PSQL, url, "-v", "ON_ERROR_STOP=1", "-c", f"DROP DATABASE IF EXISTS {name}",
                    "-c", f"CREATE DATABASE {name}"], clean_env(),
                   os.path.join(self.args.out_dir, "pg-createdb.log"), 60)
        parts = urllib.parse.urlsplit(url)
        return urllib.parse.urlunsplit(parts._replace(path="/" + name))


class RedisServer(TestService):
    """A throw-away redis-server (scripts/redis_test_server) in bench/out/redis; its URLs are
    {"url": redis://127.0.0.1:PORT/0}."""

    def __init__(self, args):
        super().__init__(args, REDIS_SERVER, "redis", "redis-server", "Redis test server")

    def urls_from_env(self, env):
        return {"url": env["CONTACTS_TEST_REDIS_URL"]}

    def command(self, *words):
        """One Redis command; returns its reply (a bulk string, simple string or integer)."""
        parts = urllib.parse.urlsplit(self.ensure_started()["url"])
        request = f"*{len(words)}\r\n" + "".join(f"${len(w)}\r\n{w}\r\n" for w in words)
        with socket.create_connection((parts.hostname, parts.port), timeout=10) as conn:
            conn.sendall(request.encode())
            reply = conn.makefile("rb")
            head = reply.readline().decode().rstrip("\r\n")
            if head.startswith("$"):
                return reply.read(int(head[1:])).decode(errors="replace")
            if head.startswith(("+", ":")):
                return int(head[1:]) if head[0] == ":" else head[1:]
            raise RuntimeError(f"Redis answered {' '.join(words)} with {head}")

    def stats(self):
        """Keys in the database and the server's keyspace hits and misses so far."""
        info = dict(line.split(":", 1) for line in self.command("INFO", "stats").splitlines()
                    if ":" in line)
        return {"keys": self.command("DBSIZE"),
                "keyspace_hits": int(info.get("keyspace_hits", 0)),
                "keyspace_misses": int(info.get("keyspace_misses", 0))}


# ---------------------------------------------------------------- server

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def header_dict(headers):
    """{"Name": "value"} of loadgen-style "Name: value" headers."""
    return dict(h.split(": ", 1) for h in headers)


def http_get(port, path, headers=None, timeout=120):
    """GET path; returns (status, parsed JSON body or None, seconds)."""
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers=headers or {})
    start = time.monotonic()
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            status, body = resp.status, resp.read()
    except urllib.error.HTTPError as e:
        status, body = e.code, e.read()
    seconds = time.monotonic() - start
    try:
        return status, json.loads(body), seconds
    except ValueError:
        return status, None, seconds


class Server:
    """contacts-api serve on a free port, stopped by PID. The response cache is off unless
    `settings` say CONTACTS_CACHE_ENABLED=true."""

    def __init__(self, binary, data_dir, log_path, **settings):
        self.port = free_port()
        self.log = open(log_path, "w")
        env = clean_env(**{"CONTACTS_DATA_DIR": data_dir, "CONTACTS_HOST": "127.0.0.1",
                           "CONTACTS_PORT": self.port, "CONTACTS_CACHE_ENABLED": "false",
                           **settings})
        self.ready_path = "/readyz"  # /api/health/ in builds without /readyz
        self.started = time.monotonic()
        self.proc = subprocess.Popen([binary, "serve"], env=env, stdout=self.log,
                                     stderr=subprocess.STDOUT)
        self.log_path = log_path

    def wait_ready(self, expected, timeout):
        """Waits for /readyz (or, where it answers 404, /api/health/) 200 and count ==
        expected. Returns timings in seconds."""
        listening = None
        last_count, stable_since = None, None
        deadline = self.started + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}; "
                                   f"{self.log_path} ends with:\n{self.log_tail()}")
            try:
                status, body, _ = http_get(self.port, self.ready_path, timeout=5)
                if status == 404 and self.ready_path == "/readyz":
                    self.ready_path = "/api/health/"
                    continue
                if status == 200 and listening is None:
                    listening = time.monotonic() - self.started
                if status == 200 and health_says_ready(body):
                    _, body, _ = http_get(self.port, "/api/contacts/count/",
                                          header_dict([NO_CACHE]), timeout=60)
                    count = (body or {}).get("count")
                    now = time.monotonic()
                    if count == expected:
                        return {"listening_s": listening, "ready_s": now - self.started,
                                "count": count}
                    if count != last_count:
                        last_count, stable_since = count, now
                    elif (isinstance(count, int) and abs(count - expected) <= 0.01 * expected
                          and now - stable_since >= 3):
                        log(f"server: count {count:,} stays within 1% of the {expected:,} "
                            "contacts the import reported; taking it as ready")
                        return {"listening_s": listening, "ready_s": stable_since - self.started,
                                "count": count, "import_reported": expected}
            except (OSError, urllib.error.URLError):
                pass
            time.sleep(0.1)
        raise RuntimeError(f"server not ready after {timeout:.0f} s (last count {last_count}); "
                           f"see {self.log_path}")

    def log_count(self, text):
        """The number of lines of the server's log so far that contain `text`."""
        self.log.flush()
        with open(self.log_path, errors="replace") as f:
            return sum(text in line for line in f)

    def log_tail(self, lines=15):
        self.log.flush()
        with open(self.log_path, errors="replace") as f:
            return "".join(f.readlines()[-lines:])

    def memory(self):
        return http_import.proc_status(self.proc.pid)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                log("server: no exit 20 s after SIGTERM; sending SIGKILL")
                self.proc.kill()
                self.proc.wait(timeout=20)
        self.log.close()


def health_says_ready(body):
    """False only when the health body says the server is still building its index."""
    if not isinstance(body, dict):
        return True
    if body.get("ready") is False:
        return False
    return str(body.get("index", "")).lower() not in ("building", "loading", "starting")


# ---------------------------------------------------------------- queries

def loadgen(args, ports, paths, requests=0, duration=0.0, concurrency=1, warmup=0, headers=()):
    """contacts-bench with its connections spread over the servers on `ports`; its result."""
    cmd = [args.bench, "--host", "127.0.0.1", "--concurrency", str(concurrency), "--warmup",
           str(warmup), "--timeout", "60"]
    for port in ports:
        cmd += ["--port", str(port)]
    if requests:
        cmd += ["--requests", str(requests)]
    if duration:
        cmd += ["--duration", str(duration)]
    for path in paths:
        cmd += ["--path", path]
    for header in headers:
        cmd += ["--header", header]
    proc = subprocess.run(cmd, capture_output=True, text=True,
                          timeout=2 * duration + 60 * (warmup + 2))
    if proc.returncode != 0:
        raise RuntimeError(f"contacts-bench exited {proc.returncode}: {proc.stderr.strip()}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def describe(body):
    """A short sanity summary of a response body."""
    if not isinstance(body, dict):
        return "no JSON body"
    if "results" in body:
        n = len(body["results"])
        return f"{n} result{'' if n == 1 else 's'}" + (", has next" if body.get("next") else "")
    if "total_contacts" in body:
        return (f"total_contacts {body['total_contacts']:,}, "
                f"{len(body.get('top_countries') or [])} top countries")
    if "count" in body:
        return f"count {body['count']:,}" if isinstance(body["count"], int) else "count ?"
    if "id" in body:
        return f"contact {body['id']}"
    return "keys: " + ", ".join(sorted(body)[:5])


def local_target(url):
    parts = urllib.parse.urlsplit(url)
    return parts.path + ("?" + parts.query if parts.query else "")


def with_param(path, param):
    """`path` with the query parameter `param` ("name=value") added, unless it has it."""
    if not param or param in urllib.parse.urlsplit(path).query.split("&"):
        return path
    return path + ("&" if "?" in path else "?") + param


def cursor_page_50(port, param=None):
    """Follows 49 `next` links from the first page; returns the 50th page's target."""
    target = with_param("/api/contacts/", param)
    for page in range(1, 50):
        status, body, _ = http_get(port, target)
        if status != 200 or not isinstance(body, dict) or not body.get("next"):
            raise RuntimeError(f"cursor walk stopped at page {page}: status {status}")
        target = local_target(body["next"])
    return with_param(target, param)


def sample_ids(port, q2_target):
    """Up to 10 existing contact ids from different parts of the data."""
    ids = []
    for target, take in (("/api/contacts/", 3), (q2_target, 3), ("/api/contacts/?ordering=id&limit=2", 2),
                         ("/api/contacts/?ordering=-employees,country&limit=50", 2)):
        status, body, _ = http_get(port, target)
        if status == 200 and isinstance(body, dict):
            rows = body.get("results") or []
            ids += [r["id"] for r in rows[::max(1, len(rows) // take)][:take] if "id" in r]
    return list(dict.fromkeys(ids))[:10]


def answered_by_index(body):
    """True when a list response says the replica did not answer (meta.using_replica)."""
    meta = body.get("meta") if isinstance(body, dict) else None
    return isinstance(meta, dict) and meta.get("using_replica") is not True


def run_query(args, port, qid, desc, paths, target_ms, headers, expect_replica=False):
    """Checks every path answers 200 (and, with expect_replica, that list responses come from
    the replica), then measures them sequentially."""
    entry = {"id": qid, "description": desc, "paths": paths, "target_p99_ms": target_ms,
             "headers": list(headers)}
    check_seconds = 0.0
    for path in paths:
        status, body, seconds = http_get(port, path, header_dict(headers))
        check_seconds = max(check_seconds, seconds)
        entry.setdefault("sanity", describe(body))
        if status != 200:
            entry.update(check_status=status, sanity=f"HTTP {status}: {json.dumps(body)[:200]}",
                         passed=False)
            log(f"{qid}: {path} answered {status}; not measured")
            return entry
        if expect_replica and answered_by_index(body):
            entry.update(check_status=status, passed=None, sanity="not measured: answered by "
                         "the in-memory index, not the replica (meta.using_replica false)")
            log(f"{qid}: {path} was not answered by the replica; not measured")
            return entry
    requests, warmup = args.requests, args.warmup
    if check_seconds * (requests + warmup) > args.query_budget:
        requests = max(args.min_requests, int(args.query_budget / max(check_seconds, 1e-6)))
        warmup = warmup if check_seconds * warmup <= 5 else 2
    result = loadgen(args, [port], paths, requests=requests, duration=args.query_cap,
                     warmup=warmup, headers=headers)
    p99 = result.get("p99_ms")
    entry.update(result, warmup=warmup, check_status=200,
                 passed=bool(p99 is not None and p99 < target_ms and result["errors"] == 0
                             and result["non_2xx"] == 0))
    log(f"{qid}: {entry['sanity']}; {result['requests']} requests, p50 {fmt_ms(result['p50_ms'])}"
        f" ms, p99 {fmt_ms(p99)} ms, errors {result['errors']}, non-2xx {result['non_2xx']}"
        f" -> {'pass' if entry['passed'] else 'FAIL'}")
    return entry


def query_mix(port, param=None):
    """(id, description, paths, p99 target in ms, headers) of each query of QUERY_MIX on the
    server at `port`, with `param` added to every path."""
    q2 = cursor_page_50(port, param)
    ids = sample_ids(port, q2)
    if not ids:
        raise RuntimeError("no contact ids found for Q10")
    mix = []
    for qid, desc, path, target_ms, headers in QUERY_MIX:
        paths = {"Q2": [q2], "Q10": [f"/api/contacts/{i}/" for i in ids]}.get(qid, [path])
        mix.append((qid, desc, [with_param(p, param) for p in paths], target_ms, headers))
    return mix


def run_query_mix(args, port, param=None):
    """The query mix; `param` (use_replica=true) is added to every request."""
    return [run_query(args, port, qid, desc, paths, target_ms, headers,
                      expect_replica=bool(param))
            for qid, desc, paths, target_ms, headers in query_mix(port, param)]


def run_concurrent(args, ports, param=None, concurrency=None, seconds=None, extra_headers=(),
                   label=""):
    """CONCURRENT_QUERY from `concurrency` clients (default --concurrency) spread over the
    servers on `ports` for `seconds` (default --concurrent-seconds)."""
    qid, desc, path, target_ms, headers = next(q for q in QUERY_MIX if q[0] == CONCURRENT_QUERY)
    concurrency, seconds = concurrency or args.concurrency, seconds or args.concurrent_seconds
    path, headers = with_param(path, param), [*headers, *extra_headers]
    result = loadgen(args, ports, [path], duration=seconds, concurrency=concurrency,
                     warmup=2 * concurrency, headers=headers)
    p99 = result.get("p99_ms")
    entry = dict(result, id=f"{qid} x{concurrency}{label}", description=f"{desc}, "
                 f"{concurrency} concurrent clients for {seconds:g} s",
                 paths=[path], headers=headers, target_p99_ms=target_ms,
                 sanity=f"{result['rps']:,.0f} req/s",
                 passed=bool(p99 is not None and p99 < target_ms and result["errors"] == 0
                             and result["non_2xx"] == 0))
    log(f"{entry['id']}: {result['requests']} requests, {result['rps']:.0f} req/s, "
        f"p99 {fmt_ms(p99)} ms, X-Cache-Hit {fmt_share(result)}, per server "
        f"{', '.join(str(e['requests']) for e in result['endpoints'])} requests "
        f"-> {'pass' if entry['passed'] else 'FAIL'}")
    return entry


# ---------------------------------------------------------------- Redis cache phase

def run_warm_mix(args, port):
    """The query mix with the response cache warm: each path requested once (with the query's
    headers), then every query measured as in run_query_mix, against WARM_TARGET_MS. Returns
    (the entries, with cache_hit_ratio each, and the warm-up pass's figures)."""
    mix = query_mix(port)
    warm = {"requests": 0, "cache_hits": 0}
    for _, _, paths, _, headers in mix:
        result = loadgen(args, [port], paths, requests=len(paths), headers=headers)
        warm = {k: warm[k] + result[k] for k in warm}
    log(f"warm-up: every path of the mix once, {warm['requests']} requests "
        f"({warm['cache_hits']} already answered from the cache)")
    entries = []
    for qid, desc, paths, _, headers in mix:
        entry = run_query(args, port, qid, desc, paths, WARM_TARGET_MS, headers)
        if entry.get("requests"):
            entry["cache_hit_ratio"] = round(entry["cache_hits"] / entry["requests"], 4)
            log(f"{qid}: X-Cache-Hit on {fmt_share(entry)} of the measured requests")
        entries.append(entry)
    return entries, warm


def cache_summary(entries):
    """X-Cache-Hit over the measured requests of the warm mix: all of them, and those of the
    queries that let the cache answer (not sent with Cache-Control: no-cache); which queries
    bypass it and which of the others were never answered from it."""
    def share(queries):
        requests = sum(q.get("requests") or 0 for q in queries)
        hits = sum(q.get("cache_hits") or 0 for q in queries)
        return {"requests": requests, "cache_hits": hits,
                "ratio": round(hits / requests, 4) if requests else None}
    cacheable = [q for q in entries if NO_CACHE not in q.get("headers", [])]
    return {"all": share(entries), "cacheable": share(cacheable),
            "bypassed": [q["id"] for q in entries if q not in cacheable],
            "never_hit": [q["id"] for q in cacheable if q.get("requests")
                          and not q.get("cache_hits")]}


def run_scale_out(args, first, settings, expected):
    """Starts a second serve instance with the same `settings` (database, Redis, secret key)
    and its own data directory, then runs CONCURRENT_QUERY from --scale-out-clients clients
    on `first` alone and over both, with the cache warm and with Cache-Control: no-cache.
    Returns the runs, the second instance's start-up and memory; it is stopped at the end."""
    data_dir = os.path.join(args.out_dir, "data-pg-2")
    os.makedirs(data_dir, exist_ok=True)
    second = Server(args.binary, data_dir, os.path.join(args.out_dir, "server-postgresql-2.log"),
                    **settings)
    result = {"clients": args.scale_out_clients, "seconds": args.scale_out_seconds, "runs": []}
    try:
        result["second_startup"] = second.wait_ready(expected, args.ready_timeout)
        log(f"second instance: ready after {result['second_startup']['ready_s']:.1f} s on port "
            f"{second.port}")
        for cache, headers in (("warm", []), ("bypassed", [NO_CACHE])):
            for ports in ([first.port], [first.port, second.port]):
                n = len(ports)
                before = redis_unavailable(first, second)
                run = run_concurrent(args, ports, concurrency=args.scale_out_clients,
                                     seconds=args.scale_out_seconds, extra_headers=headers,
                                     label=f", {n} instance{'s' if n > 1 else ''}, cache {cache}")
                result["runs"].append(dict(run, instances=n, cache=cache,
                                           redis_unavailable=redis_unavailable(first, second)
                                           - before))
        result["second_memory"] = second.memory()
    finally:
        second.stop()
    return result


def redis_unavailable(*servers):
    """How often the servers have logged that they answer without Redis, so far."""
    return sum(server.log_count(REDIS_UNAVAILABLE) for server in servers)


def redis_settings(cluster, redis):
    """The settings of the postgresql-redis servers: the cluster's primary, the shared Redis
    cache, the cache on, and one secret key for both instances."""
    return {"CONTACTS_DATABASE_URL": cluster.ensure_started()["primary"],
            "CONTACTS_REDIS_URL": redis.ensure_started()["url"],
            "CONTACTS_CACHE_ENABLED": "true", "CONTACTS_SECRET_KEY": secrets.token_hex(32)}


def measure_redis_phase(args, server, settings, imported, redis, entry):
    """The cache /readyz reports, the warm query mix, what Redis holds, then the scale-out
    runs; into `entry`."""
    status, body, _ = http_get(server.port, "/readyz")
    entry["readyz_cache"] = body.get("cache") if isinstance(body, dict) else f"HTTP {status}"
    log(f"/readyz: cache {entry['readyz_cache']}")
    before = redis_unavailable(server)
    entry["queries"], entry["cache_warmup"] = run_warm_mix(args, server.port)
    entry["redis_unavailable"] = redis_unavailable(server) - before
    entry["cache"] = cache_summary(entry["queries"])
    log(f"warm mix: X-Cache-Hit on {fmt_share(entry['cache']['cacheable'])} of the requests "
        f"that allow the cache ({fmt_share(entry['cache']['all'])} of all)")
    entry["redis"] = redis.stats()
    entry["scale_out"] = run_scale_out(args, server, settings, imported)
    entry["redis_after_scale_out"] = redis.stats()


def wait_for_replica(port, timeout):
    """Asks the first page with use_replica=true until meta.using_replica is true (the server
    probes the replica and uses it once it has caught up), at most `timeout` seconds."""
    started = time.monotonic()
    while True:
        status, body, _ = http_get(port, with_param("/api/contacts/", REPLICA_PARAM))
        waited = round(time.monotonic() - started, 2)
        if status == 200 and not answered_by_index(body) and isinstance(body, dict):
            log(f"replica: answering (meta.using_replica true after {waited:.1f} s)")
            return {"used": True, "waited_s": waited}
        if waited >= timeout:
            meta = body.get("meta") if isinstance(body, dict) else None
            log(f"replica: not used after {timeout:g} s (status {status}, meta.using_replica "
                f"{(meta or {}).get('using_replica')}); the column is n/a")
            return {"used": False, "waited_s": waited, "status": status,
                    "using_replica": (meta or {}).get("using_replica")}
        time.sleep(0.25)


# ---------------------------------------------------------------- one store

def measure_store(args, store, csv_path, csv_info, cluster, redis):
    """Import, start-up, query mix, concurrency (on postgresql-redis: the warm mix and the
    scale-out runs) and memory of one store. Returns its entry (with "error" when a step
    failed, "unavailable" when the replica reader did not answer)."""
    entry = {}
    server = None
    try:
        if store == "sqlite":
            data_dir, entry["import"] = ensure_import(args, csv_path, csv_info)
            settings, imported = {}, entry["import"]["imported"]
        else:
            urls = cluster.ensure_started()
            first_import = cluster.imported is None
            imported = cluster.import_once(csv_path)["imported"]
            if first_import:
                entry["import"] = cluster.imported
            data_dir, settings = cluster.data_dir(), {"CONTACTS_DATABASE_URL": urls["primary"]}
            if store == "postgresql-sql":
                settings["CONTACTS_DATABASE_REPLICA_URL"] = urls["replica"]
            if store == REDIS_STORE:
                settings = redis_settings(cluster, redis)
        log_name = "server.log" if store == "sqlite" else f"server-{store}.log"
        server = Server(args.binary, data_dir, os.path.join(args.out_dir, log_name), **settings)
        entry["startup"] = server.wait_ready(imported, args.ready_timeout)
        log(f"{store}: server ready after {entry['startup']['ready_s']:.1f} s on port "
            f"{server.port}, {entry['startup']['count']:,} contacts")
        param = None
        if store == "postgresql-sql":
            entry["replica"] = wait_for_replica(server.port, args.replica_timeout)
            if not entry["replica"]["used"]:
                entry["unavailable"] = "replica reader not available"
            param = REPLICA_PARAM
        if store == REDIS_STORE:
            measure_redis_phase(args, server, settings, imported, redis, entry)
        elif not entry.get("unavailable"):
            entry["queries"] = run_query_mix(args, server.port, param)
            entry["concurrent"] = run_concurrent(args, [server.port], param)
        entry["memory"] = server.memory()
        if store in EXPORT_STORES and not args.skip_export:
            entry["export"] = run_export_phase(server, imported)
    except ERRORS as e:
        entry["error"] = str(e)
        log(f"run_bench: {store}: {e}")
        if server is not None:
            entry["memory"] = server.memory()
    finally:
        if server is not None:
            server.stop()
    return entry


# ---------------------------------------------------------------- export

def run_export_phase(server, expected_rows):
    """The CSV export of every contact from `server` (after the query mix, so that the memory
    figures above are not touched by it); its figures, or {"error": ...}."""
    log("export: every contact over HTTP, VmRSS sampled")
    try:
        return http_export.run_export(server.port, server.proc.pid, expected_rows, log)
    except ERRORS as e:
        log(f"run_bench: export: {e}")
        return {"error": str(e)}


# ---------------------------------------------------------------- HTTP import

def http_context(args, tag="", **settings):
    """What http_import needs: servers and CLI commands with `settings` (the store)."""
    return {
        "binary": args.binary, "out_dir": args.out_dir, "log": log, "tag": tag,
        "env_factory": lambda **more: clean_env(**settings, **more),
        "ready_timeout": args.ready_timeout, "job_timeout": args.http_import_timeout,
        "query_seconds": args.during_import_seconds,
        "server_factory": lambda data_dir, log_path, workers: Server(
            args.binary, data_dir, log_path, CONTACTS_IMPORT_WORKERS=workers, **settings),
        "loadgen": lambda port, paths, duration: loadgen(args, [port], paths, duration=duration),
    }


def run_http_phase(args, csv_path, store, cluster):
    """Upload + job (+ Q1/Q3 during the job) on a fresh store: a new data directory, and on
    PostgreSQL also a new database `contacts_http` on the cluster's primary."""
    result = {}
    try:
        if store == "sqlite":
            ctx = http_context(args)
        else:
            ctx = http_context(args, "-" + store,
                               CONTACTS_DATABASE_URL=cluster.create_database("contacts_http"))
        http_import.run_http_import(ctx, csv_path, args.rows, result)
    except ERRORS as e:
        result["error"] = str(e)
        log(f"run_bench: {store}: HTTP import: {e}")
    return result


def run_upload_memory(args, csv_path):
    """The upload memory check (SQLite; the upload is received the same way on every store)."""
    result = {}
    try:
        http_import.run_upload_memory(http_context(args), csv_path, args.upload_mib * 1024 * 1024,
                                      result)
    except ERRORS as e:
        result["error"] = str(e)
        log(f"run_bench: upload memory check: {e}")
    return result


def run_errors(results):
    """Every failed step of the run, as one line each."""
    errors = [results["error"]] if results.get("error") else []
    for store, entry in results["stores"].items():
        errors += [f"{store}: {entry['error']}"] if entry.get("error") else []
        ex = entry.get("export") or {}
        errors += [f"{store}: export: {ex['error']}"] if ex.get("error") else []
        hi = entry.get("http_import") or {}
        errors += [f"{store}: HTTP import: {hi['error']}"] if hi.get("error") else []
    if (results.get("upload_memory") or {}).get("error"):
        errors.append(f"upload memory check: {results['upload_memory']['error']}")
    return errors


# ---------------------------------------------------------------- main

def add_query_mix_args(parser):
    """The options of the query mix (Q1-Q16), on `parser` or an argument group."""
    parser.add_argument("--requests", type=int, default=200, help="measured requests per query")
    parser.add_argument("--min-requests", type=int, default=30, help="floor for slow queries")
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--query-budget", type=float, default=20.0,
                        help="seconds a query may take before it gets fewer requests")
    parser.add_argument("--query-cap", type=float, default=30.0, help="hard limit per query (s)")


def prepare_run(args, program):
    """Common start of a driver: SIGTERM runs the finally blocks, paths made absolute, the
    output folder created, the binaries checked."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    args.binary, args.bench = os.path.abspath(args.binary), os.path.abspath(args.bench)
    args.out_dir = os.path.abspath(args.out_dir)
    os.makedirs(args.out_dir, exist_ok=True)
    for tool in (args.binary, args.bench):
        if not os.access(tool, os.X_OK):
            sys.exit(f"{program}: {tool} is not an executable; build first (make build)")


def main():
    args = parse_args()
    prepare_run(args, "run_bench")
    results = {"rows": args.rows, "seed": args.seed, "machine": machine_info(),
               "store_order": args.stores, "stores": {s: {} for s in args.stores}}
    started = time.monotonic()
    cluster = PgCluster(args) if any(s in PG_STORES for s in args.stores) else None
    redis = RedisServer(args) if REDIS_STORE in args.stores else None
    try:
        csv_path, results["generate"] = ensure_csv(args)
        if not args.only_http_import:
            for store in args.stores:
                log(f"\n== {store}")
                results["stores"][store].update(
                    measure_store(args, store, csv_path, results["generate"], cluster, redis))
        if not args.skip_http_import:
            for store in (s for s in args.stores if s in HTTP_IMPORT_STORES):
                log(f"\n== {store}: HTTP import")
                results["stores"][store]["http_import"] = run_http_phase(args, csv_path, store,
                                                                         cluster)
            if args.upload_mib > 0:
                log("\n== upload memory check")
                results["upload_memory"] = run_upload_memory(args, csv_path)
    except ERRORS as e:
        results["error"] = str(e)
        log(f"run_bench: {e}")
    finally:
        for service in (redis, cluster):
            if service is not None:
                service.stop()
    errors = run_errors(results)
    if errors:
        results["error"] = "; ".join(errors)
    results["total_seconds"] = round(time.monotonic() - started, 1)
    results["missed_targets"] = missed_targets(results)
    report = markdown(results)
    with open(os.path.join(args.out_dir, "results.md"), "w") as f:
        f.write(report)
    write_json(os.path.join(args.out_dir, "results.json"), results)
    log("\n" + report)
    log(f"Written to {os.path.join(args.out_dir, 'results.md')} and results.json "
        f"({results['total_seconds']:.0f} s in all).")
    if results.get("error"):
        return 2
    return 1 if args.strict and results["missed_targets"] else 0


if __name__ == "__main__":
    sys.exit(main())
