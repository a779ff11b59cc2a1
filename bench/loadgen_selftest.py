#!/usr/bin/env python3
"""Checks contacts-bench against a small local HTTP server (Python 3 stdlib only).

Usage: python3 bench/loadgen_selftest.py --bench ./build/contacts-bench

The server answers with each framing the load generator must handle: Content-Length with
keep-alive, chunked transfer coding, `Connection: close`, HTTP/1.0 bodies delimited by
the end of the connection, a 100-continue interim response, non-2xx statuses, and a
keep-alive connection that the server drops after every few requests.
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
            if not self.answer(target, served):
                return

    def answer(self, target, served):
        """Writes one response; returns False when the connection must close."""
        w = self.wfile.write
        if target.startswith("/length"):
            w(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(BODY), BODY))
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
    daemon_threads = True
    allow_reuse_address = True


def run_bench(bench, port, *args):
    cmd = [bench, "--port", str(port), "--timeout", "5", *args]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=60).stdout
    lines = out.strip().splitlines()
    assert len(lines) == 1, out
    return json.loads(lines[0])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bench", required=True)
    bench = parser.parse_args().bench
    server = Server(("127.0.0.1", 0), Handler)
    port = server.server_address[1]
    threading.Thread(target=server.serve_forever, daemon=True).start()
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
    server.shutdown()
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]
    r = run_bench(bench, closed_port, "--requests", "3", "--path", "/length")
    check("refused is an error", r, requests=3, errors=3, p99_ms=None)
    print("loadgen self-test:", "FAILED" if failures else "passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
