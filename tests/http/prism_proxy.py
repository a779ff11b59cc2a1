"""Prism's validating proxy (`prism proxy --errors`, npm @stoplight/prism-cli in tests/openapi)
in front of the servers of a run, and a client that sends every request through it.

Set by run_prism_tests.py: harness.Server.start then starts one proxy per server, on a free
loopback port, forwarding to the server and checking each request and answer against the
OpenAPI document (src/api/openapi.json, the bytes the server serves at /api/schema/); the
server's `client` becomes a ProxiedClient on the proxy. Everything the document and the
service disagree on is collected in VIOLATIONS and fails the run:

- an answer that breaks the document: with --errors Prism answers 500 (problem+json of type
  VIOLATIONS) instead of forwarding it; a warning arrives in an `sl-violations` header;
- a request the document rejects (Prism answers 422, 401, 404 or 405 itself without forwarding
  it) is sent once, unchanged, straight to the server, which must reject it too (4xx): a
  request the document forbids but the service accepts is a violation. Requests that only the
  document's stated conventions cover (a route without its trailing slash, HEAD of a GET route,
  OPTIONS of any route: see the document's info.description) are sent straight the same way;
- Prism's own log is scanned for violation lines when each proxy stops.
"""
import json
import os
import re
import shutil
import signal
import subprocess
import time

import client as http
import harness

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
DOCUMENT = os.path.join(ROOT, "src", "api", "openapi.json")
PRISM_CLI = os.path.join(ROOT, "tests", "openapi", "node_modules", "@stoplight", "prism-cli",
                         "dist", "index.js")
PRISM_ERROR = "https://stoplight.io/prism/errors#"
# Prism's answers to requests the document does not describe or forbids (not forwarded).
NOT_FORWARDED = ("UNPROCESSABLE_ENTITY", "UNAUTHORIZED", "NO_PATH_MATCHED_ERROR",
                 "NO_METHOD_MATCHED_ERROR", "NO_SERVER_MATCHED_ERROR")
LOG_VIOLATION = re.compile(r"Violation: |errors#VIOLATIONS")

VIOLATIONS = []          # "[server] METHOD target: detail" of every disagreement, in order
LOG_VIOLATIONS = []      # violation lines of Prism's logs
STATS = {"proxied": 0, "direct_rejected": 0, "direct_convention": 0, "proxies": 0}
RUNNING = set()          # proxies started and not stopped yet (stop_all ends them)


def available():
    """None when the proxy can run here, else why not."""
    if shutil.which("node") is None:
        return "node is not installed (scripts/bootstrap installs it)"
    if not os.path.exists(PRISM_CLI):
        return "%s is missing: run scripts/bootstrap (npm ci in tests/openapi)" % PRISM_CLI
    return None


def _document_routes():
    with open(DOCUMENT, encoding="utf-8") as f:
        doc = json.load(f)
    routes = []
    for path, item in doc["paths"].items():
        pattern = "^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(path)) + "$"
        methods = {m.upper() for m in item if m in ("get", "put", "post", "delete", "patch")}
        routes.append((re.compile(pattern), methods))
    return routes


ROUTES = _document_routes()


def documented_methods(path):
    """The methods the document gives `path`, or None when no documented route matches it."""
    for pattern, methods in ROUTES:
        if pattern.match(path):
            return methods
    return None


def by_convention(method, target):
    """True when the request is covered by a convention of info.description rather than by an
    operation: a repeated query parameter (the last value wins), the route with or without its
    trailing slash, HEAD of a GET route, OPTIONS."""
    path, _, query = target.partition("?")
    names = [pair.split("=", 1)[0] for pair in query.split("&") if pair]
    if len(names) != len(set(names)):
        return True
    methods = documented_methods(path)
    if methods is None:
        methods = documented_methods(path[:-1] if path.endswith("/") else path + "/")
        if methods is None:
            return False
        if method in methods:
            return True
    return method == "OPTIONS" or (method == "HEAD" and "GET" in methods)


def prism_error(r):
    """(name, forwarded) when `r` was made by Prism or its HTTP layer, else None; forwarded is
    False when the request never reached the server."""
    ct = (r.header("Content-Type") or "").lower()
    if ct.startswith("application/problem+json"):
        if not r.body:  # an answer to HEAD: Prism matches no HEAD operation
            return "problem+json without a body", False
        try:
            kind = r.json().get("type", "")
        except AssertionError:
            return "unreadable problem+json", True
        name = kind[len(PRISM_ERROR):] if kind.startswith(PRISM_ERROR) else kind
        return name, name not in NOT_FORWARDED
    if r.header("X-Request-Id") is not None:
        return None
    if r.status == 400 and not r.body and not ct:  # Node's HTTP parser (e.g. method BREW)
        return "request refused by Node's HTTP parser", False
    if ct.startswith("application/json"):
        try:
            body = r.json()
        except AssertionError:
            return None
        if isinstance(body, dict) and isinstance(body.get("error"), dict):  # micri, Prism's server
            return "Prism's HTTP layer: %s" % body["error"].get("code"), False
    return None


class ProxiedClient(http.Client):
    """http.Client on the proxy; requests Prism does not forward go straight to the server."""

    def __init__(self, name, proxy_port, server_port):
        super().__init__(harness.LOOPBACK, proxy_port)
        self.name = name
        self.direct = http.Client(self.host, server_port)

    def close(self):
        super().close()
        self.direct.close()

    def violation(self, method, target, detail):
        VIOLATIONS.append("[%s] %s %s: %s" % (self.name, method, target[:300], detail))

    def request(self, method, target, headers=None, body=None):
        r = super().request(method, target, headers=headers, body=body)
        STATS["proxied"] += 1
        error = prism_error(r)
        if error is None:
            warnings = r.header("sl-violations")
            if warnings:
                self.violation(method, target, "answered %d with violations %s" % (
                    r.status, warnings))
            return r
        name, forwarded = error
        if forwarded:
            self.violation(method, target, "%s: %s" % (name, r.body[:4000].decode(
                "utf-8", "replace")))
            return r
        direct = self.direct.request(method, target, headers=headers, body=body)
        if by_convention(method, target):
            STATS["direct_convention"] += 1
        else:
            STATS["direct_rejected"] += 1
            if not 400 <= direct.status < 500:
                self.violation(method, target, "Prism refused it (%s: %s) but the service "
                               "answered %d" % (name, r.body[:2000].decode("utf-8", "replace"),
                                                direct.status))
        return direct


class Proxy:
    """One `prism proxy --errors` process in front of a server."""

    def __init__(self, server):
        self.server = server
        self.proc = None
        self.port = None
        self.log_path = os.path.join(server.root, "prism-%s.log" % server.name)
        self.log_offset = 0

    def start(self, timeout=60):
        for _attempt in range(3):
            self.port = harness.free_port()
            self.log_offset = os.path.getsize(self.log_path) if os.path.exists(self.log_path) else 0
            with open(self.log_path, "ab") as log:
                self.proc = subprocess.Popen(
                    [shutil.which("node"), PRISM_CLI, "proxy", "--errors", "--cors=false",
                     "-v", "warn", "-h", harness.LOOPBACK, "-p", str(self.port), DOCUMENT,
                     "http://%s:%d" % (harness.LOOPBACK, self.server.port)],
                    stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                    cwd=self.server.root)
            deadline = time.time() + timeout
            while time.time() < deadline and self.proc.poll() is None:
                try:
                    if http.Client(harness.LOOPBACK, self.port).get("/healthz").status == 200:
                        STATS["proxies"] += 1
                        RUNNING.add(self)
                        return
                except OSError:
                    pass
                time.sleep(0.1)
            self.stop(scan=False)
        raise RuntimeError("prism proxy for %s did not start: %s" % (self.server.name,
                                                                    self.log_tail()))

    def client(self):
        return ProxiedClient(self.server.name, self.port, self.server.port)

    def stop(self, scan=True):
        RUNNING.discard(self)
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        if scan:
            for line in self.log_lines():
                if LOG_VIOLATION.search(line):
                    LOG_VIOLATIONS.append("[%s] %s" % (self.server.name, line.strip()))

    def log_lines(self):
        """The lines this process wrote (a restarted server's proxy appends to the same log)."""
        try:
            with open(self.log_path, "rb") as f:
                f.seek(self.log_offset)
                return f.read().decode("utf-8", "replace").splitlines()
        except OSError:
            return []

    def log_tail(self, lines=40):
        return "\n".join(self.log_lines()[-lines:])


def stop_all():
    """Stops the proxies still running: those of servers a test killed and never stopped."""
    for proxy in list(RUNNING):
        proxy.stop()
