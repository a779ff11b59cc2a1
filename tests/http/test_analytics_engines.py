"""Analytics from Spark (Thrift server, Livy) and Hadoop (a job, HiveServer2), with the store
as fallback (issue 16; docs/operations.md, "Analytics engines").

Spark, Hive and Hadoop are not installed here: the engines are stand-ins written in the tests
(tests/http/standins), speaking the real protocols: a HiveServer2 Thrift server generated from
the service's own src/analytics/TCLIService.thrift, a Livy REST server, and a `hadoop`
executable. They answer from the lake the service's CLI made: `contacts-api export` wrote the
CSV, `contacts-api export --hive-ddl` the table over it. Each reads a mode file at every
request, so that a test can make it slow, broken or malformed."""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time

import harness
from harness import CTX, ApiTest

HERE = os.path.dirname(os.path.abspath(__file__))
STANDINS = os.path.join(HERE, "standins")
THRIFT_IDL = os.path.join(os.path.dirname(os.path.dirname(HERE)), "src", "analytics",
                          "TCLIService.thrift")
ANALYTICS = "/api/contacts/analytics/"
NO_CACHE = {"Cache-Control": "no-cache"}
TIMEOUT_MS = 2000
# Past the engine's timeout, what a fallback answer may take on a loaded, sanitized build.
MARGIN_S = 1.5
SASL_PASSWORD = "stand-in-secret-pw-42"


class StandIn:
    """One stand-in process on a free loopback port, stopped by its PID."""

    def __init__(self, name, root, argv_of_port):
        self.name, self.root, self.argv_of_port = name, root, argv_of_port
        self.mode_file = os.path.join(root, name + ".mode")
        self.log_file = os.path.join(root, name + ".log")
        self.proc = None
        self.port = None

    def start(self, port=None):
        self.port = port or harness.free_port()
        err = open(os.path.join(self.root, self.name + ".stderr"), "ab")
        self.proc = subprocess.Popen(self.argv_of_port(self), stdout=err, stderr=err,
                                     stdin=subprocess.DEVNULL)
        deadline = time.time() + 30
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("stand-in %s exited with %s" % (self.name, self.proc.returncode))
            if "listening" in self.log():
                try:
                    import socket
                    socket.create_connection((harness.LOOPBACK, self.port), timeout=1).close()
                    return
                except OSError:
                    pass
            time.sleep(0.05)
        raise RuntimeError("stand-in %s did not start" % self.name)

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.proc = None

    def set_mode(self, mode):
        with open(self.mode_file, "w", encoding="utf-8") as f:
            f.write(mode)

    def log(self):
        try:
            with open(self.log_file, encoding="utf-8") as f:
                return f.read()
        except OSError:
            return ""


def without_time(body):
    return {k: v for k, v in body.items() if k != "generated_at"}


def failures(client, engine, reason):
    text = client.get("/metrics").body.decode()
    m = re.search(r'^contacts_analytics_engine_failures_total\{engine="%s",reason="%s"\} (\d+)$'
                  % (engine, reason), text, re.M)
    return int(m.group(1)) if m else 0


class Engines(ApiTest):
    """One data set; a server per engine, each on a copy of it; the stand-ins."""
    root = None
    error = None
    standins = {}
    servers = {}
    reference = {}

    @classmethod
    def setUpClass(cls):
        if CTX.error:
            return
        try:
            cls.prepare()
        except Exception as e:  # noqa: BLE001 - reported by every test
            cls.error = "engines not prepared: %r" % e
            harness.log(cls.error)

    @classmethod
    def prepare(cls):
        cls.root = root = os.path.join(CTX.root, "engines")
        os.makedirs(root)
        data = os.path.join(root, "data")
        os.makedirs(data)
        info = harness.run_import("engines", CTX.generated["gen"][0], data)
        assert info["rc"] == 0, info["stderr"]
        tricky = harness.run_import("engines-tricky", os.path.join(harness.FIXTURES, "tricky.csv"), data)
        assert tricky["rc"] == 0, tricky["stderr"]
        # The lake, made by the CLI: the CSV and the table over it.
        cls.lake_csv = os.path.join(root, "lake", "contacts.csv")
        os.makedirs(os.path.dirname(cls.lake_csv))
        env = harness.import_env(data)
        p = harness.run_cmd([CTX.binary, "export", "--output", cls.lake_csv], env=env)
        assert p.returncode == 0, p.stderr
        cls.ddl = os.path.join(root, "lake", "contacts.ddl")
        p = harness.run_cmd([CTX.binary, "export", "--hive-ddl", "--location", os.path.dirname(cls.lake_csv)],
                            env=env)
        assert p.returncode == 0, p.stderr
        with open(cls.ddl, "wb") as f:
            f.write(p.stdout)
        py = sys.executable
        lake_args = ["--ddl", cls.ddl, "--csv", cls.lake_csv]

        def hs2(sasl):
            return lambda s: [py, os.path.join(STANDINS, "hs2_server.py"), "--port", str(s.port),
                              "--thrift", THRIFT_IDL, "--gen-dir", os.path.join(root, "gen-py"),
                              "--mode-file", s.mode_file, "--log", s.log_file] + lake_args + (
                                  ["--sasl"] if sasl else [])
        cls.standins = {
            "thrift": StandIn("thrift", root, hs2(False)),
            "hive-sasl": StandIn("hive-sasl", root, hs2(True)),
            "livy": StandIn("livy", root, lambda s: [
                py, os.path.join(STANDINS, "livy_server.py"), "--port", str(s.port),
                "--mode-file", s.mode_file, "--log", s.log_file] + lake_args),
        }
        for s in cls.standins.values():
            s.start()
        hadoop = StandIn("hadoop", root, None)  # not a server: the service runs it
        cls.standins["hadoop"] = hadoop
        cls.hadoop_bin = os.path.join(root, "hadoop")
        with open(cls.hadoop_bin, "w", encoding="utf-8") as f:
            f.write("#!/bin/sh\nexec %s %s \"$@\"\n" % (py, os.path.join(STANDINS, "fake_hadoop.py")))
        os.chmod(cls.hadoop_bin, 0o755)

        timeout = {"CONTACTS_ANALYTICS_TIMEOUT_MS": str(TIMEOUT_MS), "CONTACTS_CACHE_ENABLED": "true",
                   "CONTACTS_ANALYTICS_CACHE_TTL": "600"}
        configs = {
            "database": {},
            "thrift": {"CONTACTS_ANALYTICS_ENGINE": "spark",
                       "CONTACTS_THRIFT_HOST": "127.0.0.1:%d" % cls.standins["thrift"].port},
            "livy": {"CONTACTS_ANALYTICS_ENGINE": "spark",
                     "CONTACTS_LIVY_URL": "http://127.0.0.1:%d/" % cls.standins["livy"].port},
            "hadoop": {"CONTACTS_ANALYTICS_ENGINE": "hadoop", "CONTACTS_HADOOP_BIN": cls.hadoop_bin,
                       "CONTACTS_HADOOP_JOB_JAR": "/opt/jobs/contacts-analytics.jar",
                       "FAKE_HADOOP_DDL": cls.ddl, "FAKE_HADOOP_CSV": cls.lake_csv,
                       "FAKE_HADOOP_MODE_FILE": hadoop.mode_file, "FAKE_HADOOP_LOG": hadoop.log_file},
            "hive-sasl": {"CONTACTS_ANALYTICS_ENGINE": "hadoop",
                          "CONTACTS_THRIFT_HOST": "127.0.0.1:%d" % cls.standins["hive-sasl"].port,
                          "CONTACTS_THRIFT_AUTH": "plain", "CONTACTS_THRIFT_USER": "analyst",
                          "CONTACTS_THRIFT_PASSWORD": SASL_PASSWORD},
            # No password: "anonymous" is sent (the stand-in, like HiveServer2, refuses none).
            "hive-anonymous": {"CONTACTS_ANALYTICS_ENGINE": "spark",
                               "CONTACTS_THRIFT_HOST": "127.0.0.1:%d" % cls.standins["hive-sasl"].port,
                               "CONTACTS_THRIFT_AUTH": "plain"},
        }
        for name, env in configs.items():
            copy = os.path.join(root, "data-" + name)
            harness.copy_store(data, copy)
            server = harness.Server("engine-" + name, CTX.binary, copy, CTX.root, dict(timeout, **env))
            CTX.servers.append(server)
            cls.servers[name] = server
            server.start()
        db = cls.servers["database"].client
        for limit in (3, 10, 50):
            cls.reference[limit] = without_time(db.get_json(ANALYTICS, {"limit": str(limit)}))

    @classmethod
    def tearDownClass(cls):
        for s in cls.standins.values():
            s.stop()
        for s in cls.servers.values():
            s.stop()

    def setUp(self):
        super().setUp()
        if self.error:
            self.fail(self.error)
        for s in self.standins.values():
            s.set_mode("ok")

    def analytics(self, name, params=None, headers=NO_CACHE):
        t0 = time.time()
        r = self.servers[name].client.get(ANALYTICS, params, headers=headers)
        elapsed = time.time() - t0
        self.assertEqual(r.status, 200, r.describe())
        return r.json(), elapsed, r

    def expect_engine_answer(self, name, source, job_configured):
        for limit in (3, 10, 50):
            with self.subTest(server=name, limit=limit):
                body, _, _ = self.analytics(name, {"limit": str(limit)})
                want = dict(self.reference[limit], source=source, hadoop_job_configured=job_configured)
                self.assertEqual(without_time(body), want)

    # Happy paths: the engines' numbers are the store's, on the same data.

    def test_database_engine_is_the_reference(self):
        ref = self.reference[10]
        self.assertEqual(ref["source"], "database")
        self.assertIs(ref["hadoop_job_configured"], False)
        self.assertGreater(ref["total_contacts"], 2900)  # 3,000 generated, a few merged by e-mail
        self.assertEqual(len(ref["top_countries"]), 10)

    def test_spark_thrift_server(self):
        before = self.standins["thrift"].log()
        self.expect_engine_answer("thrift", "spark", False)
        calls = self.standins["thrift"].log()[len(before):]
        # Three statements an answer, each closed, and the session closed.
        self.assertEqual(calls.count("OpenSession"), 3, calls)
        self.assertEqual(calls.count("CloseSession"), 3, calls)
        self.assertEqual(calls.count("ExecuteStatement async=True"), 9, calls)
        self.assertEqual(calls.count("CloseOperation"), 9, calls)

    def test_spark_thrift_server_with_row_based_results(self):
        self.standins["thrift"].set_mode("rowbased")  # answers as protocol V5 (rows, not columns)
        self.expect_engine_answer("thrift", "spark", False)

    def test_livy(self):
        before = self.standins["livy"].log()
        self.expect_engine_answer("livy", "spark", False)
        calls = self.standins["livy"].log()[len(before):]
        self.assertLessEqual(calls.count("POST /sessions "), 1, calls)  # one session, reused
        self.assertIn("csrf=contacts-api", calls)

    def test_hadoop_job(self):
        before = self.standins["hadoop"].log()
        self.expect_engine_answer("hadoop", "hadoop", True)
        calls = self.standins["hadoop"].log()[len(before):]
        self.assertIn("hadoop jar /opt/jobs/contacts-analytics.jar default.contacts /tmp/contacts-analytics/", calls)
        self.assertEqual(calls.count("hadoop fs -cat "), 3, calls)
        self.assertEqual(calls.count("hadoop fs -rm -r -f -skipTrash "), 3, calls)

    def test_hadoop_through_hiveserver2_with_sasl_plain(self):
        before = self.standins["hive-sasl"].log()
        self.expect_engine_answer("hive-sasl", "hadoop", False)
        calls = self.standins["hive-sasl"].log()[len(before):]
        self.assertIn("SASL PLAIN user=analyst password_length=%d" % len(SASL_PASSWORD), calls)
        stderr = self.servers["hive-sasl"].stderr_tail(10 ** 6)
        self.assertNotIn(SASL_PASSWORD, stderr)

    def test_sasl_plain_without_a_password_sends_anonymous(self):
        before = self.standins["hive-sasl"].log()
        body, _, _ = self.analytics("hive-anonymous")
        self.assertEqual(without_time(body), dict(self.reference[10], source="spark"))
        calls = self.standins["hive-sasl"].log()[len(before):]
        self.assertIn("SASL PLAIN user=contacts password_length=%d" % len("anonymous"), calls)

    # Failures: the store answers, within the timeout, and says so.

    def expect_fallback(self, name, engine, reason, max_seconds, min_seconds=0.0):
        client = self.servers[name].client
        before = failures(client, engine, reason)
        body, elapsed, _ = self.analytics(name)
        self.assertEqual(without_time(body), dict(self.reference[10], hadoop_job_configured=(name == "hadoop")))
        self.assertEqual(body["source"], "database")
        self.assertLess(elapsed, max_seconds)
        self.assertGreaterEqual(elapsed, min_seconds)
        self.assertEqual(failures(client, engine, reason), before + 1)
        harness.log("fallback %s (%s): %.2fs" % (name, reason, elapsed))
        return elapsed

    def test_slow_engines_fall_back_at_the_timeout_while_reads_stay_fast(self):
        timeout_s = TIMEOUT_MS / 1000.0
        for name, engine in (("thrift", "spark"), ("livy", "spark"), ("hadoop", "hadoop")):
            with self.subTest(server=name):
                self.standins[name].set_mode("slow:30")
                probes = []
                def probe(client):
                    # The health probe and a list page, on a client of their own, meanwhile.
                    time.sleep(0.3)
                    while len(probes) < 10:
                        for path, params in (("/api/health/", None), ("/api/contacts/", {"page_size": "5"})):
                            t0 = time.time()
                            r = client.get(path, params)
                            probes.append((path, r.status, time.time() - t0))
                        time.sleep(0.1)
                side = harness.http.Client(harness.LOOPBACK, self.servers[name].port)
                t = threading.Thread(target=probe, args=(side,))
                t.start()
                self.expect_fallback(name, engine, "timeout", timeout_s + MARGIN_S, timeout_s - 0.05)
                t.join()
                side.close()
                worst = max(p[2] for p in probes)
                harness.log("meanwhile on %s: %d reads, slowest %.3fs" % (name, len(probes), worst))
                self.assertTrue(all(p[1] == 200 for p in probes), probes)
                self.assertLess(worst, 0.5, probes)

    def test_dead_engines_fall_back_at_once(self):
        for name in ("thrift", "livy"):
            with self.subTest(server=name):
                s = self.standins[name]
                port = s.port
                s.stop()
                try:
                    self.expect_fallback(name, "spark", "unavailable", 1.0)
                finally:
                    s.start(port)
        # A `hadoop` that cannot be run: the job's executable is gone.
        os.rename(self.hadoop_bin, self.hadoop_bin + ".away")
        try:
            self.expect_fallback("hadoop", "hadoop", "unavailable", 1.0)
        finally:
            os.rename(self.hadoop_bin + ".away", self.hadoop_bin)

    def test_malformed_answers_fall_back(self):
        for name, engine in (("thrift", "spark"), ("livy", "spark"), ("hadoop", "hadoop")):
            with self.subTest(server=name):
                self.standins[name].set_mode("malformed")
                before = self.standins[name].log()
                self.expect_fallback(name, engine, "malformed", TIMEOUT_MS / 1000.0)
                if name == "hadoop":  # the job's output is removed all the same
                    calls = self.standins[name].log()[len(before):].splitlines()
                    self.assertTrue(calls[-1].startswith("hadoop fs -rm -r -f -skipTrash "), calls)
                    self.assertFalse(os.path.exists(calls[-1].split()[-1]))

    def test_engine_errors_fall_back_with_a_warning(self):
        for name, engine in (("thrift", "spark"), ("livy", "spark"), ("hadoop", "hadoop")):
            with self.subTest(server=name):
                self.standins[name].set_mode("error")
                self.expect_fallback(name, engine, "error", TIMEOUT_MS / 1000.0)
                lines = [json.loads(l) for l in self.servers[name].stderr_tail(10 ** 6).splitlines()
                         if l.startswith("{") and "analytics engine failed" in l]
                self.assertTrue(lines, "no warning logged")
                self.assertEqual(lines[-1]["level"], "warning")
                self.assertIn(engine + " error: ", lines[-1]["error"])

    # The cache: an engine's answer is kept like the store's.

    def test_engine_answers_are_cached(self):
        s = self.standins["thrift"]
        first, _, r1 = self.analytics("thrift", {"limit": "7"}, headers=None)
        self.assertEqual(first["source"], "spark")
        before = s.log().count("ExecuteStatement")
        second, elapsed, r2 = self.analytics("thrift", {"limit": "7"}, headers=None)
        self.assertEqual(r2.header("X-Cache-Hit"), "true")
        self.assertEqual(second, first)
        self.assertEqual(s.log().count("ExecuteStatement"), before)
        # Even with the engine gone: the cached answer stands until its TTL.
        s.set_mode("error")
        third, _, r3 = self.analytics("thrift", {"limit": "7"}, headers=None)
        self.assertEqual(r3.header("X-Cache-Hit"), "true")
        self.assertEqual(third["source"], "spark")

    # Start-up: settings that cannot work stop the program.

    def test_invalid_engine_settings_stop_the_server_naming_the_variable(self):
        cases = [({"CONTACTS_ANALYTICS_ENGINE": "spark"}, "CONTACTS_ANALYTICS_ENGINE"),
                 ({"CONTACTS_ANALYTICS_ENGINE": "spark", "CONTACTS_THRIFT_HOST": "nohost"},
                  "CONTACTS_THRIFT_HOST"),
                 ({"CONTACTS_ANALYTICS_TIMEOUT_MS": "soon"}, "CONTACTS_ANALYTICS_TIMEOUT_MS")]
        for env, variable in cases:
            with self.subTest(variable=variable):
                full = harness.import_env(os.path.join(self.root, "data"))
                full.update(env)
                p = subprocess.run([CTX.binary, "serve"], env=full, capture_output=True, timeout=60)
                self.assertEqual(p.returncode, 1)
                self.assertIn("contacts-api serve: %s: " % variable, p.stderr.decode())


class CliExport(ApiTest):
    """`contacts-api export`: the file is the HTTP export's, byte for byte."""

    def test_cli_export_equals_the_http_export(self):
        data = os.path.join(CTX.root, "data-nocache")
        env = harness.import_env(data)
        for params in ({}, {"country": "Germany"}, {"search": "e a", "ordering": "-last_name"}):
            with self.subTest(params=params):
                out = os.path.join(CTX.root, "cli-export-%d.csv" % len(params))
                args = [CTX.binary, "export", "--output", out]
                for k, v in params.items():
                    args += ["--filter", "%s=%s" % (k, v)]
                p = harness.run_cmd(args, env=env)
                self.assertEqual(p.returncode, 0, p.stderr)
                r = CTX.nocache.client.get("/api/contacts/export/", params)
                self.assertEqual(r.status, 200)
                with open(out, "rb") as f:
                    got = f.read()
                self.assertEqual(got, r.body)
                self.assertGreater(got.count(b"\r\n"), 1)

    def test_cli_export_refuses_unknown_parameters(self):
        env = harness.import_env(os.path.join(CTX.root, "data-nocache"))
        p = harness.run_cmd([CTX.binary, "export", "--output", os.path.join(CTX.root, "x.csv"),
                             "--filter", "ordering=nonsense"], env=env)
        self.assertEqual(p.returncode, 1)
        self.assertIn(b"contacts-api export: ", p.stderr)

    def test_hive_ddl_names_the_csv_columns_in_order(self):
        env = harness.import_env(os.path.join(CTX.root, "data-nocache"))
        env.update({"CONTACTS_HIVE_DATABASE": "lake", "CONTACTS_HIVE_TABLE": "people"})
        p = harness.run_cmd([CTX.binary, "export", "--hive-ddl", "--location", "hdfs:///lake/people"],
                            env=env)
        self.assertEqual(p.returncode, 0, p.stderr)
        ddl = p.stdout.decode()
        self.assertTrue(ddl.startswith("CREATE EXTERNAL TABLE IF NOT EXISTS `lake`.`people` ("), ddl)
        columns = re.findall(r"^  `(\w+)` STRING", ddl, re.M)
        header = CTX.nocache.client.get("/api/contacts/export/", {"search": "zz-no-match"}).body
        labels = header.decode().strip().split(",")
        self.assertEqual(len(columns), len(labels))
        self.assertEqual(columns[-3:], ["id", "created_at", "updated_at"])
        self.assertIn("'skip.header.line.count' = '1'", ddl)
        self.assertIn("LOCATION 'hdfs:///lake/people'", ddl)
