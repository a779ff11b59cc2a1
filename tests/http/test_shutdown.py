"""Checks made after the servers were stopped."""
import unittest

from harness import CTX


class Shutdown(unittest.TestCase):

    def test_servers_were_alive_until_stopped(self):
        alive = getattr(CTX, "alive_before_stop", {})
        self.assertTrue(alive, CTX.error or "no server was started")
        self.assertEqual({k: v for k, v in alive.items() if not v}, {},
                         "server(s) died during the tests")

    def test_sigterm_stops_every_server_promptly_with_status_0(self):
        stopped = [s for s in CTX.servers if s.proc is not None]
        self.assertTrue(stopped, CTX.error or "no server was started")
        for s in stopped:
            self.assertFalse(s.killed, "server %s ignored SIGTERM for 20 s" % s.name)
            self.assertEqual(s.returncode, 0, "server %s exit status (stderr: %s)" % (
                s.name, s.stderr_tail(1500)))

    def test_no_sanitizer_reports_in_server_logs(self):
        self.assertTrue(CTX.servers, CTX.error or "no server was started")
        for s in CTX.servers:
            log = s.stderr_tail(10 ** 7)
            for marker in ("AddressSanitizer", "runtime error:", "LeakSanitizer"):
                self.assertNotIn(marker, log, "server %s stderr:\n%s" % (s.name, s.stderr_tail(3000)))
