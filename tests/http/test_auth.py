"""Contract section 7: users from the command line, JWT tokens, 401/403 on protected routes."""
import base64
import hashlib
import hmac
import json
import os
import subprocess
import threading
import time
import unittest

import harness
from harness import CTX

ADMIN = ("admin", "correct horse battery")
USER = ("reader", "reader-password")
KEY = "http-tests-secret-key-0123456789abcdef"  # the harness gives every server this key


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forge(header, payload, key):
    head = b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(payload).encode())
    if key is None:
        return head + "."
    sig = hmac.new(key.encode(), head.encode(), hashlib.sha256).digest()
    return head + "." + b64url(sig)


def claims(**over):
    now = int(time.time())
    c = {"token_type": "access", "exp": now + 600, "iat": now, "jti": "a" * 32,
         "user_id": 1, "username": ADMIN[0], "is_staff": True}
    c.update(over)
    return c


class AuthServers:
    """Two servers on one store: reads public, and reads requiring a token."""
    public = None
    protected = None
    error = None


def servers():
    if AuthServers.public is None and AuthServers.error is None:
        try:
            data = os.path.join(CTX.root, "data-auth")
            os.makedirs(data, exist_ok=True)
            harness.create_user(data, "create-admin", ADMIN[0], ADMIN[1], via_stdin=True)
            harness.create_user(data, "create-user", USER[0], USER[1], via_stdin=False)
            AuthServers.public = harness.Server("auth", CTX.binary, data, CTX.root)
            AuthServers.protected = harness.Server(
                "auth-reads", CTX.binary, data, CTX.root, {"CONTACTS_READS_REQUIRE_AUTH": "true"})
            CTX.servers += [AuthServers.public, AuthServers.protected]
            AuthServers.public.start(timeout=60)
            AuthServers.protected.start(timeout=60)
        except Exception as e:  # reported by every test below
            AuthServers.error = "auth servers did not start: %s" % e
    if AuthServers.error:
        raise AssertionError(AuthServers.error)
    return AuthServers.public.client, AuthServers.protected.client


class Auth(unittest.TestCase):

    def setUp(self):
        self.c, self.protected = servers()

    def post_json(self, path, body, client=None):
        return (client or self.c).request("POST", path, headers={"Content-Type": "application/json"},
                                          body=json.dumps(body).encode())

    def tokens(self, who):
        r = self.post_json("/api/auth/token/", {"username": who[0], "password": who[1]})
        self.assertEqual(r.status, 200, r.describe())
        body = r.json()
        self.assertEqual(sorted(body), ["access", "refresh"])
        return body

    def get_import(self, token=None, client=None):
        headers = {"Authorization": "Bearer " + token} if token is not None else None
        return (client or self.c).get("/api/contacts/import/", headers=headers)

    def assert_detail(self, r, status, detail):
        self.assertEqual(r.status, status, r.describe())
        self.assertEqual(r.json(), {"detail": detail})

    def test_admin_token_opens_the_import_information(self):
        r = self.get_import(self.tokens(ADMIN)["access"])
        self.assert_detail(r, 200, "Upload contacts CSV via POST multipart/form-data with field 'file'.")

    def test_no_credentials_is_401_with_bearer_challenge(self):
        r = self.get_import()
        self.assert_detail(r, 401, "Authentication credentials were not provided.")
        self.assertEqual(r.header("WWW-Authenticate"), "Bearer")

    def test_wrong_password_and_unknown_user_get_the_same_401(self):
        for body in ({"username": ADMIN[0], "password": "wrong"},
                     {"username": "nobody", "password": ADMIN[1]}):
            r = self.post_json("/api/auth/token/", body)
            self.assert_detail(r, 401, "No active account found with the given credentials")

    def test_missing_fields_or_bad_json_is_400(self):
        r = self.post_json("/api/auth/token/", {"username": ADMIN[0]})
        self.assert_detail(r, 400, "Field 'password' is required.")
        r = self.c.request("POST", "/api/auth/token/", body=b"{not json")
        self.assert_detail(r, 400, "Request body must be a JSON object.")

    def test_non_admin_user_gets_403_on_admin_route(self):
        r = self.get_import(self.tokens(USER)["access"])
        self.assert_detail(r, 403, "You do not have permission to perform this action.")

    def test_invalid_tokens_are_401(self):
        now = int(time.time())
        bad = {
            "expired": forge({"alg": "HS256", "typ": "JWT"}, claims(exp=now - 5, iat=now - 100), KEY),
            "other key": forge({"alg": "HS256", "typ": "JWT"}, claims(), "another-key"),
            "alg none": forge({"alg": "none", "typ": "JWT"}, claims(), None),
            "refresh as access": self.tokens(ADMIN)["refresh"],
            "garbage": "not.a.token",
        }
        for what, token in bad.items():
            with self.subTest(what):
                r = self.get_import(token)
                self.assert_detail(r, 401, "Given token not valid for any token type")
        # The forging helper itself is right: the same claims under the server's key pass
        # (with the password version a real token carries: rights are checked in the store).
        real = self.tokens(ADMIN)["access"].split(".")[1]
        pwv = json.loads(base64.urlsafe_b64decode(real + "=" * (-len(real) % 4)))["pwv"]
        good = forge({"alg": "HS256", "typ": "JWT"}, claims(user_id=1, pwv=pwv), KEY)
        self.assertEqual(self.get_import(good).status, 200)
        stale = forge({"alg": "HS256", "typ": "JWT"}, claims(user_id=1, pwv="0" * 16), KEY)
        self.assert_detail(self.get_import(stale), 401, "Given token not valid for any token type")

    def test_refresh_gives_a_working_access_token(self):
        refresh = self.tokens(ADMIN)["refresh"]
        r = self.post_json("/api/auth/token/refresh/", {"refresh": refresh})
        self.assertEqual(r.status, 200, r.describe())
        self.assertEqual(sorted(r.json()), ["access"])
        self.assertEqual(self.get_import(r.json()["access"]).status, 200)
        access = self.tokens(ADMIN)["access"]
        r = self.post_json("/api/auth/token/refresh/", {"refresh": access})
        self.assert_detail(r, 401, "Token is invalid or expired")

    def test_token_routes_take_only_post(self):
        r = self.c.get("/api/auth/token/")
        self.assert_detail(r, 405, 'Method "GET" not allowed.')
        self.assertEqual(r.header("Allow"), "POST, OPTIONS")
        r = self.post_json("/api/auth/token", {"username": ADMIN[0], "password": ADMIN[1]})
        self.assertEqual(r.status, 200, "no trailing slash: " + r.describe())

    def test_reads_are_public_by_default(self):
        self.assertEqual(self.c.get("/api/contacts/").status, 200)

    def test_reads_require_a_user_token_when_configured(self):
        r = self.protected.get("/api/contacts/")
        self.assert_detail(r, 401, "Authentication credentials were not provided.")
        r = self.protected.get("/api/contacts/count/", headers={"Authorization": "Bearer x.y.z"})
        self.assert_detail(r, 401, "Given token not valid for any token type")
        token = self.tokens(USER)["access"]
        r = self.protected.get("/api/contacts/count/", headers={"Authorization": "Bearer " + token})
        self.assertEqual(r.status, 200, r.describe())
        self.assertEqual(r.json(), {"count": 0})
        self.assertEqual(self.protected.get("/api/health/").status, 200)

    def test_passwords_are_stored_only_as_argon2id_hashes(self):
        rows = harness.store_rows(os.path.join(CTX.root, "data-auth"),
                                  "SELECT username, password_hash FROM users ORDER BY id")
        self.assertEqual([r[0] for r in rows], [ADMIN[0], USER[0]])
        for name, stored in rows:
            self.assertTrue(stored.startswith("$argon2id$"), stored)
            self.assertNotIn(ADMIN[1], stored)
            self.assertNotIn(USER[1], stored)


class HardenedServer:
    """A server of its own (trusting X-Forwarded-For) for the tests that lock accounts out."""
    server = None
    data = None
    error = None


def hardened():
    if HardenedServer.server is None and HardenedServer.error is None:
        try:
            data = os.path.join(CTX.root, "data-auth-hardened")
            os.makedirs(data, exist_ok=True)
            for name in ("guarded", "busy", "boss", "demoted", "gone", "reset"):
                harness.create_user(data, "create-admin", name, "pw-" + name, via_stdin=False)
            # Contacts to search and export while logins fail (HealthUnderSlowWork).
            info = harness.run_import("auth-hardened", CTX.generated["gen"][0], data)
            if info["rc"] != 0:
                raise RuntimeError("import failed: " + info["stderr"])
            HardenedServer.data = data
            HardenedServer.server = harness.Server("auth-hardened", CTX.binary, data, CTX.root,
                                                   {"CONTACTS_TRUST_PROXY": "true"})
            CTX.servers.append(HardenedServer.server)
            HardenedServer.server.start(timeout=60)
        except Exception as e:  # reported by every test below
            HardenedServer.error = "hardened auth server did not start: %s" % e
    if HardenedServer.error:
        raise AssertionError(HardenedServer.error)
    return HardenedServer.server.client


def cli(*args, password=None):
    env = harness.import_env(HardenedServer.data)
    if password is not None:
        env["CONTACTS_PASSWORD"] = password
    return subprocess.run([CTX.binary] + list(args), env=env, capture_output=True, timeout=120)


TOO_MANY = "Too many failed login attempts. Try again later."


class LoginThrottling(unittest.TestCase):
    """Contract section 11: 10 failures per username, 50 per client address, 15 minutes."""

    def setUp(self):
        self.c = hardened()

    def login(self, user, password, address):
        return self.c.request("POST", "/api/auth/token/",
                              headers={"Content-Type": "application/json",
                                       "X-Forwarded-For": address + ", 10.0.0.1"},
                              body=json.dumps({"username": user, "password": password}).encode())

    def assert_throttled(self, r):
        self.assertEqual(r.status, 429, r.describe())
        self.assertEqual(r.json(), {"detail": TOO_MANY})
        retry = int(r.header("Retry-After"))
        self.assertTrue(1 <= retry <= 900, retry)

    def test_ten_failures_for_a_username_lock_it_whatever_the_password(self):
        for i in range(10):
            self.assertEqual(self.login("guarded", "wrong", "198.51.100.%d" % i).status, 401)
        self.assert_throttled(self.login("guarded", "pw-guarded", "198.51.100.77"))
        self.assert_throttled(self.login("guarded", "wrong", "198.51.100.78"))
        # Other users from the same addresses are not affected.
        self.assertEqual(self.login("boss", "pw-boss", "198.51.100.1").status, 200)

    def test_fifty_failures_from_an_address_lock_it_and_a_success_does_not_reset_it(self):
        address = "203.0.113.9"
        for i in range(49):
            self.assertEqual(self.login("nobody-%d" % i, "x", address).status, 401)
        self.assertEqual(self.login("busy", "pw-busy", address).status, 200)  # still allowed
        self.assertEqual(self.login("nobody-x", "x", address).status, 401)     # the 50th
        self.assert_throttled(self.login("busy", "pw-busy", address))
        self.assertEqual(self.login("busy", "pw-busy", "203.0.113.10").status, 200)


class RightsFromTheStore(unittest.TestCase):
    """Contract section 11: admin rights and existence are checked on every admin request and
    refresh, and the CLI changes take effect at once."""

    def setUp(self):
        self.c = hardened()

    def tokens(self, user):
        r = self.c.request("POST", "/api/auth/token/", headers={"Content-Type": "application/json"},
                           body=json.dumps({"username": user, "password": "pw-" + user}).encode())
        self.assertEqual(r.status, 200, r.describe())
        return r.json()

    def admin_get(self, token):
        return self.c.get("/api/contacts/import/", headers={"Authorization": "Bearer " + token})

    def refresh(self, token):
        return self.c.request("POST", "/api/auth/token/refresh/",
                              headers={"Content-Type": "application/json"},
                              body=json.dumps({"refresh": token}).encode())

    def test_demoted_admin_gets_403_at_once_and_promoted_again_200(self):
        t = self.tokens("demoted")
        self.assertEqual(self.admin_get(t["access"]).status, 200)
        p = cli("set-admin", "--username", "demoted", "false")
        self.assertEqual(p.returncode, 0, p.stderr)
        r = self.admin_get(t["access"])
        self.assertEqual((r.status, r.json()), (403, {
            "detail": "You do not have permission to perform this action."}))
        # An upload with that token: its head passes (the token says admin), the store's view
        # refuses it before any job exists.
        from test_import_jobs import BOUNDARY, multipart
        jobs_dir = os.path.join(HardenedServer.data, "uploads")
        before = sorted(os.listdir(jobs_dir)) if os.path.isdir(jobs_dir) else []
        r = self.c.request("POST", "/api/contacts/import/", headers={
            "Authorization": "Bearer " + t["access"],
            "Content-Type": "multipart/form-data; boundary=" + BOUNDARY},
            body=multipart("file", "d.csv", b"First Name,Email\nAda,ada.demoted@example.com\n"))
        self.assertEqual((r.status, r.json()), (403, {
            "detail": "You do not have permission to perform this action."}))
        deadline = time.monotonic() + 5  # the server drops the upload once its answer is sent
        while sorted(os.listdir(jobs_dir)) != before and time.monotonic() < deadline:
            time.sleep(0.02)
        self.assertEqual(sorted(os.listdir(jobs_dir)), before, "the refused upload stayed")
        self.assertEqual(cli("set-admin", "--username", "demoted", "true").returncode, 0)
        self.assertEqual(self.admin_get(t["access"]).status, 200)

    def test_deleted_user_gets_401_on_admin_requests_and_refresh(self):
        t = self.tokens("gone")
        p = cli("delete-user", "--username", "gone")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(self.admin_get(t["access"]).status, 401)
        self.assertEqual(self.refresh(t["refresh"]).status, 401)
        self.assertEqual(cli("delete-user", "--username", "gone").returncode, 1)

    def test_password_reset_invalidates_earlier_tokens(self):
        t = self.tokens("reset")
        p = cli("set-password", "--username", "reset", password="pw-reset")  # same text, new hash
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(self.admin_get(t["access"]).status, 401)
        self.assertEqual(self.refresh(t["refresh"]).status, 401)
        fresh = self.tokens("reset")
        self.assertEqual(self.admin_get(fresh["access"]).status, 200)
        self.assertEqual(self.refresh(fresh["refresh"]).status, 200)


class HealthUnderSlowWork(unittest.TestCase):
    """Contract section 11: /api/health/ answers within 50 ms while password checks (Argon2id,
    64 MiB each), searches and exports run: they are not on the threads that answer requests."""

    def test_health_stays_fast_during_bad_logins_searches_and_exports(self):
        c = hardened()
        port = HardenedServer.server.port
        stop = threading.Event()
        done = {"logins": 0, "searches": 0, "exports": 0}

        def bad_logins(k):
            cl = harness.http.Client(harness.LOOPBACK, port)
            i = 0
            while not stop.is_set():
                i += 1
                cl.request("POST", "/api/auth/token/",
                           headers={"Content-Type": "application/json",
                                    "X-Forwarded-For": "192.0.2.%d" % ((k * 37 + i) % 250)},
                           body=json.dumps({"username": "load-%d-%d" % (k, i),
                                            "password": "wrong"}).encode())
                done["logins"] += 1

        def searches():
            cl = harness.http.Client(harness.LOOPBACK, port)
            terms = " ".join("t%d" % i for i in range(32))
            while not stop.is_set():
                cl.get("/api/contacts/", {"search": terms},
                       headers={"Cache-Control": "no-cache"})
                cl.get("/api/contacts/count/", {"search": "a e", "title": "e"},
                       headers={"Cache-Control": "no-cache"})
                done["searches"] += 2

        def exports():
            cl = harness.http.Client(harness.LOOPBACK, port)
            while not stop.is_set():
                r = cl.get("/api/contacts/export/", {"search": "a"})
                self.assertEqual(r.status, 200)
                done["exports"] += 1

        workers = [threading.Thread(target=bad_logins, args=(k,)) for k in range(6)]
        workers += [threading.Thread(target=searches) for _ in range(2)]
        workers += [threading.Thread(target=exports) for _ in range(2)]
        for w in workers:
            w.start()
        latencies = []
        try:
            deadline = time.monotonic() + 30
            while not all(done.values()):  # every kind of load under way
                self.assertLess(time.monotonic(), deadline, done)
                time.sleep(0.05)
            for _ in range(100):
                t0 = time.monotonic()
                r = c.get("/api/health/")
                latencies.append((time.monotonic() - t0) * 1000)
                self.assertEqual(r.status, 200)
                time.sleep(0.02)
        finally:
            stop.set()
            for w in workers:
                w.join(timeout=30)
        latencies.sort()
        median, p95, worst = latencies[50], latencies[94], latencies[-1]
        print("health under load: median %.1f ms, p95 %.1f ms, max %.1f ms; %s" %
              (median, p95, worst, done))
        # The contract's 50 ms, for 95 of 100 probes: a shared CI machine may stall a process
        # now and then, while work on the answering threads (an Argon2id check takes ~150 ms,
        # an export of these rows ~100 ms) would delay most probes.
        self.assertLess(median, 50, latencies)
        self.assertLess(p95, 50, latencies)
