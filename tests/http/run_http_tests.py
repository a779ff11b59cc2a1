#!/usr/bin/env python3
"""HTTP test suite of contacts-api: the real binary over real HTTP.

    python3 tests/http/run_http_tests.py --binary PATH/contacts-api --workdir DIR [-k PATTERN]
                                         [--postgres ENV_FILE] [--redis ENV_FILE]

Builds the data (generated + fixtures), imports it, starts servers on loopback, runs the
test modules, stops the servers and prints `N passed, M failed` as its last line. Exit
code 0 only when every test passed.
"""
import argparse
import os
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import harness  # noqa: E402

# Run order matters only for the last module (checks made after the servers stopped).
MODULES = [
    "test_import",
    "test_records",
    "test_filters",
    "test_ordering",
    "test_cursor_pagination",
    "test_limit_offset",
    "test_count_analytics",
    "test_field_endpoints",
    "test_http_conventions",
    "test_parameter_errors",
    "test_cache",
    "test_malformed_requests",
    "test_auth",
    "test_import_jobs",
    "test_metrics",
    "test_access_log",
    "test_openapi",
    "test_export",
    "test_analytics_engines",
    "test_postgres",
    "test_fleet",
    "test_operations",
]
AFTER_STOP_MODULES = ["test_shutdown"]


class CountingResult(unittest.TextTestResult):
    durations = []

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.passed = 0
        self._t0 = None

    def startTest(self, test):
        self._t0 = time.time()
        super().startTest(test)

    def stopTest(self, test):
        super().stopTest(test)
        CountingResult.durations.append((time.time() - self._t0, test.id()))

    def addSuccess(self, test):
        super().addSuccess(test)
        self.passed += 1


def load(names, patterns):
    loader = unittest.TestLoader()
    if patterns:
        loader.testNamePatterns = ["*%s*" % p for p in patterns]
    suite = unittest.TestSuite()
    for name in names:
        suite.addTests(loader.loadTestsFromName(name))
    return suite


def run(suite):
    runner = unittest.TextTestRunner(stream=sys.stdout, verbosity=2, resultclass=CountingResult)
    return runner.run(suite)


def read_env_file(path):
    out = {}
    with open(path) as f:
        for line in f:
            if "=" in line:
                k, v = line.strip().split("=", 1)
                out[k] = v
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("-k", dest="pattern", action="append", default=None,
                    help="run only tests matching (repeat: any of them)")
    ap.add_argument("--postgres", metavar="ENV_FILE", default=None,
                    help="run on PostgreSQL: a file with CONTACTS_TEST_DATABASE_URL=... "
                         "(written by scripts/pg_test_cluster)")
    ap.add_argument("--redis", metavar="ENV_FILE", default=None,
                    help="cache in Redis: a file with CONTACTS_TEST_REDIS_URL=... "
                         "(written by scripts/redis_test_server)")
    args = ap.parse_args()
    if args.redis:
        harness.REDIS_URL = read_env_file(args.redis)["CONTACTS_TEST_REDIS_URL"]
    if args.postgres:
        harness.PG_URL = read_env_file(args.postgres)["CONTACTS_TEST_DATABASE_URL"]

    t0 = time.time()
    harness.prepare(args.binary, args.workdir)
    harness.log("prepared in %.1fs" % (time.time() - t0))
    results = []
    try:
        results.append(run(load(MODULES, args.pattern)))
    finally:
        alive_before_stop = {s.name: s.alive() for s in harness.CTX.servers
                             if s.proc and s.returncode is None}
        harness.CTX.alive_before_stop = alive_before_stop
        harness.stop_all()
    results.append(run(load(AFTER_STOP_MODULES, args.pattern)))

    passed = sum(r.passed for r in results)
    failed = sum(len(r.failures) + len(r.errors) + len(r.unexpectedSuccesses) for r in results)
    if failed or harness.CTX.error:
        for s in harness.CTX.servers:
            tail = s.stderr_tail()
            if tail.strip():
                print("----- stderr of server %s (%s) -----" % (s.name, s.stderr_path))
                print(tail)
        for label, info in harness.CTX.imports.items():
            if info["rc"] != 0 or info["stderr"].strip():
                print("----- import %s: rc=%s -----" % (label, info["rc"]))
                print(info["stderr"][-3000:])
    if harness.CTX.error and passed + failed == 0:
        failed = 1
    print("slowest tests:")
    for seconds, name in sorted(CountingResult.durations, reverse=True)[:8]:
        print("  %6.1fs %s" % (seconds, name))
    print("run time %.1fs" % (time.time() - t0))
    print("%d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 and passed > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
