"""The OpenAPI document (src/api/openapi.json, served at /api/schema/) against the real binary.

Every documented operation is called with the document's example values (ids, a cursor, a job
and tokens learned from earlier answers) and must answer its documented success status, a
documented content type, its required headers, and a body valid against the documented schema
(checked by Ajv through tests/openapi/validate.mjs); every documented query parameter is sent
with its example; documented errors are provoked and checked the same way; every route answers
exactly its documented methods. Routes documented but added by a branch not merged yet are
listed in tests/openapi/pending_routes.json: checked to be still missing, never skipped silently.
"""
import csv
import io
import json
import os
import shutil
import subprocess
import time
import unittest
import urllib.parse

import client
import harness
from harness import CTX

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
DOC_PATH = os.path.join(ROOT, "src", "api", "openapi.json")
PENDING_PATH = os.path.join(ROOT, "tests", "openapi", "pending_routes.json")
VALIDATOR = os.path.join(ROOT, "tests", "openapi", "validate.mjs")
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
USER = ("openapi-reader", "openapi-reader-password")
BOUNDARY = "----openapiTestBoundary"


def load_json(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


DOC = load_json(DOC_PATH)
PENDING = load_json(PENDING_PATH)["pending"]


def escape(token):
    return token.replace("~", "~0").replace("/", "~1")


def pointer(*tokens):
    return "#/" + "/".join(escape(t) for t in tokens)


def resolve(node):
    """The object a local $ref names (followed until there is none), and its JSON pointer."""
    where = None
    while isinstance(node, dict) and "$ref" in node:
        where = node["$ref"]
        node = DOC
        for raw in where[2:].split("/"):
            node = node[raw.replace("~1", "/").replace("~0", "~")]
    return node, where


def operations():
    """(METHOD, path, operation object) of every documented operation, in document order."""
    for path, item in DOC["paths"].items():
        for method in METHODS:
            if method in item:
                yield method.upper(), path, item[method]


def pending_entry(method, path):
    """The pending_routes.json entry of a whole route, or None."""
    for e in PENDING:
        if e["method"] == method and e["path"] == path and "media_type" not in e:
            return e
    return None


def query_parameters(op):
    out = []
    for p in op.get("parameters", []):
        param, _ = resolve(p)
        if param["in"] == "query":
            out.append(param)
    return out


def encode_example(param, value):
    """A query value as the parameter's style serialises it (form; explode=false: a,b)."""
    if isinstance(value, list):
        return ",".join(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def success_status(op):
    return min(code for code in op["responses"] if code.startswith("2"))


def response_of(method, path, status):
    """(response object, JSON pointer of the response) documented for `status`."""
    op = DOC["paths"][path][method.lower()]
    raw = op["responses"][status]
    resp, ref = resolve(raw)
    return resp, ref or pointer("paths", path, method.lower(), "responses", status)


def path_example(path, name, media_type=None):
    """The documented example of path parameter `name` of `path` ("" when it has none). Where
    the answer's type follows the value (`/assets/{asset}`), `examples` are keyed by media type:
    the one of `media_type`, else the first."""
    for method in METHODS:
        for param in DOC["paths"][path].get(method, {}).get("parameters", []):
            param, _ = resolve(param)
            if param.get("in") == "path" and param.get("name") == name:
                if "examples" in param:
                    examples = param["examples"]
                    return str(examples.get(media_type, next(iter(examples.values())))["value"])
                return str(param.get("example", ""))
    return ""


def media_type(response):
    ct = response.header("Content-Type") or ""
    return ct.split(";")[0].strip().lower()


def csv_upload():
    """Two good rows and one whose employee count is not a number (it goes to the errors CSV)."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["First Name", "Last Name", "Email", "# Employees"])
    w.writerow(["Ada", "Openapi", "ada.openapi@example.com", "12"])
    w.writerow(["Grace", "Openapi", "grace.openapi@example.com", "many"])
    w.writerow(["Alan", "Openapi", "alan.openapi@example.com", "7"])
    content = out.getvalue().encode()
    return (("--%s\r\nContent-Disposition: form-data; name=\"file\"; filename=\"people.csv\"\r\n"
             "Content-Type: text/csv\r\n\r\n" % BOUNDARY).encode() + content +
            ("\r\n--%s--\r\n" % BOUNDARY).encode())


class Env:
    server = None
    error = None
    admin = None       # the document's TokenRequest example
    learned = {}       # values learned from answers: id, cursor, job_id, access, refresh


def admin_credentials():
    example = DOC["components"]["schemas"]["TokenRequest"]["examples"][0]
    return example["username"], example["password"]


def server():
    """A server on a store of its own (tricky.csv imported), with the admin of the document's
    token example and a non-admin user."""
    if Env.server is None and Env.error is None:
        try:
            data = os.path.join(CTX.root, "data-openapi")
            os.makedirs(data, exist_ok=True)
            info = harness.run_import("openapi", os.path.join(harness.FIXTURES, "tricky.csv"), data)
            if info["rc"] != 0:
                raise RuntimeError("import failed: %s" % info["stderr"][-2000:])
            Env.admin = admin_credentials()
            harness.create_user(data, "create-admin", Env.admin[0], Env.admin[1], via_stdin=False)
            harness.create_user(data, "create-user", USER[0], USER[1], via_stdin=False)
            s = harness.Server("openapi", CTX.binary, data, CTX.root,
                               {"CONTACTS_CACHE_ENABLED": "true"})
            CTX.servers.append(s)
            s.start(timeout=60)
            Env.server = s
        except Exception as e:  # reported by every test below
            Env.error = "openapi server did not start: %s" % e
    if Env.error:
        raise AssertionError(Env.error)
    return Env.server


def validate(cases):
    """Runs validate.mjs on [(name, schema pointer, body)]; returns {name: [errors]}."""
    node = shutil.which("node")
    if node is None:
        raise AssertionError("node is not installed (scripts/bootstrap installs it)")
    path = os.path.join(CTX.root, "openapi-cases-%d.json" % time.time_ns())
    with open(path, "w", encoding="utf-8") as f:
        json.dump([{"name": n, "schema": s, "body": b} for n, s, b in cases], f)
    p = subprocess.run([node, VALIDATOR, "responses", DOC_PATH, path], capture_output=True,
                       timeout=120)
    if p.returncode != 0:
        raise AssertionError("validate.mjs failed: %s" % p.stderr.decode("utf-8", "replace"))
    return {r["name"]: r["errors"] for r in json.loads(p.stdout)}


class OpenApi(unittest.TestCase):
    maxDiff = 4000

    def setUp(self):
        self.s = server()
        self.c = self.s.client

    # -- helpers --

    def post_json(self, path, body):
        return self.c.request("POST", path, headers={"Content-Type": "application/json"},
                              body=json.dumps(body).encode())

    def tokens(self, who):
        r = self.post_json("/api/auth/token/", {"username": who[0], "password": who[1]})
        self.assertEqual(r.status, 200, r.describe())
        return r.json()

    def learn(self):
        """Ids, a cursor, a completed job with errors and tokens, from real answers."""
        if Env.learned:
            return Env.learned
        learned = {}
        tokens = self.tokens(Env.admin)
        learned["access"], learned["refresh"] = tokens["access"], tokens["refresh"]
        page = self.c.get_json("/api/contacts/", {"page_size": "1"})
        learned["id"] = page["results"][0]["id"]
        self.assertIsNotNone(page["next"], "the store needs two contacts for a cursor")
        query = urllib.parse.urlsplit(page["next"]).query
        learned["cursor"] = dict(urllib.parse.parse_qsl(query))["cursor"]
        r = self.upload(learned["access"])
        self.assertEqual(r.status, 201, r.describe())
        learned["job_id"] = r.json()["job_id"]
        auth = {"Authorization": "Bearer " + learned["access"]}
        deadline = time.time() + 120
        while True:
            job = self.c.get_json("/api/contacts/import/%d/" % learned["job_id"], headers=auth)
            if job["status"] in ("completed", "failed"):
                break
            self.assertLess(time.time(), deadline, "job did not finish: %s" % job)
            time.sleep(0.05)
        self.assertEqual((job["status"], job["error_count"]), ("completed", 1), job)
        Env.learned = learned
        return learned

    def upload(self, access, body=None):
        return self.c.request("POST", "/api/contacts/import/", body=body or csv_upload(), headers={
            "Authorization": "Bearer " + access,
            "Content-Type": "multipart/form-data; boundary=" + BOUNDARY})

    def request_for(self, method, path, op, params=None, accept=None):
        """The documented request of `op` with learned path values, the admin's token where the
        operation needs one, and its request body."""
        learned = self.learn()
        target = path.replace("{id}", str(learned["id"])).replace(
            "{job_id}", str(learned["job_id"])).replace(
            "{asset}", path_example(path, "asset", accept))
        headers = {}
        if accept:
            headers["Accept"] = accept
        if {} not in op.get("security", [{}]):
            headers["Authorization"] = "Bearer " + learned["access"]
        body = None
        content = op.get("requestBody", {}).get("content", {})
        if "application/json" in content:
            headers["Content-Type"] = "application/json"
            if path == "/api/auth/token/":  # the document's example (see server())
                body = json.dumps({"username": Env.admin[0], "password": Env.admin[1]}).encode()
            else:
                body = json.dumps({"refresh": learned["refresh"]}).encode()
        elif "multipart/form-data" in content:
            headers["Content-Type"] = "multipart/form-data; boundary=" + BOUNDARY
            body = csv_upload()
        query = client.encode_query(params) if params else ""
        return self.c.request(method, target + ("?" + query if query else ""), headers=headers,
                              body=body)

    def check_answer(self, r, method, path, status, what, cases):
        """Status, content type and required headers of `r` as documented for `status`; queues
        its JSON body for schema validation in `cases`."""
        self.assertEqual(str(r.status), status, "%s: %s" % (what, r.describe()))
        resp, where = response_of(method, path, status)
        for name, header in resp.get("headers", {}).items():
            header, _ = resolve(header)
            if header.get("required"):
                self.assertIsNotNone(r.header(name), "%s: no %s header" % (what, name))
        content = resp.get("content")
        if not content:
            self.assertEqual(r.body, b"", "%s: a body where none is documented" % what)
            return
        mt = media_type(r)
        self.assertIn(mt, content, "%s: Content-Type %r is not documented" % (
            what, r.header("Content-Type")))
        if mt == "application/json":
            cases.append((what, where + "/content/application~1json/schema", r.json()))
        else:
            self.assertTrue(r.body, "%s: empty %s body" % (what, mt))

    def assert_valid(self, cases):
        self.assertTrue(cases, "nothing to validate")
        results = validate(cases)
        bad = {name: errors for name, errors in results.items() if errors}
        self.assertEqual(bad, {}, "answers that do not match their documented schema")
        self.assertEqual(len(results), len(cases))

    # -- tests --

    def test_schema_route_serves_the_source_document_with_an_etag(self):
        with open(DOC_PATH, "rb") as f:
            source = f.read()
        for path in ("/api/schema/", "/api/schema"):
            r = self.c.get(path)
            self.assertEqual(r.status, 200, r.describe())
            self.assertEqual(r.header("Content-Type"), "application/json; charset=utf-8")
            self.assertEqual(r.body, source, "%s is not src/api/openapi.json" % path)
            etag = r.header("ETag")
            self.assertRegex(etag or "", r'^"[0-9a-f]{32}"$')
            again = self.c.get(path, headers={"If-None-Match": etag})
            self.assertEqual((again.status, again.body), (304, b""), again.describe())
            self.assertEqual(again.header("ETag"), etag)
        head = self.c.request("HEAD", "/api/schema/")
        self.assertEqual((head.status, head.body), (200, b""))

    def test_schema_route_is_public_when_reads_need_a_token(self):
        s = harness.Server("openapi-private", CTX.binary, self.s.data_dir, CTX.root,
                           {"CONTACTS_READS_REQUIRE_AUTH": "true"})
        CTX.servers.append(s)
        s.start(timeout=60)
        try:
            self.assertEqual(s.client.get("/api/contacts/count/").status, 401)
            r = s.client.get("/api/schema/")
            self.assertEqual(r.status, 200, r.describe())
            self.assertEqual(r.json(), DOC)
        finally:
            s.stop()

    def test_every_documented_operation_answers_as_documented(self):
        self.learn()
        cases = []
        checked = []
        for method, path, op in operations():
            if pending_entry(method, path):
                continue
            status = success_status(op)
            content = op["responses"][status].get("content", {})
            variants = [None]
            if len(content) > 1:  # one request per documented media type, asked with Accept
                variants = [mt for mt in content if not self.variant_pending(method, path, mt)]
            for accept in variants:
                what = "%s %s%s" % (method, path, " (Accept: %s)" % accept if accept else "")
                with self.subTest(operation=what):
                    r = self.request_for(method, path, op, accept=accept)
                    self.check_answer(r, method, path, status, what, cases)
                    if accept:
                        self.assertEqual(media_type(r), accept, what)
                    checked.append(what)
        self.assert_valid(cases)
        harness.log("openapi: %d documented operations answered as documented" % len(checked))

    def variant_pending(self, method, path, mt):
        return any(e["method"] == method and e["path"] == path and e.get("media_type") == mt
                   for e in PENDING)

    def test_every_documented_query_parameter_is_accepted_with_its_example(self):
        learned = self.learn()
        cases = []
        count = 0
        for method, path, op in operations():
            if pending_entry(method, path):
                continue
            status = success_status(op)
            for param in query_parameters(op):
                name = param["name"]
                if "example" in param:
                    value = encode_example(param, param["example"])
                else:
                    self.assertTrue(name in learned, "%s %s: query parameter %s has no example"
                                    % (method, path, name))
                    value = str(learned[name])
                what = "%s %s?%s=%s" % (method, path, name, value)
                with self.subTest(request=what):
                    r = self.request_for(method, path, op, params={name: value})
                    self.check_answer(r, method, path, status, what, cases)
                    count += 1
        self.assertGreater(count, 150)
        self.assert_valid(cases)

    def test_documented_errors_answer_with_their_documented_bodies(self):
        learned = self.learn()
        admin = {"Authorization": "Bearer " + learned["access"]}
        user = {"Authorization": "Bearer " + self.tokens(USER)["access"]}
        json_type = {"Content-Type": "application/json"}
        multipart = dict(admin, **{"Content-Type": "multipart/form-data; boundary=" + BOUNDARY})
        empty_upload = ("--%s\r\nContent-Disposition: form-data; name=\"other\"\r\n\r\nx\r\n"
                        "--%s--\r\n" % (BOUNDARY, BOUNDARY)).encode()
        # (documented method and path, request target, headers, body, status)
        errors = [
            ("GET", "/api/contacts/", "/api/contacts/?ordering=salary", {}, None, "400"),
            ("GET", "/api/contacts/", "/api/contacts/?page_size=0", {}, None, "400"),
            ("GET", "/api/contacts/", "/api/contacts/?include_meta=maybe", {}, None, "400"),
            ("GET", "/api/contacts/", "/api/contacts/?cursor=forged", {}, None, "404"),
            ("GET", "/api/contacts/count/", "/api/contacts/count/?employees_min=-1", {}, None,
             "400"),
            ("GET", "/api/contacts/analytics/", "/api/contacts/analytics/?limit=0", {}, None,
             "400"),
            ("GET", "/api/contacts/{id}/", "/api/contacts/999999999/", {}, None, "404"),
            ("GET", "/api/contacts/title/", "/api/contacts/title/?distinct=perhaps", {}, None,
             "400"),
            ("GET", "/api/contacts/import/", "/api/contacts/import/", {}, None, "401"),
            ("GET", "/api/contacts/import/", "/api/contacts/import/", user, None, "403"),
            ("POST", "/api/contacts/import/", "/api/contacts/import/", multipart, empty_upload,
             "400"),
            ("POST", "/api/contacts/import/", "/api/contacts/import/",
             {"Authorization": "Bearer not.a.token"}, b"", "401"),
            ("GET", "/api/contacts/import/{job_id}/", "/api/contacts/import/999999/", admin, None,
             "404"),
            ("GET", "/api/contacts/import/{job_id}/errors/", "/api/contacts/import/999999/errors/",
             admin, None, "404"),
            ("POST", "/api/auth/token/", "/api/auth/token/", json_type,
             json.dumps({"username": Env.admin[0], "password": "wrong"}).encode(), "401"),
            ("POST", "/api/auth/token/", "/api/auth/token/", json_type, b"[1]", "400"),
            ("POST", "/api/auth/token/refresh/", "/api/auth/token/refresh/", json_type,
             json.dumps({"refresh": learned["access"]}).encode(), "401"),
        ]
        cases = []
        for method, path, target, headers, body, status in errors:
            what = "%s %s -> %s" % (method, target, status)
            with self.subTest(request=what):
                r = self.c.request(method, target, headers=headers, body=body)
                self.check_answer(r, method, path, status, what, cases)
        not_found = self.c.get("/api/no-such-route/")
        self.assertEqual(not_found.status, 404)
        cases.append(("unknown route", pointer("components", "responses", "NotFound", "content",
                                               "application/json", "schema"), not_found.json()))
        self.assert_valid(cases)

    def test_every_route_answers_exactly_its_documented_methods(self):
        self.learn()
        cases = []
        for path, item in DOC["paths"].items():
            documented = {m.upper() for m in METHODS if m in item}
            if all(pending_entry(m, path) for m in documented):
                continue
            allow = documented | {"OPTIONS"} | ({"HEAD"} if "GET" in documented else set())
            target = path.replace("{id}", str(Env.learned["id"])).replace(
                "{job_id}", str(Env.learned["job_id"])).replace(
                "{asset}", path_example(path, "asset"))
            with self.subTest(path=path):
                r = self.c.request("OPTIONS", target)
                self.assertEqual(r.status, 200, r.describe())
                self.assertEqual(set(m.strip() for m in r.header("Allow").split(",")), allow)
                for method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
                    if method in allow:
                        continue
                    r = self.c.request(method, target)
                    self.assertEqual(r.status, 405, r.describe())
                    self.assertEqual(set(m.strip() for m in r.header("Allow").split(",")), allow)
                    cases.append(("%s %s" % (method, path),
                                  pointer("components", "responses", "MethodNotAllowed", "content",
                                          "application/json", "schema"), r.json()))
        self.assert_valid(cases)

    def test_pending_routes_do_not_answer_yet(self):
        """Each entry of tests/openapi/pending_routes.json must still be missing here; once its
        branch is merged this fails, so that the entry is removed and the route tested."""
        self.learn()
        self.assertTrue(all(set(e) >= {"method", "path", "branch"} for e in PENDING))
        for e in PENDING:
            op = DOC["paths"][e["path"]][e["method"].lower()]
            status = success_status(op)
            mt = e.get("media_type")
            r = self.request_for(e["method"], e["path"], op, accept=mt)
            documented = op["responses"][status].get("content", {})
            answers = str(r.status) == status and (
                media_type(r) == mt if mt else (not documented or media_type(r) in documented))
            self.assertFalse(answers, "%s %s%s answers as documented now: remove it from "
                             "tests/openapi/pending_routes.json" % (
                                 e["method"], e["path"], " (%s)" % mt if mt else ""))
            harness.log("openapi: pending until branch %s is merged: %s %s%s" % (
                e["branch"], e["method"], e["path"], " (%s)" % mt if mt else ""))


if __name__ == "__main__":
    unittest.main()
