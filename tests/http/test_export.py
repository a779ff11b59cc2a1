"""CSV export (issue 6): GET /api/contacts/export/ over HTTP with the real binary.

The expected files are built here, independently of the server's CSV code: the contacts of the
list endpoint (walked through all its pages, and the model of expect.py for the order),
serialised with Python's csv module (RFC 4180, minimal quoting, CRLF).
"""
import csv
import io
import os
import re
import socket
import time

import expect
import harness
from harness import CTX, ApiTest

EXPORT = "/api/contacts/export/"
# The Apollo export labels of the contact fields, in Apollo's order (the generator's header
# without its three columns that are no contact field), then what the store assigns.
APOLLO_ORDER = [
    "First Name", "Last Name", "Title", "Company", "Company Name for Emails", "Email",
    "Email Status", "Primary Email Catch-all Status", "Seniority", "Departments",
    "Work Direct Phone", "Home Phone", "Mobile Phone", "Corporate Phone", "Other Phone", "Stage",
    "# Employees", "Industry", "Keywords", "Person Linkedin Url", "Website",
    "Company Linkedin Url", "Facebook Url", "Twitter Url", "City", "State", "Country",
    "Company Address", "Company City", "Company State", "Company Country", "Company Phone",
    "Technologies", "Annual Revenue", "Total Funding", "Latest Funding", "Latest Funding Amount",
    "Last Raised At",
]
HEADER = APOLLO_ORDER + ["id", "created_at", "updated_at"]
FIELDS = [expect.APOLLO_LABELS[label] for label in APOLLO_ORDER]
# The last three columns of a record: never quoted (digits, RFC 3339 times).
ASSIGNED_TAIL = re.compile(rb",\d+,\d{4}-\d\d-\d\dT[0-9:.]+Z,\d{4}-\d\d-\d\dT[0-9:.]+Z\r\n")
FILENAME = re.compile(r'^attachment; filename="contacts-\d{8}-\d{6}\.csv"$')
BIG_ROWS = 20000  # the data set of the snapshot and memory tests: a ~10 MB export


def csv_bytes(rows):
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for row in rows:
        writer.writerow(row)
    return out.getvalue().encode("utf-8")


def expected_export(contacts):
    """The export of `contacts` (list endpoint items), in their order."""
    rows = [HEADER]
    for c in contacts:
        rows.append([c[f] if f in expect.TEXT_FIELDS else ("" if c[f] is None else str(c[f]))
                     for f in FIELDS] + [str(c["id"]), c["created_at"], c["updated_at"]])
    return csv_bytes(rows)


def records(body):
    return list(csv.reader(io.StringIO(body.decode("utf-8"), newline=""), strict=True))


def vm_rss(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS for %d" % pid)


class RawExport:
    """GET of the export on a socket of its own, read as slowly as a test wants."""

    def __init__(self, port, target=EXPORT, receive_buffer=32 * 1024):
        self.s = socket.socket()
        self.s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
        self.s.settimeout(30)
        self.s.connect((harness.LOOPBACK, port))
        self.s.sendall(("GET %s HTTP/1.1\r\nHost: t\r\n\r\n" % target).encode())
        self.buf = b""
        while b"\r\n\r\n" not in self.buf:
            chunk = self.s.recv(65536)
            if not chunk:
                raise AssertionError("connection closed before the head")
            self.buf += chunk
        self.head, self.buf = self.buf.split(b"\r\n\r\n", 1)

    def read_some(self, n):
        while len(self.buf) < n:
            chunk = self.s.recv(65536)
            if not chunk:
                break
            self.buf += chunk
        return len(self.buf)

    def read_to_end(self):
        """The decoded chunked body; fails when it does not end with the last chunk."""
        while not self.buf.endswith(b"\r\n0\r\n\r\n") or not self._decode():
            chunk = self.s.recv(1 << 20)
            if not chunk:
                raise AssertionError("body cut short after %d bytes" % len(self.buf))
            self.buf += chunk
        return self._decode()

    def _decode(self):
        body, at = [], 0
        while True:
            eol = self.buf.find(b"\r\n", at)
            if eol < 0:
                return None
            size = int(self.buf[at:eol], 16)
            at = eol + 2
            if size == 0:
                return b"".join(body) if self.buf[at:] == b"\r\n" else None
            body.append(self.buf[at:at + size])
            at += size + 2

    def close(self):
        self.s.close()


class Export(ApiTest):

    def export(self, params=None, client=None, headers=None):
        r = self.get(EXPORT, params, headers=headers, client=client)
        self.assertEqual(r.status, 200, r.describe())
        return r

    def list_walk(self, params):
        """Every contact of the list endpoint for `params`, following `next`."""
        query = dict(params)
        ordering = query.get("ordering", "-created_at").replace(" ", "")
        cursor = ordering in ("created_at", "-created_at")
        query.update({"page_size": "100"} if cursor else {"limit": "100"})
        return self.walk("/api/contacts/", query)

    def test_head_and_headers(self):
        r = self.export()
        self.assertEqual(r.header("Content-Type"), "text/csv; charset=utf-8")
        self.assertRegex(r.header("Content-Disposition") or "", FILENAME)
        self.assertEqual(r.header("Transfer-Encoding"), "chunked")
        self.assertIsNone(r.header("Content-Length"))
        self.assertTrue(r.header("X-Request-Id"))
        self.assertEqual(r.header("Cache-Control"), "no-store")
        head = self.c.request("HEAD", EXPORT + "?country=germany")
        self.assertEqual(head.status, 200)
        self.assertEqual(head.body, b"")
        for name in ("Content-Type", "Transfer-Encoding", "Cache-Control"):
            self.assertEqual(head.header(name), r.header(name), name)
        self.assertRegex(head.header("Content-Disposition") or "", FILENAME)
        # The connection goes on after both.
        self.assertEqual(self.get("/api/health/").status, 200)
        # Without the trailing slash, the same file.
        self.assertEqual(self.get("/api/contacts/export", {"ordering": "id"}).body,
                         self.export({"ordering": "id"}).body)

    def test_other_methods_are_405(self):
        r = self.c.request("POST", EXPORT, body=b"x")
        self.assert_error(r, 405, expect.msg_method("POST"))
        self.assertEqual(r.header("Allow"), "GET, HEAD, OPTIONS")

    def test_whole_store_in_the_list_endpoints_default_order(self):
        body = self.export().body
        self.assertTrue(body.startswith(csv_bytes([HEADER])), body[:400])
        self.assertEqual(body, expected_export(self.dump))
        self.assertEqual(len(records(body)), len(self.dump) + 1)

    def test_filters_search_and_ordering_are_the_list_endpoints(self):
        cases = [
            {},
            {"ordering": "created_at"},
            {"ordering": "id"},
            {"ordering": "-employees,country"},
            {"ordering": "title", "search": "manager"},
            {"country": "germany", "employees_min": "10"},
            {"search": "engineer, cloud", "ordering": "-last_name"},
            {"email_status": "verified", "ordering": "-annual_revenue"},
            {"title": "müller"},
            {"created_at_after": "2000-01-01", "ordering": "-updated_at,first_name"},
            {"seniority": "director", "ordering": "company_city,-id"},
        ]
        for params in cases:
            with self.subTest(params=params):
                listed = self.list_walk(params)
                self.assert_ids(listed, self.expected_ids(params, params.get("ordering")),
                                "list %s" % params)
                self.assertEqual(self.export(params).body, expected_export(listed), params)

    def test_unicode_and_quoting_of_the_suites_data(self):
        body = self.export({"email": "example.", "ordering": "email"}).body
        self.assertEqual(body, expected_export(self.list_walk({"email": "example.",
                                                               "ordering": "email"})))
        for fragment in ['Jürgen,MÜLLER,"Head of Engineering, Platform",Müller & Söhne GmbH,',
                         '"1-2-3 Marunouchi\r\nChiyoda"', "Zoë,🚀 Rocket,🚀 Launch Lead,",
                         "Ａｌｉｃｅ", "東京"]:
            self.assertIn(fragment.encode("utf-8"), body)

    def test_empty_result_is_the_header_alone(self):
        for params in ({"email": "nobody-has-this@nowhere.example"},
                       {"employees_min": "999999999999"}, {"search": "zzqqxxyy"}):
            self.assertEqual(self.export(params).body, csv_bytes([HEADER]), params)

    def test_parameter_errors_are_the_list_endpoints(self):
        for params in ({"ordering": "bogus"}, {"employees_min": "-1"},
                       {"created_at_after": "yesterday"}, {"use_replica": "maybe"},
                       {"annual_revenue_max": "1e6"}):
            with self.subTest(params=params):
                want = self.get("/api/contacts/", params)
                self.assertEqual(want.status, 400, want.describe())
                got = self.get(EXPORT, params)
                self.assert_error(got, 400, want.json()["detail"])

    def test_pagination_parameters_do_not_apply(self):
        whole = self.export({"ordering": "-employees"}).body
        for params in ({"limit": "5", "offset": "10"}, {"page_size": "1", "cursor": "garbage"},
                       {"limit": "abc", "page_size": "0", "include_meta": "true"}):
            self.assertEqual(self.export(dict(params, ordering="-employees")).body, whole, params)

    def test_a_client_leaving_mid_stream_leaves_the_server_healthy(self):
        for i in range(20):
            e = RawExport(CTX.main.port, EXPORT + "?ordering=%s" % ("title" if i % 2 else "id"))
            e.read_some(1000 * (i + 1))
            e.close()
        # A client that stops reading while others are served.
        stalled = RawExport(CTX.main.port)
        try:
            self.assertEqual(self.get("/api/health/").status, 200)
            self.assertEqual(self.export().body, expected_export(self.dump))
        finally:
            stalled.close()
        self.assertTrue(CTX.main.alive())
        self.assertEqual(self.get_json("/api/contacts/count/"), {"count": len(self.dump)})


class ExportAuth(ApiTest):
    """Same access rule as the other reads (CONTACTS_READS_REQUIRE_AUTH)."""
    needs_dump = False

    def test_reads_rule(self):
        import test_auth
        public, protected = test_auth.servers()
        self.assertEqual(public.get(EXPORT).status, 200)
        r = protected.get(EXPORT)
        self.assertEqual(r.status, 401, r.describe())
        self.assertEqual(r.header("WWW-Authenticate"), "Bearer")
        self.assertEqual(r.json(), {"detail": "Authentication credentials were not provided."})
        self.assertEqual(protected.request("HEAD", EXPORT).status, 401)
        r = protected.get(EXPORT, headers={"Authorization": "Bearer not.a.token"})
        self.assertEqual(r.status, 401, r.describe())
        token = protected.request("POST", "/api/auth/token/",
                                  headers={"Content-Type": "application/json"},
                                  body=('{"username": "%s", "password": "%s"}'
                                        % test_auth.USER).encode()).json()["access"]
        r = protected.get(EXPORT, headers={"Authorization": "Bearer " + token})
        self.assertEqual(r.status, 200, r.describe())
        self.assertEqual(r.header("Content-Type"), "text/csv; charset=utf-8")
        self.assertTrue(r.body.startswith(csv_bytes([HEADER])))


def export_by_id(test, client):
    r = client.get(EXPORT, {"ordering": "id"})
    test.assertEqual(r.status, 200, r.describe())
    return r.body


def start_server(name, data_dir):
    server = harness.Server(name, CTX.binary, data_dir, CTX.root,
                            {"CONTACTS_CACHE_ENABLED": "false"})
    CTX.servers.append(server)
    server.start(timeout=120)
    return server


def check_round_trip(test, client, label):
    """Exports everything from `client` (ordering=id), imports the file with
    `contacts-api import` into a fresh store, exports that, and compares (see RoundTrip)."""
    first = export_by_id(test, client)
    originals = test.walk("/api/contacts/", {"ordering": "id", "limit": "100"}, client=client)
    path = os.path.join(CTX.root, label + ".csv")
    with open(path, "wb") as f:
        f.write(first)
    data = os.path.join(CTX.root, "data-" + label)
    os.makedirs(data)
    info = harness.run_import(label, path, data, os.path.join(CTX.root, label + "-errors.csv"))
    test.assertEqual(info["rc"], 0, info["stderr"][-2000:])
    n = len(originals)
    test.assertEqual(info["summary"], (n, n, 0), info["stdout"])
    server = start_server(label, data)
    try:
        second = export_by_id(test, server.client)
        # Byte for byte, once the three assigned columns are cut off each record.
        cut_first, n_first = ASSIGNED_TAIL.subn(b"\r\n", first)
        cut_second, n_second = ASSIGNED_TAIL.subn(b"\r\n", second)
        test.assertEqual((n_first, n_second), (n, n))
        test.assertEqual(cut_second, cut_first)
        # The contacts as the API shows them: every field the same, the originals kept.
        copied = test.walk("/api/contacts/", {"ordering": "id", "limit": "100",
                                              "include_meta": "true"}, client=server.client)
        test.assertEqual(len(copied), n)
        for want, got in zip(originals, copied):
            test.assertEqual({f: got[f] for f in expect.ALL_API_FIELDS},
                             {f: want[f] for f in expect.ALL_API_FIELDS})
            test.assertEqual(got["meta_data"], {"id": str(want["id"]),
                                                "created_at": want["created_at"],
                                                "updated_at": want["updated_at"]})
    finally:
        server.stop()


class RoundTrip(ApiTest):
    """The exported file imports back into an empty store unchanged.

    "Unchanged" means: the same contacts, in the same order, with every contact field (the 34
    text fields and the 4 numbers) identical, so that exporting the new store gives the same
    file byte for byte except the last three columns. What cannot match: `id`, `created_at`
    and `updated_at` are assigned by the importing store (contract section 2); the file's
    columns of those names are no contact field, so the import keeps the original values in
    meta_data (contract section 8), which this test checks too. meta_data itself is not part
    of the export (only the Apollo headers are), so the original meta_data is not carried over.
    """

    def test_the_suites_data_set(self):
        check_round_trip(self, CTX.main.client, "export-roundtrip")

    def test_values_that_need_quoting(self):
        check_round_trip(self, quoting_server().client, "export-roundtrip-quoting")


# Values CSV must quote or keep as they are; the import trims surrounding whitespace.
QUOTING_ROWS = [
    ["First Name", "Last Name", "Email", "Title", "Company", "Keywords", "City", "# Employees",
     "Annual Revenue", "Last Raised At", "Lead Source"],
    ["Ann", 'O"Neil', "ann@q.example", 'Head, "Ops"', '"Quoted" Inc', "a,b , c", "Line1\nLine2",
     "1,500", "", "2024-02-03", "x"],
    ["Björn", "Ångström", "bjorn@q.example", "CR\r\nLF", "Comma, Co", "", "東京", "0", "12",
     "Q3 2021", ""],
    ["=SUM(A1)", "'quote", "formula@q.example", "@at", "+plus", "-minus", "", "", "", "", ""],
    ["🚀", "", "", "emoji only name", '"', ",", '""', "7", "", "", ""],
    ["  Padded  ", "\tTabbed", "pad@q.example", " x ", "", "", "", "", "", "", ""],
]


def quoting_server():
    if QuotingServer.server is None and QuotingServer.error is None:
        try:
            path = os.path.join(CTX.root, "export-quoting.csv")
            with open(path, "w", newline="", encoding="utf-8") as f:
                csv.writer(f, quoting=csv.QUOTE_ALL, lineterminator="\r\n").writerows(
                    QUOTING_ROWS)
            data = os.path.join(CTX.root, "data-export-quoting")
            os.makedirs(data)
            info = harness.run_import("export-quoting", path, data)
            assert info["summary"] == (5, 5, 0), info
            QuotingServer.server = start_server("export-quoting", data)
        except Exception as e:  # noqa: BLE001 - reported by every test using it
            QuotingServer.error = "export-quoting server did not start: %s" % e
    if QuotingServer.error:
        raise AssertionError(QuotingServer.error)
    return QuotingServer.server


class QuotingServer(ApiTest):
    """A store of its own holding QUOTING_ROWS."""
    needs_dump = False
    server = None
    error = None

    def test_quoting_of_commas_quotes_newlines_and_unicode(self):
        client = quoting_server().client
        r = client.get(EXPORT, {"ordering": "id"})
        self.assertEqual(r.status, 200, r.describe())
        listed = self.walk("/api/contacts/", {"ordering": "id", "limit": "100"}, client=client)
        self.assertEqual(len(listed), 5)
        self.assertEqual(r.body, expected_export(listed))
        # RFC 4180: quotes doubled inside quotes, fields with , " CR LF quoted, nothing else.
        for fragment in ['Ann,"O""Neil","Head, ""Ops""","""Quoted"" Inc",', '"a,b , c"',
                         '"Line1\nLine2"', '"CR\r\nLF","Comma, Co"', "Björn,Ångström,", ",東京,",
                         "=SUM(A1),'quote,@at,+plus,", "🚀,,", '"""",', '","', '""""""',
                         "Padded,Tabbed,", ",x,", ",1500,", ",12,", ",2024-02-03,", ",Q3 2021,"]:
            self.assertIn(fragment.encode("utf-8"), r.body, fragment)
        rows = records(r.body)
        self.assertEqual([row[HEADER.index("Title")] for row in rows[1:]],
                         ['Head, "Ops"', "CR\r\nLF", "@at", "emoji only name", "x"])


class BigExport(ApiTest):
    """A store of its own with BIG_ROWS contacts: an export far larger than socket buffers."""
    needs_dump = False
    server = None
    error = None

    @classmethod
    def big_server(cls):
        if cls.server is None and cls.error is None:
            try:
                path = os.path.join(CTX.root, "gen_big.csv")
                p = harness.run_cmd([CTX.binary, "generate", "--rows", str(BIG_ROWS), "--seed",
                                     "99", "--out", path])
                assert p.returncode == 0, p.stderr
                data = os.path.join(CTX.root, "data-export-big")
                os.makedirs(data)
                info = harness.run_import("export-big", path, data)
                assert info["rc"] == 0, info["stderr"][-2000:]
                cls.server = harness.Server("export-big", CTX.binary, data, CTX.root,
                                            {"CONTACTS_CACHE_ENABLED": "false"})
                CTX.servers.append(cls.server)
                cls.server.start(timeout=120)
            except Exception as e:  # noqa: BLE001 - reported by every test of the class
                cls.error = "export-big server did not start: %s" % e
        if cls.error:
            raise AssertionError(cls.error)
        return cls.server

    def test_an_export_reads_one_snapshot_while_an_import_lands(self):
        server = self.big_server()
        target = EXPORT + "?ordering=id"
        before = server.client.get(target).body
        self.assertGreater(len(before), 8 * 1024 * 1024)
        paused = RawExport(server.port, target)
        try:
            paused.read_some(64 * 1024)
            # Meanwhile: new contacts and updated ones, and the server's index swapped.
            info = harness.run_import("export-big-more", CTX.generated["gen_other"][0],
                                      server.data_dir)
            self.assertEqual(info["rc"], 0, info["stderr"][-2000:])
            deadline = time.time() + 30
            count = None
            while time.time() < deadline:
                count = server.client.get_json("/api/contacts/count/",
                                               headers={"Cache-Control": "no-cache"})["count"]
                if count > BIG_ROWS:
                    break
                time.sleep(0.2)
            self.assertGreater(count, BIG_ROWS, "the import never showed")
            after = server.client.get(target).body
            self.assertNotEqual(after, before)
            self.assertEqual(paused.read_to_end(), before)
        finally:
            paused.close()

    def test_clients_that_do_not_read_cost_no_memory(self):
        server = self.big_server()
        pid = server.proc.pid
        file_size = len(server.client.get(EXPORT, {"ordering": "-employees"}).body)  # warm-up
        baseline = vm_rss(pid)
        stalled = [RawExport(server.port, EXPORT + "?ordering=%s" % o)
                   for o in ("id", "-employees", "title", "-created_at") * 2]
        try:
            for e in stalled:
                e.read_some(1024)
            time.sleep(1.0)
            grown = vm_rss(pid) - baseline
            harness.log("8 stalled exports: server VmRSS %+d KiB" % (grown // 1024))
            # Eight exports of a ~14 MB file each, held by clients that read nothing: the server
            # keeps one piece (64 KiB) and one batch of contacts per export, not the files
            # (about 5 MiB in all; about 24 MiB in a sanitized build, whose allocator keeps
            # freed memory in quarantine). Buffering the files would take 8 of them.
            self.assertLess(grown, 4 * file_size, "VmRSS grew by %d bytes" % grown)
            self.assertEqual(server.client.get("/api/health/").status, 200)
        finally:
            for e in stalled:
                e.close()
