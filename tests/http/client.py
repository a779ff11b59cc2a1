"""A tiny HTTP helper over http.client (keep-alive) and raw sockets."""
import http.client
import json
import socket
import urllib.parse

TIMEOUT = 30


class Response:
    def __init__(self, status, headers, body, method="GET", target=""):
        self.status = status
        self.headers = headers  # list of (name, value) as received
        self.body = body
        self.method = method
        self.target = target

    def header(self, name):
        name = name.lower()
        for k, v in self.headers:
            if k.lower() == name:
                return v
        return None

    def header_all(self, name):
        name = name.lower()
        return [v for k, v in self.headers if k.lower() == name]

    def has_header(self, name):
        return self.header(name) is not None

    def json(self):
        try:
            return json.loads(self.body.decode("utf-8"))
        except Exception as e:  # noqa: BLE001 - make the failure readable
            raise AssertionError("%s %s: body is not JSON (%s): %r" % (
                self.method, self.target, e, self.body[:300])) from None

    def describe(self):
        return "%s %s -> %s %r" % (self.method, self.target, self.status, self.body[:400])


def encode_query(params):
    """params: dict or list of pairs (str or bytes values) -> query string, RFC 3986 quoting."""
    if params is None:
        return ""
    items = params.items() if isinstance(params, dict) else params
    out = []
    for k, v in items:
        out.append(urllib.parse.quote(k, safe="") + "=" + urllib.parse.quote(v, safe=""))
    return "&".join(out)


def target_of(path, params=None):
    q = encode_query(params)
    return path + ("?" + q if q else "")


def split_url(url):
    """Absolute URL -> (scheme, netloc, path, [(name, value)...]) with values decoded."""
    parts = urllib.parse.urlsplit(url)
    pairs = urllib.parse.parse_qsl(parts.query, keep_blank_values=True, strict_parsing=False)
    return parts.scheme, parts.netloc, parts.path, pairs


class Client:
    def __init__(self, host, port):
        self.host = host
        self.port = port
        self.conn = None
        self.requests = 0

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def request(self, method, target, headers=None, body=None):
        headers = dict(headers or {})
        for attempt in range(2):
            fresh = self.conn is None
            if fresh:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=TIMEOUT)
            try:
                self.conn.request(method, target, body=body, headers=headers)
                resp = self.conn.getresponse()
                data = resp.read()
                self.requests += 1
                result = Response(resp.status, resp.getheaders(), data, method, target)
                if resp.will_close:
                    self.close()
                return result
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError,
                    http.client.CannotSendRequest, http.client.ResponseNotReady):
                self.close()
                if fresh or attempt == 1:
                    raise
        raise AssertionError("unreachable")

    def get(self, path, params=None, headers=None):
        return self.request("GET", target_of(path, params), headers=headers)

    def get_json(self, path, params=None, headers=None, status=200):
        r = self.get(path, params, headers)
        if r.status != status:
            raise AssertionError("expected %d: %s" % (status, r.describe()))
        return r.json()

    def follow(self, url, headers=None):
        """GET an absolute URL returned by the server, on this connection."""
        parts = urllib.parse.urlsplit(url)
        target = parts.path + ("?" + parts.query if parts.query else "")
        return self.request("GET", target, headers=headers)


class RawResult:
    def __init__(self):
        self.status = None
        self.headers = []
        self.body = b""
        self.closed = False
        self.raw = b""

    def header(self, name):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    def json(self):
        return json.loads(self.body.decode("utf-8"))


def _recv_until(s, buf, done):
    """Appends what the socket sends to `buf` until done(buf), end of stream or a reset."""
    while not done(buf):
        try:
            chunk = s.recv(65536)
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            break
        buf += chunk
    return buf


def raw_exchange(host, port, data, close_wait=0.3):
    """Send raw bytes, read one HTTP response, then see whether the server closes."""
    s = socket.create_connection((host, port), timeout=TIMEOUT)
    res = RawResult()
    try:
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may answer and close before reading everything
        buf = _recv_until(s, b"", lambda b: b"\r\n\r\n" in b)
        res.raw = buf
        if b"\r\n\r\n" not in buf:
            res.closed = True
            return res
        head, rest = buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        res.status = int(lines[0].split(" ")[1])
        for line in lines[1:]:
            k, _, v = line.partition(":")
            res.headers.append((k.strip(), v.strip()))
        length = int(res.header("Content-Length") or "0")
        rest = _recv_until(s, rest, lambda b: len(b) >= length)
        res.body = rest[:length]
        s.settimeout(close_wait)
        try:
            extra = s.recv(1)
            res.closed = extra == b""
        except socket.timeout:
            res.closed = False
        except ConnectionResetError:
            res.closed = True
        return res
    finally:
        s.close()
