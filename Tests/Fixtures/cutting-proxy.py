#!/usr/bin/env python3
"""An HTTP proxy in front of a registry that cuts the first download of each blob halfway: it announces the
whole length, sends half, and closes the connection. Later requests (a resume with Range) pass through.
With `slow`, it cuts nothing and sends blobs at about 1 MB/s instead.

    cutting-proxy.py LISTEN_PORT UPSTREAM_HOST:PORT [slow]
"""
import http.server
import socket
import sys
import time
import urllib.error
import urllib.request

port, upstream = int(sys.argv[1]), sys.argv[2]
slow = len(sys.argv) > 3 and sys.argv[3] == "slow"
cut = set()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        self.forward("GET")

    def do_HEAD(self):
        self.forward("HEAD")

    def forward(self, method):
        req = urllib.request.Request("http://" + upstream + self.path, method=method)
        for k in ("Accept", "Range", "Authorization"):
            if self.headers.get(k):
                req.add_header(k, self.headers[k])
        try:
            resp = urllib.request.urlopen(req)
            status = resp.status
        except urllib.error.HTTPError as e:
            resp, status = e, e.code
        body = resp.read() if method == "GET" else b""
        blob = method == "GET" and "/blobs/sha256:" in self.path and status in (200, 206)
        cutting = not slow and blob and status == 200 and self.path not in cut and len(body) > 4096
        self.send_response(status)
        for k, v in resp.headers.items():
            if k.lower() not in ("transfer-encoding", "connection"):
                self.send_header(k, v)
        self.end_headers()
        if cutting:
            cut.add(self.path)
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        if slow and blob:
            for i in range(0, len(body), 65536):
                self.wfile.write(body[i : i + 65536])
                self.wfile.flush()
                time.sleep(0.06)
            return
        self.wfile.write(body)

    def log_message(self, *args):
        pass


http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
