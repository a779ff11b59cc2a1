#!/usr/bin/env python3
"""Attack run (issue 14): the hostile clients of the issue against the real binary over HTTP,
one after the other, with the server's memory (VmRSS, VmHWM) and /api/health/ latency measured
before, during and after each. Prints a table for docs/reliability.md.

    scripts/attack_run.py --binary build/contacts-api [--rows 100000] [--workdir DIR]
                          [--seconds 10]

Attacks: 2,000-term searches, a megabyte text filter, request targets over 16 KiB, junk query
parameters (every variant a new URL), concurrent logins with wrong passwords, password
guessing on one account, slowloris connections, 200 exports read slowly, and 1,000 idle
connections. Exit status 1 when the server died, health went over 50 ms at its median during
an attack, or an attack got an answer other than the contract's.
"""
import argparse
import http.client
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse

ADMIN, PASSWORD = "attack-admin", "attack-run-password"
HOST = "127.0.0.1"


def free_port():
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def memory(pid):
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            key = line.split(":")[0]
            if key in ("VmRSS", "VmHWM"):
                out[key] = int(line.split()[1]) // 1024  # MiB
    return out


def request(port, method, target, body=None, headers=None, timeout=60):
    c = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        c.request(method, target, body=body, headers=headers or {})
        r = c.getresponse()
        return r.status, r.read()
    finally:
        c.close()


class HealthProbe:
    """Probes /api/health/ every 20 ms on a connection of its own while an attack runs."""

    def __init__(self, port):
        self.port, self.latencies, self.failures = port, [], 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run)

    def run(self):
        c = http.client.HTTPConnection(HOST, self.port, timeout=10)
        while not self.stop.is_set():
            t0 = time.monotonic()
            try:
                c.request("GET", "/api/health/")
                r = c.getresponse()
                r.read()
                ok = r.status == 200
            except OSError:
                ok = False
                c.close()
                c = http.client.HTTPConnection(HOST, self.port, timeout=10)
            self.latencies.append((time.monotonic() - t0) * 1000)
            if not ok:
                self.failures += 1
            time.sleep(0.02)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()

    def summary(self):
        lat = sorted(self.latencies) or [0.0]
        return {"probes": len(lat), "median_ms": round(statistics.median(lat), 1),
                "p95_ms": round(lat[int(len(lat) * 0.95) - 1 if len(lat) > 1 else 0], 1),
                "max_ms": round(lat[-1], 1), "failed": self.failures}


def in_threads(n, seconds, work):
    """Runs work(i, deadline) on n threads until the deadline; returns what each returned."""
    deadline = time.monotonic() + seconds
    results = [None] * n

    def run(i):
        results[i] = work(i, deadline)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def statuses_of(port, seconds, threads, make_request):
    """Sends make_request(i, k) -> (method, target, body, headers) on `threads` keep-alive
    connections for `seconds`; returns {status: count}."""
    def work(i, deadline):
        seen, k = {}, 0
        c = http.client.HTTPConnection(HOST, port, timeout=60)
        while time.monotonic() < deadline:
            method, target, body, headers = make_request(i, k)
            k += 1
            try:
                c.request(method, target, body=body, headers=headers or {})
                r = c.getresponse()
                r.read()
                seen[r.status] = seen.get(r.status, 0) + 1
                if r.getheader("Connection", "").lower() == "close":
                    c.close()
                    c = http.client.HTTPConnection(HOST, port, timeout=60)
            except OSError as e:
                seen[type(e).__name__] = seen.get(type(e).__name__, 0) + 1
                c.close()
                c = http.client.HTTPConnection(HOST, port, timeout=60)
        c.close()
        return seen

    total = {}
    for seen in in_threads(threads, seconds, work):
        for k, v in seen.items():
            total[k] = total.get(k, 0) + v
    return total


def attack_search_terms(port, seconds):
    terms = urllib.parse.quote(" ".join("t%d" % i for i in range(2000)))  # 11 KiB: under 414
    return statuses_of(port, seconds, 4,
                       lambda i, k: ("GET", "/api/contacts/?search=" + terms, None, None)), {400}


def attack_long_filter(port, seconds):
    value = "a" * (12 * 1024)
    return statuses_of(port, seconds, 4,
                       lambda i, k: ("GET", "/api/contacts/?title=" + value, None, None)), {400}


def attack_long_target(port, seconds):
    value = "b" * (20 * 1024)
    return statuses_of(port, seconds, 4,
                       lambda i, k: ("GET", "/api/contacts/?x=" + value, None, None)), {414}


def attack_junk_parameters(port, seconds):
    return statuses_of(port, seconds, 4, lambda i, k: (
        "GET", "/api/contacts/?title=engineer&x%d_%d=%s" % (i, k, "j" * 200), None, None)), {200}


def attack_bad_logins(port, seconds):
    return statuses_of(port, seconds, 4, lambda i, k: (
        "POST", "/api/auth/token/",
        json.dumps({"username": "nobody-%d-%d" % (i, k), "password": "wrong"}).encode(),
        {"Content-Type": "application/json"})), {401, 429}


def attack_guessing(port, seconds):
    return statuses_of(port, seconds, 2, lambda i, k: (
        "POST", "/api/auth/token/",
        json.dumps({"username": ADMIN, "password": "guess-%d-%d" % (i, k)}).encode(),
        {"Content-Type": "application/json"})), {401, 429}


def open_connections(port, count, first_bytes, receive_buffer=None):
    """`count` connections to the server, each having sent `first_bytes`."""
    socks = []
    for _ in range(count):
        s = socket.create_connection((HOST, port))
        if receive_buffer:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
        s.sendall(first_bytes)
        socks.append(s)
    return socks


def attack_slowloris(port, seconds):
    socks = open_connections(port, 200, b"GET /api/contacts/ HTTP/1.1\r\nHost: x\r\n")
    deadline = time.monotonic() + seconds
    closed = 0
    while time.monotonic() < deadline:
        for s in socks:
            try:
                s.sendall(b"X-a: b\r\n")
            except OSError:
                pass
        time.sleep(1)
    for s in socks:
        try:
            s.settimeout(0.5)
            if s.recv(1) in (b"", b"H"):
                closed += 1
        except OSError:
            closed += 1
        s.close()
    return {"connections": 200, "answered_or_closed": closed}, None


def attack_slow_exports(port, seconds):
    socks = open_connections(port, 200, b"GET /api/contacts/export/ HTTP/1.1\r\nHost: x\r\n\r\n",
                             receive_buffer=16 * 1024)
    deadline = time.monotonic() + seconds
    got = 0
    while time.monotonic() < deadline:
        for s in socks:
            s.settimeout(0.01)
            try:
                got += len(s.recv(1024))  # 1 KiB a round: far slower than the server writes
            except OSError:
                pass
        time.sleep(0.2)
    for s in socks:
        s.close()
    return {"exports": 200, "bytes_read": got}, None


def attack_idle_connections(port, seconds):
    socks = [socket.create_connection((HOST, port)) for _ in range(1000)]
    time.sleep(seconds)
    for s in socks:
        s.close()
    return {"connections": 1000}, None


ATTACKS = [
    ("2,000-term searches (4 clients)", attack_search_terms),
    ("12 KiB text filter (4 clients)", attack_long_filter),
    ("20 KiB request target (4 clients)", attack_long_target),
    ("junk parameters, every URL new (4 clients)", attack_junk_parameters),
    ("logins with wrong passwords (4 clients)", attack_bad_logins),
    ("password guessing on one account (2 clients)", attack_guessing),
    ("slowloris (200 connections)", attack_slowloris),
    ("200 exports read 1 KiB at a time", attack_slow_exports),
    ("1,000 idle connections", attack_idle_connections),
]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--binary", required=True)
    ap.add_argument("--rows", type=int, default=100000)
    ap.add_argument("--workdir", default="bench/out/attack")
    ap.add_argument("--seconds", type=float, default=10)
    args = ap.parse_args()
    binary = os.path.abspath(args.binary)
    work = os.path.abspath(args.workdir)
    data = os.path.join(work, "data")
    csv_path = os.path.join(work, "contacts-%d.csv" % args.rows)
    os.makedirs(work, exist_ok=True)
    shutil.rmtree(data, ignore_errors=True)
    os.makedirs(data)
    env = dict(os.environ, CONTACTS_DATA_DIR=data)
    if not os.path.exists(csv_path):
        subprocess.run([binary, "generate", "--rows", str(args.rows), "--seed", "14",
                        "--out", csv_path], check=True, env=env, stdout=subprocess.DEVNULL)
    subprocess.run([binary, "import", csv_path, "--errors", os.path.join(work, "errors.csv")],
                   check=True, env=env, stdout=subprocess.DEVNULL)
    subprocess.run([binary, "create-admin", "--username", ADMIN], check=True,
                   env=dict(env, CONTACTS_PASSWORD=PASSWORD), stdout=subprocess.DEVNULL)
    port = free_port()
    env.update({"CONTACTS_PORT": str(port), "CONTACTS_ACCESS_LOG": "false",
                "CONTACTS_SECRET_KEY": "attack-run-secret-key-0123456789abcdef",
                "CONTACTS_CACHE_ENABLED": "true"})
    log = open(os.path.join(work, "server.log"), "wb")
    server = subprocess.Popen([binary, "serve"], env=env, stdout=log, stderr=log)
    failed = False
    try:
        deadline = time.time() + 300
        while True:
            try:
                if request(port, "GET", "/readyz")[0] == 200:
                    break
            except OSError:
                pass
            if time.time() > deadline or server.poll() is not None:
                sys.exit("server did not become ready")
            time.sleep(0.2)
        for target in ("/api/contacts/", "/api/contacts/count/?title=engineer",
                       "/api/contacts/export/"):
            request(port, "GET", target)  # warm-up
        print("| attack | answers | health median / p95 / max (ms) | RSS before → after, "
              "high-water (MiB) |")
        print("|---|---|---|---|")
        for name, attack in ATTACKS:
            before = memory(server.pid)
            with HealthProbe(port) as probe:
                answers, expected = attack(port, args.seconds)
            after = memory(server.pid)
            h = probe.summary()
            alive = server.poll() is None
            unexpected = expected is not None and any(
                k not in expected for k in answers if answers[k])
            if not alive or h["median_ms"] > 50 or h["failed"] or unexpected:
                failed = True
            print("| %s | %s | %.1f / %.1f / %.1f (%d probes%s) | %d → %d, %d%s |" % (
                name, ", ".join("%s: %s" % kv for kv in sorted(answers.items(), key=str)),
                h["median_ms"], h["p95_ms"], h["max_ms"], h["probes"],
                ", %d failed" % h["failed"] if h["failed"] else "",
                before["VmRSS"], after["VmRSS"], after["VmHWM"],
                "" if alive else " **server died**"), flush=True)
            if not alive:
                break
    finally:
        if server.poll() is None:
            server.terminate()
            server.wait(30)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
