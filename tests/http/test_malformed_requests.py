"""Malformed and hostile requests over raw sockets; the server answers and keeps serving."""
import json
import socket

import client as http
import expect
from harness import CTX, LOOPBACK, ApiTest

MALFORMED = [b"GARBAGE\r\n\r\n", b"GET\r\n\r\n", b"GET /api/health/\r\n\r\n",
             b"GET /api/health/ HTTP/1.1 extra\r\nHost: x\r\n\r\n",
             b"GET /api/health/ HTTP/1.1\r\nHost: x\r\nNoColonHeader\r\n\r\n"]


class MalformedRequests(ApiTest):
    needs_dump = False

    def raw(self, data, close_wait=0.3):
        return http.raw_exchange(LOOPBACK, CTX.main.port, data, close_wait)

    def assert_still_serving(self):
        r = http.Client(LOOPBACK, CTX.main.port).get("/api/health/")
        self.assertEqual((r.status, r.json()), (200, {"status": "ok"}))

    def assert_raw_error(self, res, status, detail):
        self.assertEqual(res.status, status, res.raw[:300])
        self.assertEqual((res.header("Content-Type") or "").replace(" ", "").lower(),
                         "application/json;charset=utf-8")
        self.assertEqual(json.loads(res.body.decode("utf-8")), {"detail": detail})

    def test_broken_request_line_is_400_then_closed(self):
        for data in MALFORMED:
            with self.subTest(request=data):
                res = self.raw(data, close_wait=5.0)
                self.assert_raw_error(res, 400, expect.MSG_MALFORMED)
                self.assertTrue(res.closed, "connection left open after a malformed request")
                self.assert_still_serving()

    def test_64_kib_header_is_431(self):
        data = (b"GET /api/health/ HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 65536 +
                b"\r\n\r\n")
        self.assert_raw_error(self.raw(data), 431, expect.MSG_HEADER_TOO_LARGE)
        self.assert_still_serving()

    def test_many_headers_adding_up_to_64_kib_is_431(self):
        lines = b"".join(b"X-H%d: %s\r\n" % (i, b"b" * 1000) for i in range(64))
        data = b"GET /api/health/ HTTP/1.1\r\nHost: x\r\n" + lines + b"\r\n"
        self.assert_raw_error(self.raw(data), 431, expect.MSG_HEADER_TOO_LARGE)
        self.assert_still_serving()

    def test_request_target_over_16_kib_is_414(self):
        for size in (16 * 1024 + 1, 64 * 1024, 1024 * 1024):
            with self.subTest(size=size):
                target = b"/api/contacts/?x=" + b"a" * (size - len(b"/api/contacts/?x="))
                res = self.raw(b"GET " + target + b" HTTP/1.1\r\nHost: x\r\n\r\n")
                self.assert_raw_error(res, 414, expect.MSG_URI_TOO_LONG)
                self.assertTrue(res.header("X-Request-Id"))
                self.assert_still_serving()
        target = b"/api/health/?x=" + b"a" * (16 * 1024 - len(b"/api/health/?x="))
        res = self.raw(b"GET " + target + b" HTTP/1.1\r\nHost: x\r\n\r\n")
        self.assertEqual(res.status, 200, res.raw[:300])

    def test_invalid_utf8_in_query(self):
        res = self.raw(b"GET /api/contacts/?title=%FF HTTP/1.1\r\nHost: x\r\n\r\n")
        self.assert_raw_error(res, 400, expect.MSG_UTF8)
        self.assert_still_serving()

    def test_negative_page_size(self):
        res = self.raw(b"GET /api/contacts/?page_size=-1 HTTP/1.1\r\nHost: x\r\n\r\n")
        self.assert_raw_error(res, 400, expect.msg_non_negative("page_size"))
        self.assert_still_serving()

    def test_ordering_password(self):
        res = self.raw(b"GET /api/contacts/?ordering=password HTTP/1.1\r\nHost: x\r\n\r\n")
        self.assert_raw_error(res, 400, expect.msg_ordering(["password"]))
        self.assert_still_serving()

    def test_forged_cursor(self):
        res = self.raw(b"GET /api/contacts/?cursor=J09SIDE9MS0t HTTP/1.1\r\nHost: x\r\n\r\n")
        self.assert_raw_error(res, 404, expect.MSG_INVALID_CURSOR)
        self.assert_still_serving()

    def test_connection_stays_usable_after_a_400(self):
        s = socket.create_connection((LOOPBACK, CTX.main.port), timeout=30)
        try:
            s.sendall(b"GET /api/contacts/?page_size=x HTTP/1.1\r\nHost: x\r\n\r\n")
            first = self._read_response(s)
            self.assertEqual(first[0], 400)
            s.sendall(b"GET /api/health/ HTTP/1.1\r\nHost: x\r\n\r\n")
            second = self._read_response(s)
            self.assertEqual((second[0], json.loads(second[1])), (200, {"status": "ok"}))
        finally:
            s.close()

    def _read_response(self, s):
        buf = b""
        while b"\r\n\r\n" not in buf:
            chunk = s.recv(65536)
            if not chunk:
                raise AssertionError("connection closed: %r" % buf)
            buf += chunk
        head, rest = buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        length = 0
        for line in lines[1:]:
            k, _, v = line.partition(":")
            if k.strip().lower() == "content-length":
                length = int(v.strip())
        while len(rest) < length:
            chunk = s.recv(65536)
            if not chunk:
                break
            rest += chunk
        return int(lines[0].split(" ")[1]), rest[:length]

    def test_client_closing_mid_request_does_not_hurt(self):
        for data in (b"GET /api/contacts/?page", b"GET /api/health/ HTTP/1.1\r\nHost: x\r\n",
                     b"POST /api/contacts/import/ HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n"
                     b"\r\nabc"):
            s = socket.create_connection((LOOPBACK, CTX.main.port), timeout=10)
            s.sendall(data)
            s.close()
        self.assert_still_serving()

    def test_many_concurrent_connections(self):
        import threading
        errors = []

        def worker():
            try:
                c = http.Client(LOOPBACK, CTX.main.port)
                for _ in range(10):
                    r = c.get("/api/contacts/", {"page_size": "5", "country": "a"})
                    if r.status != 200:
                        errors.append(r.describe())
                c.close()
            except Exception as e:  # noqa: BLE001
                errors.append(repr(e))

        threads = [threading.Thread(target=worker) for _ in range(16)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        self.assertEqual(errors, [])
        self.assert_still_serving()
