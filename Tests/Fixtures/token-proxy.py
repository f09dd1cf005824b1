#!/usr/bin/env python3
"""A registry front with Bearer token authentication, as Docker Hub and registries behind a token service do it:
every /v2/ request needs `Authorization: Bearer TOKEN` whose scope covers the repository and the action (pull for
GET/HEAD, push otherwise); without it the answer is 401 with
`WWW-Authenticate: Bearer realm="http://127.0.0.1:PORT/token",service="token-test",scope="repository:NAME:ACTIONS"`.
GET /token?service=&scope= with basic credentials USER:PASSWORD issues a token for the scopes asked for.
Authorised requests go to the upstream registry; its Location headers are rewritten to point here.

    token-proxy.py LISTEN_PORT UPSTREAM_HOST:PORT USER PASSWORD
"""
import base64
import http.client
import http.server
import json
import re
import secrets
import sys
import urllib.parse

port, upstream, user, password = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
tokens = {}  # token -> set of (repository, action)
here = "http://127.0.0.1:%d" % port


def needed(method, path):
    """(repository, action) a request needs, or None for /v2/ itself."""
    m = re.match(r"^/v2/(.+?)/(blobs|manifests|tags)/", path)
    if not m:
        return None
    return m.group(1), "pull" if method in ("GET", "HEAD") else "push"


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        if self.path.startswith("/token"):
            return self.token()
        self.forward("GET")

    def do_HEAD(self):
        self.forward("HEAD")

    def do_POST(self):
        self.forward("POST")

    def do_PUT(self):
        self.forward("PUT")

    def do_PATCH(self):
        self.forward("PATCH")

    def do_DELETE(self):
        self.forward("DELETE")

    def reply(self, status, body=b"", headers=()):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def token(self):
        auth = self.headers.get("Authorization", "")
        good = "Basic " + base64.b64encode(("%s:%s" % (user, password)).encode()).decode()
        if auth != good:
            return self.reply(401, b'{"details":"incorrect username or password"}')
        query = urllib.parse.parse_qs(urllib.parse.urlparse(self.path).query)
        granted = set()
        for scope in query.get("scope", []):
            for part in scope.split(" "):
                kind, _, rest = part.partition(":")
                name, _, actions = rest.rpartition(":")
                if kind == "repository":
                    for action in actions.split(","):
                        granted.add((name, action))
        token = secrets.token_hex(16)
        tokens[token] = granted
        self.reply(200, json.dumps({"token": token, "expires_in": 300}).encode())

    def body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            data = b""
            while True:
                size = int(self.rfile.readline().strip().split(b";")[0], 16)
                if size == 0:
                    self.rfile.readline()
                    return data
                data += self.rfile.read(size)
                self.rfile.readline()
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def forward(self, method):
        data = self.body()
        path = urllib.parse.urlparse(self.path).path
        need = needed(method, path)
        auth = self.headers.get("Authorization", "")
        token = auth[7:] if auth.startswith("Bearer ") else None
        allowed = token in tokens and (need is None or need in tokens[token]
                                       or (need[1] == "pull" and (need[0], "push") in tokens[token]))
        if not allowed:
            challenge = 'Bearer realm="%s/token",service="token-test"' % here
            if need is not None:
                actions = "pull" if need[1] == "pull" else "pull,push"
                challenge += ',scope="repository:%s:%s"' % (need[0], actions)
            return self.reply(401, b'{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}',
                              [("WWW-Authenticate", challenge)])
        conn = http.client.HTTPConnection(upstream)
        headers = {k: v for k, v in self.headers.items()
                   if k.lower() not in ("authorization", "host", "transfer-encoding", "content-length", "connection")}
        headers["Content-Length"] = str(len(data))
        conn.request(method, self.path, body=data, headers=headers)
        resp = conn.getresponse()
        payload = resp.read()
        out = []
        for k, v in resp.getheaders():
            if k.lower() in ("transfer-encoding", "connection", "content-length"):
                continue
            if k.lower() == "location":
                v = v.replace("http://" + upstream, here)
            out.append((k, v))
        self.send_response(resp.status)
        for k, v in out:
            self.send_header(k, v)
        self.send_header("Content-Length", resp.getheader("Content-Length") or str(len(payload)))
        self.end_headers()
        if method != "HEAD":
            self.wfile.write(payload)

    def log_message(self, *args):
        pass


http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
