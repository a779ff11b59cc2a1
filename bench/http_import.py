"""HTTP import phase of the benchmark (see run_bench.py and docs/benchmarks.md).

1. The same CSV as the CLI import, uploaded to `POST /api/contacts/import/` of a server
   on a fresh data directory (one import worker, cache off), then the job polled every
   200 ms until it is completed or failed; Q1 and Q3 are measured while the job runs and
   the server's VmRSS is sampled every 100 ms.
2. A memory check: a ~1 GiB CSV uploaded to a server without import workers, VmRSS
   sampled during the upload.

Python 3 standard library only. The upload is streamed from disk in 1 MiB chunks with
the multipart framing computed up front; the file is never read into memory.
"""
import http.client
import json
import os
import secrets
import shutil
import subprocess
import threading
import time
import urllib.error
import urllib.request

CHUNK = 1024 * 1024
MIB = 1024 * 1024
IMPORT_PATH = "/api/contacts/import/"
# (id, path) measured while the job runs: the two cheapest list queries of the mix, whose
# p99 shows what an import costs the readers.
DURING_IMPORT_QUERIES = [("Q1", "/api/contacts/"),
                         ("Q3", "/api/contacts/?title=manager&email_status=Verified")]
DURING_IMPORT_TARGET_MS = 100
HTTP_IMPORT_TARGET_S_PER_1M = 60
HTTP_IMPORT_TARGET_ROWS_PER_S = 20_000
UPLOAD_RSS_TARGET_BYTES = 300 * MIB


class RssSampler:
    """Samples VmRSS of a PID every `interval` seconds on a daemon thread."""

    def __init__(self, pid, interval=0.1):
        self.pid, self.interval = pid, interval
        self.peak, self.peak_at, self.samples, self.first = None, None, 0, None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._started = None

    def __enter__(self):
        self._started = time.monotonic()
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def stop(self):
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def _run(self):
        while True:
            rss = proc_status(self.pid).get("VmRSS")
            if rss is not None:
                self.samples += 1
                if self.first is None:
                    self.first = rss
                if self.peak is None or rss > self.peak:
                    self.peak, self.peak_at = rss, time.monotonic() - self._started
            if self._stop.wait(self.interval):
                return

    def result(self):
        return {"peak_rss_bytes": self.peak, "first_rss_bytes": self.first,
                "peak_at_s": None if self.peak_at is None else round(self.peak_at, 2),
                "samples": self.samples, "interval_s": self.interval}


def proc_status(pid):
    """VmRSS and VmHWM of a process in bytes ({} once it is gone)."""
    values = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                key, _, rest = line.partition(":")
                if key in ("VmHWM", "VmRSS"):
                    values[key] = int(rest.split()[0]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return values


# ---------------------------------------------------------------- HTTP helpers

def request_json(port, method, path, body=None, headers=None, timeout=60):
    """Returns (status, parsed JSON or None)."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data, method=method,
                                 headers=dict(headers or {}))
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            status, raw = resp.status, resp.read()
    except urllib.error.HTTPError as e:
        status, raw = e.code, e.read()
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, None


def create_admin(binary, data_dir, env_factory, log_path):
    """Creates an admin with a random password; returns (username, password)."""
    username, password = "bench-admin", secrets.token_urlsafe(18)
    with open(log_path, "a") as out:
        proc = subprocess.run([binary, "create-admin", "--username", username],
                              env=env_factory(CONTACTS_DATA_DIR=data_dir,
                                              CONTACTS_PASSWORD=password),
                              stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                              timeout=120)
    if proc.returncode != 0:
        raise RuntimeError(f"create-admin exited {proc.returncode}; see {log_path}")
    return username, password


def get_token(port, username, password):
    status, body = request_json(port, "POST", "/api/auth/token/",
                                {"username": username, "password": password})
    if status != 200 or not isinstance(body, dict) or not body.get("access"):
        raise RuntimeError(f"POST /api/auth/token/ answered {status}: {json.dumps(body)[:200]}")
    return body["access"]


def upload_file(port, token, path, filename="contacts.csv", timeout=1800):
    """Streams `path` as multipart field `file`. Returns a dict with status, body, timings."""
    size = os.path.getsize(path)
    boundary = "contacts-bench-" + secrets.token_hex(12)
    preamble = (f"--{boundary}\r\n"
                f"Content-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\n"
                "Content-Type: text/csv\r\n\r\n").encode()
    epilogue = f"\r\n--{boundary}--\r\n".encode()
    length = len(preamble) + size + len(epilogue)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    send_error = None
    start = time.monotonic()
    sent_s = None
    try:
        conn.putrequest("POST", IMPORT_PATH, skip_accept_encoding=True)
        conn.putheader("Authorization", f"Bearer {token}")
        conn.putheader("Content-Type", f"multipart/form-data; boundary={boundary}")
        conn.putheader("Content-Length", str(length))
        conn.putheader("Accept", "application/json")
        conn.endheaders()
        try:
            conn.send(preamble)
            with open(path, "rb") as f:
                while True:
                    chunk = f.read(CHUNK)
                    if not chunk:
                        break
                    conn.send(chunk)
            conn.send(epilogue)
        except (BrokenPipeError, ConnectionResetError) as e:
            send_error = f"{type(e).__name__} while sending"  # the server may have answered
        sent_s = time.monotonic() - start
        resp = conn.getresponse()
        raw = resp.read()
        status = resp.status
    except (OSError, http.client.HTTPException) as e:
        raise RuntimeError(f"upload of {path} failed: {send_error or ''} {e}".strip())
    finally:
        conn.close()
    seconds = time.monotonic() - start
    try:
        body = json.loads(raw)
    except ValueError:
        body = raw[:200].decode(errors="replace")
    return {"status": status, "body": body, "seconds": seconds, "sent_s": sent_s,
            "file_bytes": size, "body_bytes": length, "send_error": send_error}


class JobPoller:
    """Polls GET /api/contacts/import/<id>/ every `interval` s on a daemon thread."""

    TERMINAL = ("completed", "failed")

    def __init__(self, port, token, job_id, t0, interval=0.2):
        self.port, self.job_id, self.t0, self.interval = port, job_id, t0, interval
        self.headers = {"Authorization": f"Bearer {token}"}
        self.last, self.polls, self.errors = None, 0, 0
        self.first_seen = {}  # status -> seconds since t0
        self.done = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self._stop.set()
        self._thread.join(timeout=10)

    @property
    def status(self):
        return (self.last or {}).get("status")

    def _run(self):
        path = f"{IMPORT_PATH}{self.job_id}/"
        while not self._stop.is_set():
            try:
                code, body = request_json(self.port, "GET", path, headers=self.headers,
                                          timeout=30)
            except (OSError, urllib.error.URLError):
                code, body = None, None
            now = time.monotonic() - self.t0
            self.polls += 1
            if code == 200 and isinstance(body, dict):
                self.last = body
                self.first_seen.setdefault(body.get("status"), now)
                if body.get("status") in self.TERMINAL:
                    self.done.set()
                    return
            else:
                self.errors += 1
            self._stop.wait(self.interval)


# ---------------------------------------------------------------- the phases

def aggregate_runs(runs, qid, path, skipped=False):
    """One entry from several contacts-bench runs of the same query: summed counts, the
    request-weighted mean of the runs' p50s and the highest of their p99s (an upper bound
    of the p99 over all requests). A run that spent more than half its time after the job
    completed is kept in `runs` but left out of the figures."""
    measured = [r for r in runs if r.get("requests")
                and r.get("after_completion_s", 0) <= 0.5 * r.get("duration_s", 0)]
    left_out = sum(1 for r in runs if r.get("requests")) - len(measured)
    requests = sum(r["requests"] for r in measured)
    entry = {"id": f"{qid} during import", "paths": [path], "runs": runs,
             "target_p99_ms": DURING_IMPORT_TARGET_MS, "requests": requests,
             "errors": sum(r.get("errors", 0) for r in measured),
             "non_2xx": sum(r.get("non_2xx", 0) for r in measured)}
    p50s = [(r["p50_ms"], r["requests"]) for r in measured if r.get("p50_ms") is not None]
    p99s = [r["p99_ms"] for r in measured if r.get("p99_ms") is not None]
    entry["p50_ms"] = round(sum(p * n for p, n in p50s) / sum(n for _, n in p50s), 3) \
        if p50s else None
    entry["p99_ms"] = max(p99s) if p99s else None
    entry["max_ms"] = max((r.get("max_ms") or 0) for r in measured) if measured else None
    seconds = sum(r.get("duration_s", 0) for r in measured)
    after = sum(r.get("after_completion_s", 0) for r in measured)
    entry["description"] = "while the HTTP import job runs, one client"
    if skipped:
        entry.update(passed=None, sanity="not measured (--during-import-seconds 0)")
        return entry
    if not measured:
        entry.update(passed=None, sanity="not measured: the job was not seen running"
                     + (" for long enough" if left_out else ""))
        return entry
    entry["passed"] = bool(entry["p99_ms"] is not None and entry["p99_ms"] < DURING_IMPORT_TARGET_MS
                           and entry["errors"] == 0 and entry["non_2xx"] == 0)
    entry["sanity"] = (f"{len(measured)} run{'s' if len(measured) != 1 else ''}, {seconds:.0f} s"
                       + (f" ({after:.1f} s after the job completed)" if after >= 0.05 else "")
                       + (f", {left_out} run mostly after it left out" if left_out else "")
                       + visible_range(measured)
                       + "; p99 = highest run p99")
    return entry


def visible_range(runs):
    seen = [r["visible_contacts"] for r in runs if isinstance(r.get("visible_contacts"), int)]
    if not seen:
        return ""
    return (f"; {min(seen):,}-{max(seen):,} contacts visible at the runs' starts"
            if min(seen) != max(seen) else f"; {seen[0]:,} contacts visible")


def queries_during_job(loadgen, port, poller, seconds, timeout_at, log, label="http-import",
                       queries=DURING_IMPORT_QUERIES):
    """Alternates `queries` (id, path), by default Q1 and Q3 (contacts-bench, one client,
    `seconds` each) while the job is seen running (none when `seconds` is 0). Returns
    {qid: [run results]}."""
    runs = {qid: [] for qid, _ in queries}
    turn = 0
    while seconds > 0 and not poller.done.is_set() and time.monotonic() < timeout_at:
        if poller.status != "running":
            poller.done.wait(0.05)
            continue
        qid, path = queries[turn % len(queries)]
        turn += 1
        # How many contacts the readers see (the store starts empty and fills as it runs).
        _, count_body = request_json(port, "GET", "/api/contacts/count/", timeout=30)
        visible = (count_body or {}).get("count") if isinstance(count_body, dict) else None
        started = time.monotonic()
        result = loadgen(port, [path], duration=seconds)
        ended = time.monotonic()
        done_at = poller.first_seen.get("completed") or poller.first_seen.get("failed")
        after = 0.0
        if done_at is not None:
            after = max(0.0, ended - max(poller.t0 + done_at, started))
        result["after_completion_s"] = round(after, 2)
        result["visible_contacts"] = visible
        result["started_s"] = round(started - poller.t0, 2)
        runs[qid].append(result)
        log(f"{label}: {qid} during the job: {result['requests']} requests, "
            f"p50 {result.get('p50_ms')} ms, p99 {result.get('p99_ms')} ms"
            + (f" ({after:.1f} s after completion)" if after >= 0.05 else "")
            + (f"; {visible:,} contacts visible at its start" if isinstance(visible, int) else ""))
    return runs


def import_pass(ctx, server, token, csv_path, query_seconds, label,
                queries=DURING_IMPORT_QUERIES):
    """Uploads `csv_path`, runs the readers (`queries`, if `query_seconds`) while the job
    runs, and waits for the job. Returns the figures of this pass."""
    log = ctx["log"]
    out = {}
    poller = None
    try:
        with RssSampler(server.proc.pid) as sampler:
            t0 = time.monotonic()
            up = upload_file(server.port, token, csv_path, timeout=ctx["job_timeout"])
            out.update(upload_s=round(up["seconds"], 3), upload_status=up["status"],
                       upload_body=up["body"], upload_mb_per_s=round(
                           up["body_bytes"] / 1e6 / up["seconds"], 1) if up["seconds"] else None)
            if up["status"] != 201 or not isinstance(up["body"], dict) \
                    or "job_id" not in up["body"]:
                raise RuntimeError(f"upload answered {up['status']}: {str(up['body'])[:300]}"
                                   + (f" ({up['send_error']})" if up["send_error"] else ""))
            job_id = up["body"]["job_id"]
            out["job_id"] = job_id
            log(f"{label}: upload {up['seconds']:.1f} s "
                f"({out['upload_mb_per_s']} MB/s), job {job_id}")
            poller = JobPoller(server.port, token, job_id, t0).start()
            deadline = t0 + ctx["job_timeout"]
            runs = queries_during_job(ctx["loadgen"], server.port, poller, query_seconds,
                                      deadline, log, label, queries)
            poller.done.wait(max(0.0, deadline - time.monotonic()))
            poller.stop()
        out["memory"] = dict(sampler.result(), **{
            "VmHWM": proc_status(server.proc.pid).get("VmHWM")})
        job = poller.last or {}
        done_at = poller.first_seen.get("completed") or poller.first_seen.get("failed")
        total_rows = job.get("total_rows")
        out.update(
            status=job.get("status") if poller.done.is_set() else
            f"{job.get('status')} (timed out after {ctx['job_timeout']:.0f} s)",
            total_s=None if done_at is None else round(done_at, 2),
            running_seen_s=None if poller.first_seen.get("running") is None
            else round(poller.first_seen["running"], 2),
            total_rows=total_rows, success_count=job.get("success_count"),
            error_count=job.get("error_count"), message=job.get("message"),
            polls=poller.polls, poll_errors=poller.errors,
            job_started_at=job.get("started_at"), job_finished_at=job.get("finished_at"))
        if done_at and isinstance(total_rows, int):
            out["rows_per_s"] = round(total_rows / done_at)
        _, count_body = request_json(server.port, "GET", "/api/contacts/count/")
        out["count_after"] = (count_body or {}).get("count")
        out["queries"] = [aggregate_runs(runs[qid], qid, path, query_seconds <= 0)
                          for qid, path in queries]
        log(f"{label}: job {out['status']} after {out['total_s']} s; "
            f"{total_rows} rows, {out.get('rows_per_s')} rows/s, peak VmRSS "
            f"{(out['memory']['peak_rss_bytes'] or 0) / MIB:.0f} MiB")
        return out
    finally:
        if poller is not None:
            poller.stop()


def run_http_import(ctx, csv_path, rows, result):
    """The HTTP import of `csv_path` into a fresh server, then the same file again (every row
    an update) with Q1/Q3 measured while that second job runs, so the readers query a full
    store. Figures go into `result` (also when it raises): the first pass at the top level,
    the second under "reimport", and the readers' figures in "queries". `ctx` supplies
    binary, out_dir, server_factory(data_dir, log_path, workers), env_factory,
    loadgen(port, paths, duration), log, ready_timeout, job_timeout, query_seconds, and
    optionally tag, appended to the names of the data directory and the server log
    (`data-http<tag>`, `server-http<tag>.log`) so that runs on other stores keep apart."""
    log = ctx["log"]
    tag = ctx.get("tag", "")
    data_dir = os.path.join(ctx["out_dir"], "data-http" + tag)
    shutil.rmtree(data_dir, ignore_errors=True)
    os.makedirs(data_dir)
    log_path = os.path.join(ctx["out_dir"], f"server-http{tag}.log")
    username, password = create_admin(ctx["binary"], data_dir, ctx["env_factory"],
                                      os.path.join(ctx["out_dir"], "create-admin.log"))
    result.update(rows=rows, csv=os.path.basename(csv_path),
                  csv_bytes=os.path.getsize(csv_path), workers=1)
    server = ctx["server_factory"](data_dir, log_path, workers=1)
    try:
        server.wait_ready(0, ctx["ready_timeout"])
        token = get_token(server.port, username, password)
        result["idle_rss_bytes"] = proc_status(server.proc.pid).get("VmRSS")
        log(f"http-import{tag}: uploading {csv_path} ({result['csv_bytes']:,} bytes) "
            f"to port {server.port}")
        first = import_pass(ctx, server, token, csv_path, 0, "http-import" + tag)
        first.pop("queries", None)
        result.update(first)
        log(f"http-import{tag}: the same file again, with readers on the full store")
        token = get_token(server.port, username, password)
        second = import_pass(ctx, server, token, csv_path, ctx["query_seconds"],
                             "http-reimport" + tag)
        result["queries"] = second.pop("queries")
        result["reimport"] = second
        return result
    finally:
        server.stop()


def ensure_big_csv(source, out_dir, target_bytes, log):
    """A CSV of at least `target_bytes`: the header of `source` once, then its data rows
    over and over, cut at a record end (quote parity even). Written once and reused."""
    path = os.path.join(out_dir, "contacts_1gib.csv" if target_bytes == 1024 * MIB
                        else f"contacts_{target_bytes // MIB}mib.csv")
    marker_path = path + ".json"
    src_bytes = os.path.getsize(source)
    wanted = {"source": os.path.basename(source), "source_bytes": src_bytes,
              "target_bytes": target_bytes}
    try:
        with open(marker_path) as f:
            marker = json.load(f)
    except (OSError, ValueError):
        marker = None
    if (marker and all(marker.get(k) == v for k, v in wanted.items())
            and os.path.exists(path) and os.path.getsize(path) == marker.get("bytes")):
        log(f"upload-memory: reusing {path} ({marker['bytes']:,} bytes)")
        return path, marker
    log(f"upload-memory: writing {path} (>= {target_bytes:,} bytes from {source})")
    tmp = path + ".tmp"
    written, passes, quotes = 0, 0, 0
    with open(source, "rb") as src, open(tmp, "wb") as out:
        header = src.readline()
        if not header.endswith(b"\n"):
            raise RuntimeError(f"{source} has no data rows")
        data_start = src.tell()
        out.write(header)
        written = len(header)
        finished = False
        while not finished:
            src.seek(data_start)
            passes += 1
            pass_bytes = 0
            last = b"\n"
            while not finished:
                chunk = src.read(CHUNK)
                if not chunk:
                    break
                pass_bytes += len(chunk)
                last = chunk[-1:]
                if written + len(chunk) >= target_bytes:
                    # the first newline at or after the target that ends a record
                    pos = chunk.find(b"\n", max(0, target_bytes - written - 1))
                    while pos != -1 and (quotes + chunk.count(b'"', 0, pos)) % 2:
                        pos = chunk.find(b"\n", pos + 1)
                    if pos != -1:
                        chunk = chunk[:pos + 1]
                        finished = True
                quotes += chunk.count(b'"')
                out.write(chunk)
                written += len(chunk)
            if pass_bytes == 0:
                raise RuntimeError(f"{source} has no data rows")
            if not finished and last != b"\n":
                out.write(b"\n")
                written += 1
    os.replace(tmp, path)
    marker = dict(wanted, bytes=os.path.getsize(path), passes=passes)
    with open(marker_path, "w") as f:
        json.dump(marker, f, indent=2)
        f.write("\n")
    log(f"upload-memory: {marker['bytes']:,} bytes ({passes} passes over the data rows)")
    return path, marker


def run_upload_memory(ctx, source_csv, target_bytes, result):
    """Uploads a ~target_bytes CSV to a server without import workers; VmRSS sampled.
    Figures go into `result` (also when it raises)."""
    log = ctx["log"]
    big_path, big = ensure_big_csv(source_csv, ctx["out_dir"], target_bytes, log)
    data_dir = os.path.join(ctx["out_dir"], "data-upload")
    shutil.rmtree(data_dir, ignore_errors=True)
    os.makedirs(data_dir)
    username, password = create_admin(ctx["binary"], data_dir, ctx["env_factory"],
                                      os.path.join(ctx["out_dir"], "create-admin.log"))
    server = ctx["server_factory"](data_dir, os.path.join(ctx["out_dir"], "server-upload.log"),
                                   workers=0)
    result.update(file=os.path.basename(big_path), file_bytes=big["bytes"], workers=0)
    try:
        server.wait_ready(0, ctx["ready_timeout"])
        token = get_token(server.port, username, password)
        result["idle_rss_bytes"] = proc_status(server.proc.pid).get("VmRSS")
        log(f"upload-memory: uploading {big['bytes']:,} bytes to port {server.port}")
        with RssSampler(server.proc.pid) as sampler:
            up = upload_file(server.port, token, big_path, timeout=ctx["job_timeout"])
        result.update(sampler.result(), upload_s=round(up["seconds"], 3),
                      upload_status=up["status"], upload_body=up["body"],
                      body_bytes=up["body_bytes"],
                      mb_per_s=round(up["body_bytes"] / 1e6 / up["seconds"], 1),
                      VmHWM=proc_status(server.proc.pid).get("VmHWM"))
        if up["status"] != 201:
            raise RuntimeError(f"upload of {big_path} answered {up['status']}: "
                               f"{str(up['body'])[:300]}"
                               + (f" ({up['send_error']})" if up["send_error"] else ""))
        peak = result["peak_rss_bytes"] or 0
        result["passed"] = peak < UPLOAD_RSS_TARGET_BYTES
        log(f"upload-memory: {up['seconds']:.1f} s, {result['mb_per_s']} MB/s, peak VmRSS "
            f"{peak / MIB:.0f} MiB (idle {(result['idle_rss_bytes'] or 0) / MIB:.0f} MiB)")
        return result
    finally:
        server.stop()
        shutil.rmtree(data_dir, ignore_errors=True)  # holds a copy of the upload
