#!/usr/bin/env python3
"""Checks contacts-bench against a small local HTTP server (Python 3 stdlib only).

Usage: python3 bench/loadgen_selftest.py --bench ./build/contacts-bench

The server answers with each framing the load generator must handle: Content-Length with
keep-alive, chunked transfer coding, `Connection: close`, HTTP/1.0 bodies delimited by
the end of the connection, a 100-continue interim response, non-2xx statuses, and a
keep-alive connection that the server drops after every few requests. It also checks that
responses with `X-Cache-Hit: true` are counted, and that connections spread over several
endpoints (`--port A --port B`, `--endpoint HOST:PORT`) with per-endpoint counts that match
what each server saw.
"""
import argparse
import json
import socket
import socketserver
import subprocess
import sys
import threading
import time

BODY = b'{"results": []}'


class Handler(socketserver.StreamRequestHandler):
    """Minimal HTTP/1.1 server: one request at a time per connection."""

    served_on_connection = 0

    def handle(self):
        served = 0
        while True:
            line = self.rfile.readline(65536)
            if not line:
                return
            target = line.split()[1].decode()
            while self.rfile.readline(65536) not in (b"\r\n", b"\n", b""):
                pass
            served += 1
            self.server.count_request()
            if not self.answer(target, served):
                return

    def answer(self, target, served):
        """Writes one response; returns False when the connection must close."""
        w = self.wfile.write
        if target.startswith("/length"):
            w(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(BODY), BODY))
        elif target.startswith("/cached"):
            w(b"HTTP/1.1 200 OK\r\nx-cache-hit: True\r\nContent-Length: %d\r\n\r\n%s"
              % (len(BODY), BODY))
        elif target.startswith("/chunked"):
            w(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
              b"5;ext=1\r\n{\"res\r\n" b"a\r\nults\": []}\r\n" b"0\r\nX-Trailer: 1\r\n\r\n")
        elif target.startswith("/close"):
            w(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: %d\r\n\r\n%s"
              % (len(BODY), BODY))
            return False
        elif target.startswith("/eof"):
            w(b"HTTP/1.0 200 OK\r\n\r\n" + BODY)
            return False
        elif target.startswith("/continue"):
            w(b"HTTP/1.1 100 Continue\r\n\r\n"
              b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(BODY), BODY))
        elif target.startswith("/missing"):
            w(b"HTTP/1.1 404 Not Found\r\nContent-Length: 2\r\n\r\n{}")
        elif target.startswith("/nocontent"):
            w(b"HTTP/1.1 204 No Content\r\n\r\n")
        elif target.startswith("/drop"):
            # Answers keep-alive, then silently closes after every third request.
            w(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(BODY), BODY))
            self.wfile.flush()
            if served % 3 == 0:
                time.sleep(0.01)
                return False
        elif target.startswith("/slow"):
            time.sleep(0.02)
            w(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(BODY), BODY))
        else:
            w(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab")  # truncated body
            return False
        self.wfile.flush()
        return True


class Server(socketserver.ThreadingTCPServer):
    """Counts the requests it has read (`requests`)."""
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, *args):
        super().__init__(*args)
        self.requests = 0
        self.lock = threading.Lock()

    def count_request(self):
        with self.lock:
            self.requests += 1


def start_server():
    server = Server(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def run_bench(bench, port, *args):
    """contacts-bench on `port` (None: the targets are in `args`); its parsed JSON line."""
    cmd = [bench, *(["--port", str(port)] if port else []), "--timeout", "5", *args]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=60).stdout
    lines = out.strip().splitlines()
    assert len(lines) == 1, out
    return json.loads(lines[0])


def spread_over_two(bench, servers, *second_target):
    """40 requests (half of them 20 ms slow, so that every connection gets some) from 4
    connections over two endpoints (the first by --port). Returns (what was seen, what is
    expected): two connections each, and each endpoint's count is what its server saw."""
    seen_before = [s.requests for s in servers]
    r = run_bench(bench, servers[0].server_address[1], *second_target, "--concurrency", "4",
                  "--requests", "40", "--path", "/slow", "--path", "/cached")
    seen = [s.requests - before for s, before in zip(servers, seen_before)]
    ends = r["endpoints"]
    got = {"requests": r["requests"], "errors": r["errors"], "cache_hits": r["cache_hits"],
           "endpoints": [e["endpoint"] for e in ends],
           "connections": [e["connections"] for e in ends],
           "endpoint_requests": [e["requests"] for e in ends],
           "endpoint_hits": sum(e["cache_hits"] for e in ends), "both_used": min(seen) >= 5}
    want = {"requests": 40, "errors": 0, "cache_hits": 20,
            "endpoints": [f"127.0.0.1:{s.server_address[1]}" for s in servers],
            "connections": [2, 2], "endpoint_requests": seen, "endpoint_hits": 20,
            "both_used": True}
    return got, want


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bench", required=True)
    bench = parser.parse_args().bench
    server, other = start_server(), start_server()
    port, other_port = server.server_address[1], other.server_address[1]
    failures = 0

    def check(name, result, **expected):
        nonlocal failures
        bad = {k: (result.get(k), v) for k, v in expected.items() if result.get(k) != v}
        print(("FAIL " if bad else "ok   ") + name + (f" {bad} {result}" if bad else ""))
        failures += bool(bad)

    paths = ["/length", "/chunked", "/close", "/eof", "/continue", "/nocontent", "/drop"]
    for path in paths:
        r = run_bench(bench, port, "--requests", "50", "--warmup", "3", "--path", path)
        check(path, r, requests=50, errors=0, non_2xx=0)
    mixed = [a for p in paths for a in ("--path", p)]
    r = run_bench(bench, port, "--concurrency", "8", "--requests", "400", *mixed)
    check("mixed x8", r, requests=400, errors=0, non_2xx=0)
    r = run_bench(bench, port, "--requests", "10", "--path", "/length", "--path", "/missing")
    check("404 counted", r, requests=10, errors=0, non_2xx=5)
    r = run_bench(bench, port, "--requests", "4", "--path", "/truncated")
    check("truncated body is an error", r, requests=4, errors=4)
    r = run_bench(bench, port, "--concurrency", "4", "--duration", "1", "--path", "/slow")
    ok = 0.9 < r["duration_s"] < 1.5 and 100 < r["requests"] < 220 and r["p50_ms"] >= 20
    check("duration bound", {"ok": ok, **r}, ok=True, errors=0)
    r = run_bench(bench, port, "--requests", "10", "--path", "/cached", "--path", "/length")
    check("X-Cache-Hit: true counted", r, requests=10, errors=0, cache_hits=5)
    check("one endpoint", r["endpoints"][0], endpoint=f"127.0.0.1:{port}", connections=1,
          requests=10, cache_hits=5)
    for second in (["--port", str(other_port)], ["--endpoint", f"127.0.0.1:{other_port}"]):
        got, want = spread_over_two(bench, (server, other), *second)
        check(f"two endpoints ({' '.join(second)})", got, **want)
    other.shutdown()
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]
    r = run_bench(bench, closed_port, "--requests", "3", "--path", "/length")
    check("refused is an error", r, requests=3, errors=3, p99_ms=None)
    r = run_bench(bench, port, "--port", str(closed_port), "--concurrency", "2", "--requests",
                  "20", "--path", "/length")
    up, down = r["endpoints"]
    check("a refused endpoint's errors are its own",
          {"errors": r["errors"], "up_errors": up["errors"], "up_used": up["requests"] > 0,
           "down_failed": down["requests"] > 0 and down["errors"] == down["requests"]},
          errors=down["requests"], up_errors=0, up_used=True, down_failed=True)
    server.shutdown()
    print("loadgen self-test:", "FAILED" if failures else "passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
