#!/usr/bin/env python3
"""Scale benchmark of contacts-api (issue 11): start-up, memory, query mix and freshness at
1M and 10M rows.

For each size N of --rows (default 1,000,000 and 10,000,000) and each store of --stores
(default sqlite; postgresql uses a throw-away cluster from scripts/pg_test_cluster):
  0. `contacts-api generate --rows N --seed 11` once, cached in bench/out/scale/ (git-ignored),
     then `contacts-api import FILE` into a fresh bench/out/scale/<store>-<N>/, timed;
  1. `contacts-api serve` started twice, /readyz polled every 50 ms: the first start has no
     persisted index snapshot in CONTACTS_DATA_DIR, the second comes after the first was
     stopped (a snapshot may exist then); the files the first start left are listed;
  2. VmRSS after start-up and after the query mix, VmHWM (MiB);
  3. the query mix Q1-Q16 of run_bench.py, p50/p99, response cache off
     (CONTACTS_CACHE_ENABLED=false);
  4. freshness: a CSV of 1,000 new rows (seed 12) uploaded as an admin; from the job status
     answer that says `completed` until GET /api/contacts/?email=<a new row's e-mail> finds
     it (on postgresql also uploaded to a second serve instance, read on the first);
  5. updates by another process: `contacts-api import` of the first 15% of the N-row file
     (every row with an e-mail an update) into the store the server reads, Q1 meanwhile,
     then the compaction it calls for (above the index's 1/8 ratio), Q1 until /metrics says
     contacts_index_parts 1: the server's memory is then its read index's alone (refreshes
     and compaction); VmHWM (reset through /proc/PID/clear_refs before) over the steady RSS;
  6. reads during writes: the query mix again (20 requests a query: the new base's pages
     resident, as after step 3), then Q1 (contacts-bench, one client) while an HTTP import of
     15% of N new rows (seed 13) runs in the server; its p99, the peak VmRSS;
  7. the compaction that import calls for, as in 5; VmHWM over the VmRSS after that mix (the
     import job's own memory included: write cache, batches).
Free disk is checked (shutil.disk_usage) before anything is generated or imported.

Usage (what `make bench-scale` runs, plus BENCH_SCALE_ARGS):
  python3 bench/run_scale.py --binary ./build/contacts-api --bench ./build/contacts-bench
Quick check of the script (about 2 minutes):
  python3 bench/run_scale.py --binary ... --bench ... --rows 200000
Both stores:
  python3 bench/run_scale.py --binary ... --bench ... --stores sqlite,postgresql

Writes bench/out/scale/results.md and results.json; see docs/benchmarks.md, "Scale".
Python 3 standard library only; reuses run_bench.py and http_import.py.
"""
import argparse
import csv
import datetime
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

sys.dont_write_bytecode = True  # keep bench/ free of __pycache__
import run_bench as rb  # noqa: E402
import http_import  # noqa: E402
from bench_report import fmt_ms, verdict  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
MIB = 1024 ** 2
GIB = 1024 ** 3
GB = 1000 ** 3

STORES = ("sqlite", "postgresql")
BASE_SEED, FRESH_SEED, WRITES_SEED, FLEET_SEED = 11, 12, 13, 14
READY_POLL_S = 0.05       # /readyz during start-up
JOB_POLL_S = 0.02         # the job of the freshness import
FOUND_POLL_S = 0.005      # the e-mail query after `completed`
Q1 = ("Q1", "/api/contacts/")

# Disk needed, per row. The CSV: 6.6 GB at 10M rows. The embedded store: the database
# (7.6 GB at 10M rows; its WAL is checkpointed as the import goes, issue 12) and the read
# index's snapshot files beside it (about as much again), with room to spare. PostgreSQL: the
# primary and its streaming replica, each about twice the CSV with indexes and WAL.
CSV_BYTES_PER_ROW = 700
IMPORT_BYTES_PER_ROW = {"sqlite": 2000, "postgresql": 3000}
DISK_MARGIN = 2 * GIB

# Issue 11, "Figures to reach": sizes up to 1M are judged on the 1M figures, larger ones on
# the 10M figures. None = no target at that size.
TARGETS = {
    "1M": {"startup_warm_s": 1, "startup_cold_s": None, "p99_ms": 20, "rss_bytes": 1 * GIB,
           "hwm_bytes": 1 * GIB, "fresh_ms": 1000, "q1_writes_p99_ms": 20},
    "10M": {"startup_warm_s": 5, "startup_cold_s": 90, "p99_ms": 100, "rss_bytes": 3 * GIB,
            "hwm_bytes": 3.75 * GIB, "fresh_ms": 1000, "q1_writes_p99_ms": 20},
}

T0 = time.monotonic()


def log(*parts):
    """Progress line with the time since the start, so that a long run can be followed."""
    el = int(time.monotonic() - T0)
    print(f"[{el // 3600}:{el // 60 % 60:02d}:{el % 60:02d}]", *parts, flush=True)


rb.log = log  # the reused run_bench functions (and http_context's "log") print through it


class DiskSpaceError(RuntimeError):
    pass


def parse_rows(text):
    sizes = []
    for part in text.split(","):
        part = part.strip().lower().replace("_", "")
        if not part:
            continue
        scale = {"k": 1000, "m": 1_000_000}.get(part[-1], 1)
        sizes.append(int(float(part[:-1]) * scale) if scale > 1 else int(part))
    if not sizes or min(sizes) < 1000:
        raise argparse.ArgumentTypeError("--rows: comma-separated row counts of at least 1000")
    return list(dict.fromkeys(sizes))


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--binary", required=True, help="path of contacts-api")
    p.add_argument("--bench", required=True, help="path of contacts-bench")
    p.add_argument("--rows", type=parse_rows, default=parse_rows("1000000,10000000"),
                   help="comma-separated sizes (default 1000000,10000000; 200k and 1M accepted)")
    p.add_argument("--stores", default="sqlite",
                   help=f"comma-separated stores among {', '.join(STORES)} (default %(default)s)")
    p.add_argument("--seed", type=int, default=BASE_SEED, help="seed of the N-row file")
    p.add_argument("--out-dir", default=os.path.join(HERE, "out", "scale"))
    p.add_argument("--keep-stores", action="store_true",
                   help="keep each <store>-<N> data directory (and PostgreSQL database) after "
                   "it is measured; by default it is removed to save disk")
    p.add_argument("--fresh-rows", type=int, default=1000,
                   help="rows of the freshness import (seed 12)")
    p.add_argument("--write-share", type=float, default=0.15,
                   help="rows of the import during which Q1 is measured, as a share of N "
                   "(seed 13); above the index's compaction ratio (0.125), so that a "
                   "compaction follows it")
    p.add_argument("--skip-fleet", action="store_true",
                   help="postgresql: leave out the freshness import through a second instance")
    rb.add_query_mix_args(p.add_argument_group("query mix (as run_bench.py)"))
    g = p.add_argument_group("limits")
    g.add_argument("--ready-timeout", type=float, default=3600.0,
                   help="limit for a start-up until /readyz answers 200 (s)")
    g.add_argument("--import-timeout", type=float, default=6 * 3600.0,
                   help="limit for the CLI import and for generate (s)")
    g.add_argument("--http-import-timeout", type=float, default=3600.0,
                   help="limit for an upload, for a job to finish and for its rows to be "
                   "readable (s)")
    g.add_argument("--compaction-timeout", type=float, default=3600.0,
                   help="limit for the compaction after that import (s)")
    g.add_argument("--during-import-seconds", type=float, default=1.0,
                   help="length of each Q1 run while the import job runs (several runs "
                   "follow each other until the job completes)")
    args = p.parse_args()
    args.stores = list(dict.fromkeys(s.strip() for s in args.stores.split(",") if s.strip()))
    unknown = [s for s in args.stores if s not in STORES]
    if unknown or not args.stores:
        p.error(f"--stores: unknown {', '.join(unknown) or '(none given)'}; "
                f"choose from {', '.join(STORES)}")
    if not 0 < args.write_share <= 1 or args.fresh_rows < 1:
        p.error("--write-share must be in (0, 1] and --fresh-rows at least 1")
    return args


# ---------------------------------------------------------------- files and disk

def csv_name(rows, seed):
    return f"contacts-{rows}-seed{seed}.csv"


def write_rows(args, rows):
    return max(1000, round(rows * args.write_share))


def first_rows(args, source, count):
    """The CSV of the first `count` records of `source` (header included), cached beside it."""
    path = f"{os.path.splitext(source)[0]}-first{count}.csv"
    marker = rb.read_json(path + ".json") or {}
    if os.path.exists(path) and marker.get("bytes") == os.path.getsize(path) \
            and marker.get("rows") == count and marker.get("source") == os.path.basename(source):
        return path
    check_disk(count * CSV_BYTES_PER_ROW, f"writing {path}", args.out_dir)
    with open(source, newline="") as src, open(path + ".tmp", "w", newline="") as out:
        reader, writer = csv.reader(src), csv.writer(out, lineterminator="\n")
        writer.writerow(next(reader))
        for i, record in enumerate(reader):
            if i == count:
                break
            writer.writerow(record)
    os.replace(path + ".tmp", path)
    rb.write_json(path + ".json", {"rows": count, "source": os.path.basename(source),
                                   "bytes": os.path.getsize(path)})
    return path


def planned_files(args, rows):
    """(key, rows, seed) of the CSVs the measure of size `rows` uses."""
    files = [("base", rows, args.seed), ("fresh", args.fresh_rows, FRESH_SEED),
             ("writes", write_rows(args, rows), WRITES_SEED)]
    if "postgresql" in args.stores and not args.skip_fleet:
        files.append(("fleet", args.fresh_rows, FLEET_SEED))
    return files


def cached(args, rows, seed):
    path = os.path.join(args.out_dir, csv_name(rows, seed))
    marker = rb.read_json(path + ".json") or {}
    return os.path.exists(path) and os.path.getsize(path) == marker.get("bytes") \
        and marker.get("rows") == rows and marker.get("seed") == seed


def import_need(args, store, rows):
    """Disk an import of `rows` (and the HTTP imports after it) needs on `store`: the store,
    plus the uploads kept in CONTACTS_DATA_DIR/uploads."""
    extra = write_rows(args, rows) + 2 * args.fresh_rows
    # + the first rows of the base file, imported again (step 5)
    return (rows + extra) * IMPORT_BYTES_PER_ROW[store] + \
        (extra + write_rows(args, rows)) * CSV_BYTES_PER_ROW


def gb(value):
    return f"{value / GB:.1f} GB"


def check_disk(need, what, path):
    free = shutil.disk_usage(path).free
    if free < need + DISK_MARGIN:
        raise DiskSpaceError(
            f"not enough free disk for {what}: it needs about {gb(need)} (+ {gb(DISK_MARGIN)} "
            f"margin), and {gb(free)} is free on the file system of {path}. Free some disk, or "
            "measure fewer rows (--rows 1000000, or --rows 200000 for a quick run).")
    return free


def plan_disk(args):
    """Disk the whole run needs at its peak: the CSVs not cached yet, plus the largest import
    (every import when --keep-stores keeps them)."""
    files = {(r, s) for rows in args.rows for _, r, s in planned_files(args, rows)}
    csv_need = sum(r * CSV_BYTES_PER_ROW for r, s in files if not cached(args, r, s))
    imports = [import_need(args, store, rows) for rows in args.rows for store in args.stores]
    return csv_need + (sum(imports) if args.keep_stores else max(imports))


def ensure_file(args, rows, seed):
    path = os.path.join(args.out_dir, csv_name(rows, seed))
    if not cached(args, rows, seed):
        check_disk(rows * CSV_BYTES_PER_ROW, f"generating {rows:,} rows", args.out_dir)
    return rb.generate_csv(args.binary, args.out_dir, rows, seed, os.path.basename(path),
                           log_name=f"generate-{rows}-seed{seed}.log",
                           timeout=args.import_timeout)


def dir_files(path):
    """{relative path: size} of every file under `path`."""
    files = {}
    for root, _, names in os.walk(path):
        for name in names:
            full = os.path.join(root, name)
            try:
                files[os.path.relpath(full, path)] = os.path.getsize(full)
            except OSError:
                pass
    return files


def dir_bytes(path):
    return sum(dir_files(path).values())


# ---------------------------------------------------------------- servers

def wait_readyz(server, timeout):
    """Seconds from the start of `server` until GET /readyz answers 200, polled every 50 ms."""
    deadline = server.started + timeout
    while True:
        if server.proc.poll() is not None:
            raise RuntimeError(f"server exited with {server.proc.returncode}; "
                               f"{server.log_path} ends with:\n{server.log_tail()}")
        try:
            status, _, _ = rb.http_get(server.port, "/readyz", timeout=5)
            if status == 200:
                return time.monotonic() - server.started
        except (OSError, urllib.error.URLError):
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"/readyz not 200 after {timeout:.0f} s; see {server.log_path}")
        time.sleep(READY_POLL_S)


def index_load_s(server):
    """What the server logged as the time to load its read index ("read index loaded: N
    contacts in X s"), or None."""
    server.log.flush()
    with open(server.log_path, errors="replace") as f:
        found = re.findall(r"read index loaded: \d+ contacts in ([0-9.]+) s", f.read())
    return float(found[-1]) if found else None


def memory(server):
    values = server.memory()
    return {"VmRSS": values.get("VmRSS"), "VmHWM": values.get("VmHWM")}


def start(args, data_dir, settings, log_name):
    """contacts-api serve (cache off, tokens valid for the whole run) until /readyz is 200;
    returns (server, start-up figures)."""
    server = rb.Server(args.binary, data_dir, os.path.join(args.out_dir, log_name),
                       CONTACTS_ACCESS_TOKEN_MINUTES=24 * 60, **settings)
    try:
        ready_s = wait_readyz(server, args.ready_timeout)
        figures = {"ready_s": round(ready_s, 3), "index_load_s": index_load_s(server),
                   "memory": memory(server)}
        status, body, _ = rb.http_get(server.port, "/api/contacts/count/", timeout=600)
        figures["count"] = body.get("count") if status == 200 and isinstance(body, dict) \
            else None
        return server, figures
    except BaseException:
        server.stop()
        raise


def stop(server):
    started = time.monotonic()
    server.stop()
    return round(time.monotonic() - started, 2)


# ---------------------------------------------------------------- freshness

def contact_found(port, email):
    """True when GET /api/contacts/?email=<email> answers a contact with that e-mail."""
    status, body, _ = rb.http_get(port, "/api/contacts/?email=" + urllib.parse.quote(email),
                                  timeout=60)
    return status == 200 and isinstance(body, dict) and any(
        str(r.get("email", "")).lower() == email.lower() for r in body.get("results") or [])


def new_email(port, csv_path, tries=200):
    """An e-mail of the file that no contact of the server holds yet (count 0 for the
    substring filter), taken from the last rows (imported last) first."""
    with open(csv_path, newline="", encoding="utf-8") as f:
        emails = [row.get("Email", "").strip() for row in csv.DictReader(f)]
    seen = set()
    for email in reversed(emails):
        if not email or email.lower() in seen:
            continue
        seen.add(email.lower())
        status, body, _ = rb.http_get(port, "/api/contacts/count/?email="
                                      + urllib.parse.quote(email), timeout=60)
        if status == 200 and isinstance(body, dict) and body.get("count") == 0:
            return email
        if len(seen) >= tries:
            break
    raise RuntimeError(f"none of the last {len(seen)} e-mails of {csv_path} is new")


def parse_time(text):
    try:
        return datetime.datetime.fromisoformat(str(text).replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def measure_freshness(args, upload_port, read_port, token, csv_path, label):
    """Uploads `csv_path` to `upload_port`, polls its job there every 20 ms (and, until it
    says completed, also asks `read_port` for a new row's e-mail), then asks `read_port` for
    that e-mail until a contact is found. The figure: from the job answer that said
    `completed` to the answer that found the row."""
    email = new_email(read_port, csv_path)
    t_upload = time.monotonic()
    up = http_import.upload_file(upload_port, token, csv_path, timeout=args.http_import_timeout)
    if up["status"] != 201 or not isinstance(up["body"], dict) or "job_id" not in up["body"]:
        raise RuntimeError(f"{label}: upload answered {up['status']}: {str(up['body'])[:300]}")
    job_id = up["body"]["job_id"]
    log(f"{label}: uploaded {os.path.basename(csv_path)} in {up['seconds']:.2f} s, job "
        f"{job_id}; waiting for `completed`, then for {email} to be found")
    headers = {"Authorization": f"Bearer {token}"}
    deadline = time.monotonic() + args.http_import_timeout
    found_before, polls = None, 0
    while True:
        status, job = http_import.request_json(upload_port, "GET",
                                               f"{http_import.IMPORT_PATH}{job_id}/",
                                               headers=headers, timeout=60)
        t_completed, wall_completed = time.monotonic(), time.time()
        polls += 1
        state = job.get("status") if status == 200 and isinstance(job, dict) else None
        if state == "completed":
            break
        if state == "failed":
            raise RuntimeError(f"{label}: job {job_id} failed: {job.get('message')}")
        if found_before is None and contact_found(read_port, email):
            found_before = time.monotonic()
        if t_completed > deadline:
            raise RuntimeError(f"{label}: job {job_id} not completed after "
                               f"{args.http_import_timeout:.0f} s (last: {status} {state})")
        time.sleep(JOB_POLL_S)
    queries = 0
    while True:
        queries += 1
        if contact_found(read_port, email):
            t_found = time.monotonic()
            break
        if time.monotonic() - t_completed > args.http_import_timeout:
            raise RuntimeError(f"{label}: {email} not found {args.http_import_timeout:.0f} s "
                               "after the job completed")
        time.sleep(FOUND_POLL_S)
    finished = parse_time(job.get("finished_at"))
    result = {
        "rows": job.get("total_rows"), "success_count": job.get("success_count"),
        "email": email, "job_id": job_id, "job_polls": polls, "queries_after": queries,
        "upload_s": round(up["seconds"], 3),
        "completed_to_readable_ms": round((t_found - t_completed) * 1000, 1),
        "upload_to_completed_s": round(t_completed - t_upload, 3),
        "finished_to_completed_ms": None if finished is None
        else round((wall_completed - finished) * 1000, 1),
        "readable_before_completed_ms": None if found_before is None
        else round((t_completed - found_before) * 1000, 1),
    }
    log(f"{label}: completed {result['upload_to_completed_s']:.2f} s after the upload started "
        f"(job finished_at -> completed {result['finished_to_completed_ms']} ms); the row was "
        f"readable {result['completed_to_readable_ms']} ms after `completed`"
        + (f" (already {result['readable_before_completed_ms']} ms before it)"
           if found_before is not None else ""))
    return result


def measure_fleet_freshness(args, first, data_dir, settings, token, csv_path, name):
    """PostgreSQL: a second serve instance on the same database and data directory (shared
    uploads and secret key); the freshness file uploaded to it, read on `first`."""
    second, startup = start(args, data_dir, settings, f"server-{name}-fleet.log")
    try:
        log(f"fleet: second instance ready after {startup['ready_s']:.2f} s on port "
            f"{second.port}")
        result = measure_freshness(args, second.port, first.port, token, csv_path,
                                   "freshness via a second instance")
        result["second_startup"] = startup
        return result
    finally:
        stop(second)


def reads_during_writes(args, server, token, csv_path):
    """Q1 while the HTTP import of `csv_path` runs (http_import.import_pass: one client, runs
    of --during-import-seconds until the job completes; p99 = the highest run's)."""
    out = http_import.import_pass(rb.http_context(args), server, token, csv_path,
                                  args.during_import_seconds, "writes", queries=[Q1])
    q1 = out.pop("queries")[0]
    out["q1"] = {k: q1.get(k) for k in ("requests", "errors", "non_2xx", "p50_ms", "p99_ms",
                                        "max_ms", "sanity")}
    out["q1"]["runs"] = len(q1.get("runs") or [])
    out["VmHWM_after"] = memory(server)["VmHWM"]
    if out.get("status") != "completed":
        raise RuntimeError(f"import during reads: job {out.get('status')}")
    return out


def rewarm(args, server):
    """The query mix again, 20 requests a query: the pages of the index they read are
    resident again, as after step 3. Returns the memory after it."""
    quick = argparse.Namespace(**vars(args))
    quick.requests, quick.min_requests, quick.warmup = 20, 5, 2
    rb.run_query_mix(quick, server.port)
    out = memory(server)
    log(f"query mix again (20 requests a query): VmRSS {fmt_mib(out['VmRSS'])}")
    return out


def reset_hwm(server):
    """Resets the server's VmHWM to its VmRSS (/proc/PID/clear_refs, value 5); False when the
    kernel refused."""
    try:
        with open(f"/proc/{server.proc.pid}/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def updates_by_another_process(args, server, env, csv_path, steady, log_name, data_dir, settings):
    """Step 5: `contacts-api import csv_path` (rows of the store's own file: updates by
    e-mail) in another process while `server` serves Q1 (one client, runs of
    --during-import-seconds), Q1 again until the server's index shows the store's data
    version (its last refresh), then the compaction it calls for. The server's VmHWM is reset
    first: what it reaches is the read index's refreshes and compaction alone."""
    ctx = rb.http_context(args)
    hwm_reset = reset_hwm(server)
    runs = []
    started = time.monotonic()
    with open(os.path.join(args.out_dir, log_name), "w") as out, \
            http_import.RssSampler(server.proc.pid) as sampler:
        proc = subprocess.Popen([args.binary, "import", csv_path], env=env,
                                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
        try:
            while proc.poll() is None:
                if time.monotonic() - started > args.import_timeout:
                    raise RuntimeError(f"the import of {csv_path} took over "
                                       f"{args.import_timeout:.0f} s")
                runs.append(ctx["loadgen"](server.port, [Q1[1]],
                                           duration=args.during_import_seconds))
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
        seconds = time.monotonic() - started
        if proc.returncode != 0:
            raise RuntimeError(f"contacts-api import exited {proc.returncode}; see {log_name}")
        # The server's refreshes run behind the import; the compaction is judged once the
        # index has read every write (else a refresh still running looks like "none due").
        version = store_data_version(data_dir, settings)
        while (index_gauges(server.port).get("contacts_index_data_version") or 0) < version:
            if time.monotonic() - started > args.import_timeout:
                raise RuntimeError(f"the read index did not reach data version {version}")
            runs.append(ctx["loadgen"](server.port, [Q1[1]],
                                       duration=args.during_import_seconds))
        caught_up = time.monotonic() - started - seconds
    p99s = [r.get("p99_ms") for r in runs if r.get("p99_ms") is not None]
    out = {"import_s": round(seconds, 2), "caught_up_after_s": round(caught_up, 2),
           "hwm_reset": hwm_reset,
           "q1": {"runs": len(runs), "requests": sum(r.get("requests") or 0 for r in runs),
                  "p99_ms": max(p99s) if p99s else None},
           "memory": sampler.result()}
    log(f"updates by another process: import {seconds:.1f} s, index caught up {caught_up:.1f} s "
        f"after; Q1 p99 {out['q1']['p99_ms']} ms, "
        f"peak VmRSS {fmt_mib(out['memory'].get('peak_rss_bytes'))}")
    out["compaction"] = compaction_after_writes(args, server, steady)
    return out


def store_data_version(data_dir, settings):
    """The store's data_version (store_meta), read beside the server: from contacts.db of
    data_dir, or with psql from CONTACTS_DATABASE_URL."""
    sql = "SELECT value FROM store_meta WHERE key = 'data_version'"
    url = settings.get("CONTACTS_DATABASE_URL")
    if url:
        out = subprocess.run([rb.PSQL, url, "-At", "-c", sql], env=rb.clean_env(),
                             capture_output=True, text=True, timeout=60, check=True)
        return int(out.stdout.strip())
    import sqlite3
    db = sqlite3.connect(f"file:{os.path.join(data_dir, 'contacts.db')}?mode=ro", uri=True,
                         timeout=60)
    try:
        return int(db.execute(sql).fetchone()[0])
    finally:
        db.close()


def index_gauges(port):
    """The read index's gauges of the server's /metrics: contacts_index_parts (segments it
    stacks), contacts_index_compaction_pending (1 while a compaction runs or waits),
    contacts_index_compactions_total and contacts_index_data_version, by name (None when
    unreadable)."""
    names = ("contacts_index_parts", "contacts_index_compaction_pending",
             "contacts_index_compactions_total", "contacts_index_data_version")
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=30) as resp:
            body = resp.read().decode(errors="replace")
    except (OSError, urllib.error.URLError):
        return dict.fromkeys(names)
    out = {}
    for name in names:
        found = re.search(rf"^{name} (\d+)", body, re.M)
        out[name] = int(found.group(1)) if found else None
    return out


def compaction_after_writes(args, server, steady):
    """After the import of step 5 (a share of N above the refresher's compaction ratio), the
    deltas are merged into a new base in the background: Q1 runs (one client, runs of
    --during-import-seconds) until /metrics says the index is one part again, with the
    server's VmRSS sampled every 100 ms. Returns how long that took, Q1's p50/p99 (highest
    run), the peak VmRSS and the VmHWM after, and the high-water mark over the steady RSS."""
    ctx = rb.http_context(args)
    t0 = time.monotonic()
    deadline = t0 + args.compaction_timeout
    gauges = index_gauges(server.port)
    parts_at_start = gauges["contacts_index_parts"]
    runs = []
    idle_since = None  # no compaction running nor asked for since then
    with http_import.RssSampler(server.proc.pid) as sampler:
        while time.monotonic() < deadline:
            parts = gauges["contacts_index_parts"]
            if parts is None or parts <= 1:
                break
            if gauges["contacts_index_compaction_pending"]:
                idle_since = None
            elif idle_since is None:
                idle_since = time.monotonic()
            elif time.monotonic() - idle_since > 5:
                break  # the deltas left are below the compaction ratio: none is due
            runs.append(ctx["loadgen"](server.port, [Q1[1]], duration=args.during_import_seconds))
            gauges = index_gauges(server.port)
    parts = gauges["contacts_index_parts"]
    seconds = time.monotonic() - t0
    p99s = [r.get("p99_ms") for r in runs if r.get("p99_ms") is not None]
    p50s = [r.get("p50_ms") for r in runs if r.get("p50_ms") is not None]
    hwm = memory(server)["VmHWM"]
    out = {"parts_at_start": parts_at_start, "parts_at_end": parts,
           "compactions_total": gauges["contacts_index_compactions_total"],
           "seconds": round(seconds, 1) if parts == 1 else None,
           "q1": {"runs": len(runs), "requests": sum(r.get("requests") or 0 for r in runs),
                  "p50_ms": statistics.median(p50s) if p50s else None,
                  "p99_ms": max(p99s) if p99s else None,
                  "max_ms": max((r.get("max_ms") or 0 for r in runs), default=None)},
           "memory": sampler.result(), "VmHWM_after": hwm,
           "hwm_over_steady": round(hwm / steady, 2) if hwm and steady else None}
    log(f"compaction: index parts {parts_at_start} -> {parts} in {seconds:.1f} s; Q1 p99 "
        f"{out['q1']['p99_ms']} ms over {len(runs)} runs; peak VmRSS "
        f"{fmt_mib(out['memory'].get('peak_rss_bytes'))}, VmHWM {fmt_mib(hwm)} "
        f"({out['hwm_over_steady']}x the steady {fmt_mib(steady)})")
    return out


# ---------------------------------------------------------------- one store, one size

def drop_database(args, url):
    """DROP DATABASE of `url` (made by PgCluster.create_database), from the `postgres` one."""
    parts = urllib.parse.urlsplit(url)
    rb.run_logged([rb.PSQL, urllib.parse.urlunsplit(parts._replace(path="/postgres")), "-v",
                   "ON_ERROR_STOP=1", "-c", f"DROP DATABASE IF EXISTS {parts.path.lstrip('/')}"],
                  rb.clean_env(), os.path.join(args.out_dir, "pg-dropdb.log"), 120)


def measure(args, store, rows, files, cluster):
    """Steps 0-5 of the docstring for one store and size. Returns the entry (with "error"
    when a step failed; the figures measured until then stay)."""
    name = f"{store}-{rows}"
    entry = {"store": store, "rows": rows}
    data_dir = os.path.join(args.out_dir, name)
    settings, server, db_url = {}, None, None
    try:
        shutil.rmtree(data_dir, ignore_errors=True)
        need = import_need(args, store, rows)
        free = check_disk(need, f"importing {rows:,} rows into {store}", args.out_dir)
        log(f"{name}: {gb(free)} free, about {gb(need)} needed")
        os.makedirs(data_dir)
        if store == "postgresql":
            db_url = cluster.create_database(f"contacts_{rows}")
            settings["CONTACTS_DATABASE_URL"] = db_url
        env = rb.clean_env(CONTACTS_DATA_DIR=data_dir, **settings)
        log(f"{name}: import {files['base']}")
        entry["import"] = rb.timed_import(args, files["base"], env, f"import-{name}.log",
                                          rows=rows, seed=args.seed,
                                          timeout=args.import_timeout)
        entry["import"]["data_dir_bytes"] = dir_bytes(data_dir)
        if store == "postgresql":
            entry["import"]["pg_cluster_bytes"] = dir_bytes(cluster.dir)
        expected = entry["import"]["imported"]
        username, password = http_import.create_admin(
            args.binary, data_dir, lambda **more: rb.clean_env(**settings, **more),
            os.path.join(args.out_dir, "create-admin.log"))

        # 1. start-up without, then with, a persisted snapshot
        before = dir_files(data_dir)
        server, entry["startup_cold"] = start(args, data_dir, settings, f"server-{name}-1.log")
        log(f"{name}: first start (no snapshot): /readyz 200 after "
            f"{entry['startup_cold']['ready_s']:.2f} s (index loaded in "
            f"{entry['startup_cold']['index_load_s']} s), {fmt_int(entry['startup_cold']['count'])} "
            f"contacts, VmRSS {fmt_mib(entry['startup_cold']['memory']['VmRSS'])}")
        if entry["startup_cold"]["count"] != expected:
            log(f"{name}: the server counts {fmt_int(entry['startup_cold']['count'])} contacts, "
                f"the import reported {fmt_int(expected)}")
        entry["startup_cold"]["stop_s"] = stop(server)
        server = None
        after = dir_files(data_dir)
        entry["persisted"] = {path: size for path, size in after.items()
                              if path not in before and not path.startswith("uploads/")}
        log(f"{name}: stopped in {entry['startup_cold']['stop_s']:.2f} s; files the first start "
            f"left in CONTACTS_DATA_DIR: {fmt_files(entry['persisted'])}")
        server, entry["startup_warm"] = start(args, data_dir, settings, f"server-{name}-2.log")
        log(f"{name}: second start: /readyz 200 after {entry['startup_warm']['ready_s']:.2f} s "
            f"(index loaded in {entry['startup_warm']['index_load_s']} s), VmRSS "
            f"{fmt_mib(entry['startup_warm']['memory']['VmRSS'])}")
        entry["memory_after_startup"] = entry["startup_warm"]["memory"]

        # 2-3. the query mix, cache off; memory
        log(f"{name}: query mix Q1-Q16, response cache off")
        entry["queries"] = rb.run_query_mix(args, server.port)
        entry["memory_after_mix"] = memory(server)
        log(f"{name}: after the mix VmRSS {fmt_mib(entry['memory_after_mix']['VmRSS'])}, "
            f"VmHWM {fmt_mib(entry['memory_after_mix']['VmHWM'])}")

        # 4. freshness
        token = http_import.get_token(server.port, username, password)
        entry["freshness"] = measure_freshness(args, server.port, server.port, token,
                                               files["fresh"], "freshness")
        if store == "postgresql" and not args.skip_fleet:
            try:
                entry["freshness_fleet"] = measure_fleet_freshness(
                    args, server, data_dir, settings, token, files["fleet"], name)
            except rb.ERRORS as e:
                entry["freshness_fleet"] = {"error": str(e)}
                log(f"{name}: freshness via a second instance: {e}")

        # 5. updates by another process, and the compaction after them
        entry["hwm_before_writes"] = memory(server)["VmHWM"]
        updates = first_rows(args, files["base"], write_rows(args, rows))
        log(f"{name}: Q1 while another process imports {write_rows(args, rows):,} rows of the "
            "store's own file (updates), then the compaction")
        entry["updates_elsewhere"] = updates_by_another_process(
            args, server, env, updates, steady_rss(entry), f"import-updates-{name}.log",
            data_dir, settings)
        # 6. reads during writes by the server, from the steady state again: the compaction
        # left a new base, whose pages the queries have not touched yet
        entry["memory_rewarmed"] = rewarm(args, server)
        log(f"{name}: Q1 during an HTTP import of {write_rows(args, rows):,} new rows")
        reset_hwm(server)
        entry["during_writes"] = reads_during_writes(args, server, token, files["writes"])
        # 7. the compaction that import calls for
        entry["compaction"] = compaction_after_writes(
            args, server, entry["memory_rewarmed"]["VmRSS"] or steady_rss(entry))
        entry["memory_end"] = memory(server)
    except rb.ERRORS as e:
        entry["error"] = str(e)
        log(f"{name}: {e}")
    finally:
        if server is not None:
            if "memory_end" not in entry:
                entry["memory_end"] = memory(server)
            stop(server)
        if not args.keep_stores:
            shutil.rmtree(data_dir, ignore_errors=True)
            if db_url:
                try:
                    drop_database(args, db_url)
                except rb.ERRORS as e:
                    log(f"{name}: dropping the database: {e}")
    return entry


# ---------------------------------------------------------------- report

def fmt_int(value):
    return f"{value:,}" if isinstance(value, int) else str(value)


def fmt_mib(value):
    return "-" if value is None else f"{value / MIB:,.0f} MiB"


def fmt_s(value):
    return "-" if value is None else f"{value:.2f} s" if value < 100 else f"{value:.0f} s"


def fmt_files(files):
    if not files:
        return "none"
    return ", ".join(f"{path} ({size / MIB:,.1f} MiB)" for path, size in sorted(files.items()))


def target_set(rows):
    return "1M" if rows <= 1_000_000 else "10M"


def steady_rss(entry):
    values = [(entry.get(k) or {}).get("VmRSS") for k in ("memory_after_startup",
                                                           "memory_after_mix")]
    values = [v for v in values if v is not None]
    return max(values) if values else None


def high_water(entry):
    """The highest VmHWM of the run (steps 5 and 6 reset it: each phase's is kept)."""
    values = [(entry.get(k) or {}).get("VmHWM") for k in ("memory_after_mix", "memory_end")]
    values += [entry.get("hwm_before_writes"),
               ((entry.get("updates_elsewhere") or {}).get("compaction") or {}).get("VmHWM_after"),
               (entry.get("during_writes") or {}).get("VmHWM_after"),
               (entry.get("compaction") or {}).get("VmHWM_after")]
    values = [v for v in values if v is not None]
    return max(values) if values else None


def judge(value, limit):
    return None if value is None or limit is None else value <= limit


def target_rows(entry):
    """(target text, passed or None) of issue 11 for one measured entry."""
    t = TARGETS[target_set(entry["rows"])]
    queries = entry.get("queries") or []
    p99s = [q.get("p99_ms") for q in queries]
    worst = max(((p, q["id"]) for p, q in zip(p99s, queries) if p is not None), default=None)
    # a query of the mix that was not measured (an error) fails the row
    all_p99 = None if worst is None else worst[0] <= t["p99_ms"] and None not in p99s
    q1w = ((entry.get("during_writes") or {}).get("q1") or {}).get("p99_ms")
    compaction = entry.get("compaction") or {}
    elsewhere = (entry.get("updates_elsewhere") or {}).get("compaction") or {}
    q1c = max((v for v in ((compaction.get("q1") or {}).get("p99_ms"),
                           (elsewhere.get("q1") or {}).get("p99_ms")) if v is not None),
              default=None)
    fresh = (entry.get("freshness") or {}).get("completed_to_readable_ms")
    fleet = (entry.get("freshness_fleet") or {}).get("completed_to_readable_ms")
    fresh_all = max(v for v in (fresh, fleet) if v is not None) if fresh is not None else None
    return [
        ((entry.get("startup_warm") or {}).get("ready_s"), t["startup_warm_s"], fmt_s),
        ((entry.get("startup_cold") or {}).get("ready_s"), t["startup_cold_s"], fmt_s),
        (worst[0] if worst else None, t["p99_ms"],
         lambda v: f"{fmt_ms(v)} ms ({worst[1]})", all_p99),
        (steady_rss(entry), t["rss_bytes"], fmt_mib),
        (high_water(entry), t["hwm_bytes"], fmt_mib),
        (fresh_all, t["fresh_ms"], lambda v: f"{v:,.0f} ms"),
        (q1w, t["q1_writes_p99_ms"], lambda v: f"{fmt_ms(v)} ms"),
        (q1c, t["q1_writes_p99_ms"], lambda v: f"{fmt_ms(v)} ms"),
        (elsewhere.get("hwm_over_steady"), 1.25, lambda v: f"{v:.2f}×"),
        (compaction.get("hwm_over_steady"), None, lambda v: f"{v:.2f}×"),
    ]


TARGET_LABELS = [
    "start-up to /readyz with snapshot: ≤ 1 s (1M), ≤ 5 s (10M)",
    "start-up without snapshot: ≤ 90 s (10M)",
    "worst Q1–Q16 p99: ≤ 20 ms (1M), ≤ 100 ms (10M)",
    "RSS steady: ≤ 1 GiB (1M), ≤ 3 GiB (10M)",
    "high-water mark: ≤ 1 GiB (1M), ≤ 3.75 GiB (10M)",
    "1,000-row import `completed` → readable (every instance): ≤ 1 s",
    "Q1 p99 during an import: ≤ 20 ms",
    "Q1 p99 during the compactions after them: ≤ 20 ms",
    "VmHWM during refreshes + compaction (updates imported by another process) over RSS "
    "steady: ≤ 1.25×",
    "same, with the import job in the server (its write cache and batches included)",
]


def target_cell(row):
    value, limit, fmt = row[:3]
    passed = row[3] if len(row) > 3 else judge(value, limit)
    if value is None:
        return "-"
    return f"{fmt(value)}: {verdict(passed)}" if limit is not None else f"{fmt(value)} (no target)"


def measure_rows(entry):
    """(label, cell) of the figures table for one entry."""
    imp = entry.get("import") or {}
    cold, warm = entry.get("startup_cold") or {}, entry.get("startup_warm") or {}
    mem_s, mem_m = entry.get("memory_after_startup") or {}, entry.get("memory_after_mix") or {}
    fresh, fleet = entry.get("freshness") or {}, entry.get("freshness_fleet")
    writes = entry.get("during_writes") or {}
    q1 = writes.get("q1") or {}
    rows = [
        ("CLI import", f"{fmt_s(imp.get('seconds'))}, {imp.get('rows_per_s') or 0:,} rows/s, "
         + (f"PostgreSQL cluster (primary + replica) {imp['pg_cluster_bytes'] / GB:.2f} GB; "
            f"search index of SQL reads after it (`migrate`) {fmt_s(imp.get('search_index_s'))}"
            if "pg_cluster_bytes" in imp else f"data dir {imp.get('data_dir_bytes', 0) / GB:.2f} GB")
         if imp else "-"),
        ("start-up without snapshot (/readyz 200)", startup_cell(cold)),
        ("start-up with snapshot (/readyz 200)", startup_cell(warm)),
        ("files the first start left", fmt_files(entry.get("persisted"))
         if "persisted" in entry else "-"),
        ("VmRSS after start-up / after the mix", f"{fmt_mib(mem_s.get('VmRSS'))} / "
         f"{fmt_mib(mem_m.get('VmRSS'))}" if mem_m else "-"),
        ("VmHWM after the mix", fmt_mib(mem_m.get("VmHWM"))),
    ]
    for q in entry.get("queries") or []:
        cell = (f"{fmt_ms(q.get('p50_ms'))} / {fmt_ms(q.get('p99_ms'))}" if q.get("requests")
                else q.get("sanity") or "-")
        rows.append((f"{q['id']} p50 / p99 ms", cell))
    if not entry.get("queries"):
        rows.append(("Q1–Q16 p50 / p99 ms", "-"))
    rows.append((f"{fresh.get('rows') or 0:,}-row import: `completed` → readable",
                 fresh_cell(fresh)))
    rows.append(("same, uploaded to a second instance, read on the first (PostgreSQL)",
                 "-" if fleet is None else fleet.get("error") or fresh_cell(fleet)))
    u = entry.get("updates_elsewhere") or {}
    uc = u.get("compaction") or {}
    rows.append(("updates by another process (CLI import of the file's first rows): time, Q1 "
                 "p99, peak VmRSS", f"{fmt_s(u.get('import_s'))}, "
                 f"{fmt_ms((u.get('q1') or {}).get('p99_ms'))} ms, "
                 f"{fmt_mib((u.get('memory') or {}).get('peak_rss_bytes'))}" if u else "-"))
    rows.append(("compaction after them: parts, time, Q1 p99, peak VmRSS / VmHWM since step 5 "
                 "(× RSS steady)",
                 f"{uc.get('parts_at_start')} → {uc.get('parts_at_end')} in "
                 f"{fmt_s(uc.get('seconds'))}, {fmt_ms((uc.get('q1') or {}).get('p99_ms'))} ms, "
                 f"{fmt_mib((uc.get('memory') or {}).get('peak_rss_bytes'))} / "
                 f"{fmt_mib(uc.get('VmHWM_after'))} ({uc.get('hwm_over_steady')}×)"
                 if uc else "-"))
    rows.append((f"Q1 p50 / p99 ms during an HTTP import of {writes.get('total_rows') or 0:,} "
                 "rows", f"{fmt_ms(q1.get('p50_ms'))} / {fmt_ms(q1.get('p99_ms'))} "
                 f"({q1.get('requests') or 0:,} requests, {q1.get('runs') or 0} run"
                 f"{'' if q1.get('runs') == 1 else 's'}; job "
                 f"{writes.get('total_s')} s)" if writes else "-"))
    rows.append(("peak VmRSS during that import / VmHWM since it started", f"{fmt_mib((writes.get('memory') or {}).get('peak_rss_bytes'))} / {fmt_mib(writes.get('VmHWM_after'))}"
                 if writes else "-"))
    c = entry.get("compaction") or {}
    cq = c.get("q1") or {}
    rows.append(("compaction after that import: index parts, time",
                 f"{c.get('parts_at_start')} → {c.get('parts_at_end')} in "
                 f"{fmt_s(c.get('seconds'))} ({c.get('compactions_total')} compactions so far)"
                 if c else "-"))
    rows.append(("Q1 p50 / p99 / max ms during the compaction",
                 f"{fmt_ms(cq.get('p50_ms'))} / {fmt_ms(cq.get('p99_ms'))} / "
                 f"{fmt_ms(cq.get('max_ms'))} ({cq.get('requests') or 0:,} requests)"
                 if c else "-"))
    rows.append(("VmRSS after the mix again (20 requests a query), before that import",
                 fmt_mib((entry.get("memory_rewarmed") or {}).get("VmRSS"))))
    rows.append(("peak VmRSS during the compaction / VmHWM since the import (× that VmRSS)",
                 f"{fmt_mib((c.get('memory') or {}).get('peak_rss_bytes'))} / "
                 f"{fmt_mib(c.get('VmHWM_after'))} ({c.get('hwm_over_steady')}×)" if c else "-"))
    return rows


def startup_cell(s):
    if not s:
        return "-"
    return (f"{fmt_s(s.get('ready_s'))} (index loaded in {fmt_s(s.get('index_load_s'))}, "
            f"VmRSS {fmt_mib((s.get('memory') or {}).get('VmRSS'))})")


def fresh_cell(f):
    if not f or f.get("completed_to_readable_ms") is None:
        return "-"
    before = f.get("readable_before_completed_ms")
    return (f"{f['completed_to_readable_ms']:,.1f} ms (upload → `completed` "
            f"{fmt_s(f.get('upload_to_completed_s'))}; job finished_at → `completed` "
            f"{f.get('finished_to_completed_ms')} ms"
            + (f"; readable {before:,.0f} ms before `completed`" if before is not None else "")
            + ")")


def markdown(results):
    entries = [results["runs"][k] for k in results["order"] if k in results["runs"]]
    m = results["machine"]
    out = [f"#### contacts-api scale benchmark, {', '.join(f'{r:,}' for r in results['rows'])} "
           "rows", "",
           f"Machine: {m['nproc']} × {m['cpu_model']}, {m['memory']} RAM, Linux {m['kernel']}; "
           f"commit `{m['commit']}`; {m['date']}. Response cache off "
           f"(`CONTACTS_CACHE_ENABLED=false`); data `generate --seed {results['seed']}`.", ""]
    if not entries:
        return "\n".join(out + ["Nothing was measured.", ""])
    heads = [f"{e['store']} {e['rows']:,}" for e in entries]
    table = [f"| measure | {' | '.join(heads)} |", "|---|" + "---|" * len(heads)]
    columns = [measure_rows(e) for e in entries]
    labels = []
    for col in columns:
        labels += [label for label, _ in col if label not in labels]
    for label in labels:
        cells = [dict(col).get(label, "-") for col in columns]
        table.append(f"| {label} | {' | '.join(cells)} |")
    out += table + ["", "Issue 11 targets (sizes up to 1M judged on the 1M figures, larger "
                    "ones on the 10M figures):", ""]
    table = [f"| target | {' | '.join(heads)} |", "|---|" + "---|" * len(heads)]
    judged = [target_rows(e) for e in entries]
    for i, label in enumerate(TARGET_LABELS):
        table.append(f"| {label} | {' | '.join(target_cell(j[i]) for j in judged)} |")
    out += table + [""]
    errors = [f"{e['store']} {e['rows']:,}: {e['error']}" for e in entries if e.get("error")]
    errors += results.get("errors") or []
    if errors:
        out += ["Errors:", ""] + [f"- {e}" for e in errors] + [""]
    return "\n".join(out)


# ---------------------------------------------------------------- main

def main():
    args = parse_args()
    rb.prepare_run(args, "run_scale")
    try:
        need = plan_disk(args)
        free = check_disk(need, f"this run ({', '.join(f'{r:,}' for r in args.rows)} rows on "
                          f"{', '.join(args.stores)})", args.out_dir)
    except DiskSpaceError as e:
        sys.exit(f"run_scale: refused: {e}")
    log(f"run_scale: {', '.join(f'{r:,}' for r in args.rows)} rows on "
        f"{', '.join(args.stores)}; about {gb(need)} of disk needed at the peak, {gb(free)} "
        f"free; output in {args.out_dir}")
    results = {"rows": args.rows, "seed": args.seed, "stores": args.stores,
               "machine": rb.machine_info(), "files": {}, "order": [], "runs": {},
               "errors": []}
    cluster = rb.PgCluster(args) if "postgresql" in args.stores else None
    try:
        for rows in args.rows:
            log(f"\n== {rows:,} rows")
            try:
                files = {}
                for key, n, seed in planned_files(args, rows):
                    files[key], info = ensure_file(args, n, seed)
                    results["files"][os.path.basename(files[key])] = info
            except rb.ERRORS as e:
                results["errors"].append(f"{rows:,} rows: generate: {e}")
                log(f"run_scale: {e}")
                continue
            for store in args.stores:
                key = f"{store}-{rows}"
                log(f"\n== {store}, {rows:,} rows")
                results["order"].append(key)
                results["runs"][key] = measure(args, store, rows, files, cluster)
                rb.write_json(os.path.join(args.out_dir, "results.json"), results)
    except rb.ERRORS as e:
        results["errors"].append(str(e))
        log(f"run_scale: {e}")
    finally:
        if cluster is not None:
            cluster.stop()
    results["total_seconds"] = round(time.monotonic() - T0, 1)
    report = markdown(results)
    with open(os.path.join(args.out_dir, "results.md"), "w") as f:
        f.write(report)
    rb.write_json(os.path.join(args.out_dir, "results.json"), results)
    print("\n" + report, flush=True)
    log(f"Written to {os.path.join(args.out_dir, 'results.md')} and results.json "
        f"({results['total_seconds']:.0f} s in all).")
    failed = results["errors"] or any(e.get("error") for e in results["runs"].values())
    return 2 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
