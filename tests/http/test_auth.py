"""Contract section 7: users from the command line, JWT tokens, 401/403 on protected routes."""
import base64
import hashlib
import hmac
import json
import os
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
        # The forging helper itself is right: the same claims under the server's key pass.
        good = forge({"alg": "HS256", "typ": "JWT"}, claims(user_id=1), KEY)
        self.assertEqual(self.get_import(good).status, 200)

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
