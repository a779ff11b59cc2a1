#!/usr/bin/env python3
"""A broad part of the HTTP suite through Prism's validating proxy: the document and the service
cannot drift apart unnoticed.

    python3 tests/http/run_prism_tests.py --binary PATH/contacts-api --workdir DIR [-k PATTERN]

Same data and servers as run_http_tests.py, but every server gets `prism proxy --errors
src/api/openapi.json http://127.0.0.1:PORT` in front of it (prism_proxy.py) and the tests'
clients send through it. Fails on any failed test and on any violation Prism reports (the
answers it refuses with --errors, `sl-violations` headers, requests the document forbids but
the service accepts, violation lines of its logs). Prints `N passed, M failed` last.
"""
import argparse
import os
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import harness  # noqa: E402
import prism_proxy  # noqa: E402
import run_http_tests  # noqa: E402

# Every module of the HTTP suite runs through the proxy (one added there is checked here too)
# but these, whose requests a proxy cannot pass on as sent or which test something else:
LEFT_OUT = {
    "test_malformed_requests": "malformed HTTP on raw sockets, which no proxy passes on as sent",
    "test_access_log": "the server's log line of each request it gets, and of requests it "
                       "rejects itself on raw sockets: through a proxy, the proxy's headers",
    "test_export": "streaming under back-pressure on raw sockets (a proxy buffers); the export "
                   "route is called here by test_openapi and test_metrics",
    "test_fleet": "several processes sharing Redis: their requests are those of the modules "
                  "here, the test is of the fleet",
    "test_operations": "nginx and TLS in front of a fleet: a proxy chain of its own",
    "test_postgres": "PostgreSQL only (the suite's --postgres run)",
}
MODULES = [m for m in run_http_tests.MODULES if m not in LEFT_OUT]
AFTER_STOP_MODULES = ["test_shutdown"]

# Tests that check what a proxy changes by design (id suffix: reason). Prism forwards
# neither the client's Host header (links are built from the upstream's address) nor the
# query as sent (it decodes and re-encodes it), and re-serialises JSON bodies.
SKIP = {
    "test_cursor_pagination.CursorLinks.test_links_are_absolute_urls_from_the_host_header":
        "links from the Host header (Prism sends the upstream's)",
    "test_cursor_pagination.CursorLinks.test_limit_offset_links_keep_parameters_and_host":
        "links from the Host header (Prism sends the upstream's)",
    "test_cache.ResponseCache.test_cached_links_follow_the_host_of_the_new_request":
        "links from the Host header (Prism sends the upstream's)",
    "test_parameter_errors.Utf8Parameters.test_invalid_utf8_in_a_query_value_or_name_is_400":
        "invalid UTF-8 in the query (Prism decodes it to U+FFFD before forwarding)",
    "test_openapi.OpenApi.test_schema_route_serves_the_source_document_with_an_etag":
        "the document's bytes (Prism re-serialises JSON bodies)",
    # The slowest tests, whose requests have the shapes of other tests here: through the proxy
    # (about 3 times the time of each answer) they would take about 2.5 of the 5 minutes.
    "test_ordering.Ordering.test_each_field_ascending_and_descending":
        "time (82 whole walks; the orderings' enum is checked by tests/unit/openapi_test.cpp)",
    "test_ordering.Ordering.test_multi_field_orderings": "time (whole walks, as above)",
    "test_filters.DateRanges.test_bounds_with_utc_offsets":
        "time (36 whole walks; an offset is sent by test_openapi with the documented example)",
    "test_auth.LoginThrottling.test_fifty_failures_from_an_address_lock_it_and_a_success_does_not_"
    "reset_it": "time (50 Argon2id logins; the ten-failure test gets the same 429)",
    "test_auth.HealthUnderSlowWork.test_health_stays_fast_during_bad_logins_searches_and_exports":
        "a load test (its requests are those of the other tests)",
    "test_import_jobs.CrashResume.test_job_killed_mid_file_resumes_with_every_row_exactly_once":
        "kill -9 during an import (its requests are those of the other import tests)",
}


def load(names, pattern):
    loader = unittest.TestLoader()
    if pattern:
        loader.testNamePatterns = ["*%s*" % pattern]
    suite = unittest.TestSuite()
    for name in names:
        for test in iterate(loader.loadTestsFromName(name)):
            reason = next((why for suffix, why in SKIP.items() if test.id().endswith(suffix)),
                          None)
            if reason:
                setattr(test, test._testMethodName, unittest.skip("through Prism: " + reason)(
                    getattr(test, test._testMethodName)))
            suite.addTest(test)
    return suite


def iterate(suite):
    for item in suite:
        if isinstance(item, unittest.TestSuite):
            yield from iterate(item)
        else:
            yield item


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("-k", dest="pattern", default=None, help="run only tests matching")
    args = ap.parse_args()
    missing = prism_proxy.available()
    if missing:
        print(missing)
        print("0 passed, 1 failed")
        return 1
    harness.PRISM = True

    t0 = time.time()
    harness.prepare(args.binary, args.workdir)
    harness.log("prepared in %.1fs" % (time.time() - t0))
    results = []
    run_http_tests.CountingResult.durations = []
    try:
        results.append(run_http_tests.run(load(MODULES, args.pattern)))
    finally:
        harness.CTX.alive_before_stop = {s.name: s.alive() for s in harness.CTX.servers
                                         if s.proc and s.returncode is None}
        harness.stop_all()
        prism_proxy.stop_all()
    results.append(run_http_tests.run(load(AFTER_STOP_MODULES, args.pattern)))

    passed = sum(r.passed for r in results)
    failed = sum(len(r.failures) + len(r.errors) + len(r.unexpectedSuccesses) for r in results)
    if harness.CTX.error and passed + failed == 0:
        failed = 1
    stats = prism_proxy.STATS
    print("prism: %d proxies, %d requests through them; sent straight to the server: %d that "
          "the document rejects, %d covered by its stated conventions" % (
              stats["proxies"], stats["proxied"], stats["direct_rejected"],
              stats["direct_convention"]))
    for title, found in (("violations", prism_proxy.VIOLATIONS),
                         ("violation lines in prism logs", prism_proxy.LOG_VIOLATIONS)):
        if found:
            print("prism: %d %s:" % (len(found), title))
            for line in found[:200]:
                print("  " + line)
            failed += 1
    by_module = {}
    for seconds, name in run_http_tests.CountingResult.durations:
        by_module[name.split(".")[0]] = by_module.get(name.split(".")[0], 0) + seconds
    print("time by module: " + ", ".join("%s %.0fs" % (m, t) for m, t in sorted(
        by_module.items(), key=lambda item: -item[1])))
    if failed:
        print("logs: servers' stderr and prism-<server>.log in %s" % harness.CTX.root)
    print("run time %.1fs" % (time.time() - t0))
    print("%d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 and passed > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
