#!/usr/bin/env python3
"""Crash loop (issue 14): HTTP imports with the server killed (SIGKILL) at a random moment of
each, restarted, and checked: no row lost, none duplicated, job counters exact, and the SQLite
database intact (PRAGMA integrity_check) after every kill.

    scripts/crash_loop.py --binary build/contacts-api [--imports 20] [--rows 100000]
                          [--workdir DIR] [--seed 7]

The reference is the same files imported by the CLI, without crashes, into a second data
directory: after each job the two stores must hold the same number of contacts, and at the end
the same contacts (their exports, ids and times aside, sorted by e-mail). Prints one line per
import and a summary; exit status 1 on the first difference.
"""
import argparse
import csv
import http.client
import io
import json
import os
import random
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time

ADMIN, PASSWORD = "crash-admin", "crash-loop-password"
BOUNDARY = "crashloopboundary7f3a"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, binary, data, port):
        self.binary, self.data, self.port, self.proc = binary, data, port, None

    def env(self):
        env = dict(os.environ)
        env.update({"CONTACTS_DATA_DIR": self.data, "CONTACTS_PORT": str(self.port),
                    "CONTACTS_SECRET_KEY": "crash-loop-secret-key-0123456789abcdef",
                    "CONTACTS_IMPORT_WORKERS": "1", "CONTACTS_IMPORT_LEASE_SECONDS": "2",
                    "CONTACTS_ACCESS_LOG": "false", "CONTACTS_CACHE_ENABLED": "false"})
        return env

    def start(self):
        log = open(os.path.join(self.data, "..", "server.log"), "ab")
        self.proc = subprocess.Popen([self.binary, "serve"], env=self.env(), stdout=log, stderr=log)
        deadline = time.time() + 120
        while time.time() < deadline:
            try:
                if self.request("GET", "/readyz")[0] == 200:
                    return
            except OSError:
                pass
            if self.proc.poll() is not None:
                raise SystemExit("server exited with %s" % self.proc.returncode)
            time.sleep(0.1)
        raise SystemExit("server not ready in 120 s")

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=60)

    def request(self, method, path, body=None, headers=None):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=600)
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        data = r.read()
        c.close()
        return r.status, data


def token(server):
    status, body = server.request("POST", "/api/auth/token/",
                                  json.dumps({"username": ADMIN, "password": PASSWORD}),
                                  {"Content-Type": "application/json"})
    if status != 200:
        raise SystemExit("login failed: %s %r" % (status, body[:200]))
    return json.loads(body)["access"]


def upload(server, path):
    with open(path, "rb") as f:
        content = f.read()
    head = ("--%s\r\nContent-Disposition: form-data; name=\"file\"; filename=\"%s\"\r\n"
            "Content-Type: text/csv\r\n\r\n" % (BOUNDARY, os.path.basename(path))).encode()
    body = head + content + ("\r\n--%s--\r\n" % BOUNDARY).encode()
    status, data = server.request("POST", "/api/contacts/import/", body, {
        "Authorization": "Bearer " + token(server),
        "Content-Type": "multipart/form-data; boundary=" + BOUNDARY})
    if status not in (200, 201, 202):
        raise SystemExit("upload failed: %s %r" % (status, data[:300]))
    return json.loads(data)["job_id"]


def job(server, job_id):
    status, body = server.request("GET", "/api/contacts/import/%d/" % job_id,
                                  headers={"Authorization": "Bearer " + token(server)})
    if status != 200:
        raise SystemExit("job %d: %s %r" % (job_id, status, body[:200]))
    return json.loads(body)


def count(server):
    status, body = server.request("GET", "/api/contacts/count/",
                                  headers={"Cache-Control": "no-cache"})
    return json.loads(body)["count"]


def integrity(data):
    db = sqlite3.connect("file:%s?mode=ro" % os.path.join(data, "contacts.db"), uri=True)
    try:
        return db.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        db.close()


def export_rows(server):
    status, body = server.request("GET", "/api/contacts/export/")
    if status != 200:
        raise SystemExit("export: %s" % status)
    rows = list(csv.reader(io.StringIO(body.decode("utf-8"), newline="")))
    header, rows = rows[0], rows[1:]
    keep = [i for i, h in enumerate(header) if h not in ("id", "created_at", "updated_at")]
    email = header.index("Email")
    return sorted(([r[i] for i in keep] for r in rows), key=lambda r: (r[email].lower(), r))


def data_rows(path):
    with open(path, newline="", encoding="utf-8", errors="replace") as f:
        return sum(1 for _ in csv.reader(f)) - 1


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--binary", required=True)
    ap.add_argument("--imports", type=int, default=20)
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--workdir", default="/tmp/contacts-crash-loop")
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    binary = os.path.abspath(args.binary)
    rng = random.Random(args.seed)
    shutil.rmtree(args.workdir, ignore_errors=True)
    crash_data = os.path.join(args.workdir, "crash", "data")
    ref_data = os.path.join(args.workdir, "reference", "data")
    for d in (crash_data, ref_data):
        os.makedirs(d)
    files = []
    for i in range(args.imports):  # different seeds: later files update earlier contacts
        path = os.path.join(args.workdir, "file%02d.csv" % i)
        subprocess.run([binary, "generate", "--rows", str(args.rows), "--seed",
                        str(args.seed * 1000 + i % 7), "--out", path], check=True,
                       capture_output=True)
        files.append(path)
    env = dict(os.environ, CONTACTS_DATA_DIR=crash_data, CONTACTS_PASSWORD=PASSWORD)
    subprocess.run([binary, "create-admin", "--username", ADMIN], env=env, check=True,
                   capture_output=True)
    server = Server(binary, crash_data, free_port())
    reference = Server(binary, ref_data, free_port())
    server.start()
    kills, mid_job, started = 0, 0, time.time()
    try:
        for i, path in enumerate(files):
            job_id = upload(server, path)
            delay = rng.uniform(0.0, 2.5)  # an HTTP import of 100k rows takes about 2-3 s
            time.sleep(delay)
            at_kill = job(server, job_id)
            server.kill()
            kills += 1
            check = integrity(crash_data)
            if check != "ok":
                raise SystemExit("after kill %d: integrity_check says %r" % (kills, check))
            server.start()
            deadline = time.time() + 600
            while True:
                j = job(server, job_id)
                if j["status"] in ("completed", "failed"):
                    break
                if time.time() > deadline:
                    raise SystemExit("job %d not finished in 600 s: %r" % (job_id, j))
                time.sleep(0.2)
            subprocess.run([binary, "import", path, "--errors",
                            os.path.join(args.workdir, "reference-errors.csv")],
                           env=dict(os.environ, CONTACTS_DATA_DIR=ref_data), check=True,
                           capture_output=True)
            rows = data_rows(path)
            ok_counters = (j["status"] == "completed" and j["total_rows"] == rows and
                           j["success_count"] + j["error_count"] == rows)
            got = count(server)
            reference.start()
            want = count(reference)
            reference.stop()
            mid_job += at_kill["status"] != "completed"
            print("import %2d: killed after %.2f s (job %s at %d rows), then %s rows=%d "
                  "success=%d errors=%d, contacts %d (reference %d)" % (
                      i + 1, delay, at_kill["status"], at_kill["total_rows"], j["status"],
                      j["total_rows"], j["success_count"], j["error_count"], got, want),
                  flush=True)
            if not ok_counters or got != want:
                raise SystemExit("difference after import %d" % (i + 1))
        reference.start()
        same = export_rows(server) == export_rows(reference)
        reference.stop()
        if not same:
            raise SystemExit("the exports differ")
    finally:
        server.stop()
        reference.stop()
    check = integrity(crash_data)
    print("%d imports of %d rows, %d kills (%d while the job ran), %.0f s: 0 lost, "
          "0 duplicated, counters exact, exports equal, integrity_check %s" % (
              args.imports, args.rows, kills, mid_job, time.time() - started, check))
    shutil.rmtree(args.workdir, ignore_errors=True)
    return 0 if check == "ok" else 1


if __name__ == "__main__":
    sys.exit(main())
