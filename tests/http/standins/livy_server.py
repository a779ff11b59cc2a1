#!/usr/bin/env python3
"""A Livy stand-in: the REST calls of Apache Livy's API the service makes (sessions of kind
"sql", statements, their states and JSON output), answering the SQL from the lake (lake.py).

    livy_server.py --port P --ddl DDL --csv CSV --mode-file F --log L
"""
import argparse
import json
import os
import re
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import lake  # noqa: E402


def main():
    p = argparse.ArgumentParser()
    for name in ("--port", "--ddl", "--csv", "--mode-file", "--log"):
        p.add_argument(name, required=True)
    args = p.parse_args()
    data = lake.Lake(args.ddl, args.csv)
    lock = threading.Lock()
    sessions = {}  # id -> dict(polls, statements: id -> dict)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):
            pass

        def answer(self, status, doc, raw=None):
            body = raw if raw is not None else json.dumps(doc).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(body)

        def body(self):
            n = int(self.headers.get("Content-Length") or 0)
            return json.loads(self.rfile.read(n) or b"{}")

        def do_POST(self):
            lake.log(args.log, "POST %s csrf=%s" % (self.path, self.headers.get("X-Requested-By")))
            if self.path == "/sessions":
                kind = self.body().get("kind")
                with lock:
                    sid = len(sessions)
                    sessions[sid] = {"polls": 0, "statements": {}, "kind": kind}
                return self.answer(201, {"id": sid, "state": "starting", "kind": kind})
            m = re.match(r"^/sessions/(\d+)/statements$", self.path)
            if m and int(m.group(1)) in sessions:
                req = self.body()
                session = sessions[int(m.group(1))]
                with lock:
                    st_id = len(session["statements"])
                    session["statements"][st_id] = {"code": req.get("code"), "polls": 0}
                return self.answer(201, {"id": st_id, "state": "waiting", "code": req.get("code")})
            return self.answer(404, {"msg": "not found"})

        def do_GET(self):
            current = lake.mode(args.mode_file)
            lake.log(args.log, "GET %s" % self.path)
            m = re.match(r"^/sessions/(\d+)$", self.path)
            if m and int(m.group(1)) in sessions:
                s = sessions[int(m.group(1))]
                s["polls"] += 1
                return self.answer(200, {"id": int(m.group(1)), "kind": s["kind"],
                                         "state": "starting" if s["polls"] == 1 else "idle"})
            m = re.match(r"^/sessions/(\d+)/statements/(\d+)$", self.path)
            if not m or int(m.group(1)) not in sessions:
                return self.answer(404, {"msg": "Session not found"})
            st = sessions[int(m.group(1))]["statements"].get(int(m.group(2)))
            if st is None:
                return self.answer(404, {"msg": "Statement not found"})
            lake.maybe_sleep(current)
            st["polls"] += 1
            if st["polls"] == 1:
                return self.answer(200, {"id": int(m.group(2)), "state": "running", "output": None})
            doc = {"id": int(m.group(2)), "state": "available", "code": st["code"], "progress": 1.0}
            try:
                if current == "error":
                    raise lake.SqlError("Table or view not found")
                names, rows = data.run(st["code"])
                if current == "malformed":
                    rows = [r + ["extra"] for r in rows]
                doc["output"] = {"status": "ok", "execution_count": int(m.group(2)), "data": {
                    "application/json": {
                        "schema": {"type": "struct", "fields": [
                            {"name": n, "type": "long" if n == "total" else "string",
                             "nullable": True, "metadata": {}} for n in names]},
                        "data": rows}}}
            except lake.SqlError as e:
                doc["output"] = {"status": "error", "execution_count": int(m.group(2)),
                                 "ename": "AnalysisException", "evalue": str(e), "traceback": []}
            if current == "malformed" and int(m.group(2)) == 0:
                return self.answer(200, None, raw=b'{"id": 0, "state": "available", "output": ')
            return self.answer(200, doc)

    server = ThreadingHTTPServer(("127.0.0.1", int(args.port)), Handler)
    server.daemon_threads = True
    lake.log(args.log, "listening")
    server.serve_forever()


if __name__ == "__main__":
    main()
