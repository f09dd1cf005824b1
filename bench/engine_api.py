"""The Engine API over berthd's unix socket, for the bench scripts (python3's standard library only)."""
import http.client
import json
import socket


class _Unix(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("localhost")
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.connect(self.path)


def api(sock, method, path, body=None):
    """One request at API 1.44; the decoded JSON answer (None when empty). A status >= 300 raises."""
    c = _Unix(sock)
    c.request(method, "/v1.44" + path, body=None if body is None else json.dumps(body),
              headers={"Content-Type": "application/json"})
    r = c.getresponse()
    data = r.read()
    c.close()
    if r.status >= 300:
        raise RuntimeError(f"{method} {path}: {r.status} {data!r}")
    return json.loads(data) if data else None
