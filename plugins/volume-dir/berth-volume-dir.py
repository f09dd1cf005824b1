#!/usr/bin/env python3
"""berth-volume-dir: a volume plugin that keeps each volume as a directory under a root of its own.

It speaks Docker's volume plugin protocol (POST /VolumeDriver.*, JSON, {"Err"} errors) on a unix socket, so
Berth (and Docker) find it by the socket's name:

    berth-volume-dir.py --socket /run/berth/plugins/dirvol.sock --root /var/lib/berth-dirvol

Options of `volume create -o`: `uid=N`, `gid=N` and `mode=0755` set the directory's owner and mode.
Written in Python, from the standard library only, to show that the protocol is language-neutral.
"""
import argparse
import datetime
import http.server
import json
import os
import re
import shutil
import socketserver
import sys
import threading

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


class State:
    def __init__(self, root):
        self.root = root
        self.lock = threading.Lock()
        self.mounts = {}  # volume -> set of caller IDs
        os.makedirs(root, exist_ok=True)

    def path(self, name):
        if not NAME.match(name or ""):
            raise ValueError("invalid volume name %r" % name)
        return os.path.join(self.root, name)


def handlers(state):
    def activate(_):
        return {"Implements": ["VolumeDriver"]}

    def create(req):
        path = state.path(req.get("Name"))
        opts = req.get("Opts") or {}
        unknown = set(opts) - {"uid", "gid", "mode"}
        if unknown:
            raise ValueError("unknown option(s): %s" % ", ".join(sorted(unknown)))
        os.makedirs(path, exist_ok=True)
        if "mode" in opts:
            os.chmod(path, int(opts["mode"], 8))
        if "uid" in opts or "gid" in opts:
            os.chown(path, int(opts.get("uid", -1)), int(opts.get("gid", -1)))
        return {}

    def remove(req):
        path = state.path(req.get("Name"))
        with state.lock:
            if state.mounts.get(req["Name"]):
                raise ValueError("volume %s is in use" % req["Name"])
        if not os.path.isdir(path):
            raise ValueError("no such volume: %s" % req["Name"])
        shutil.rmtree(path)
        return {}

    def mount(req):
        path = state.path(req.get("Name"))
        if not os.path.isdir(path):
            raise ValueError("no such volume: %s" % req["Name"])
        with state.lock:
            state.mounts.setdefault(req["Name"], set()).add(req.get("ID", ""))
        return {"Mountpoint": path}

    def unmount(req):
        state.path(req.get("Name"))
        with state.lock:
            state.mounts.get(req["Name"], set()).discard(req.get("ID", ""))
        return {}

    def path(req):
        p = state.path(req.get("Name"))
        if not os.path.isdir(p):
            raise ValueError("no such volume: %s" % req["Name"])
        return {"Mountpoint": p}

    def describe(name):
        p = state.path(name)
        created = datetime.datetime.fromtimestamp(os.stat(p).st_mtime, datetime.timezone.utc)
        return {"Name": name, "Mountpoint": p, "CreatedAt": created.isoformat()}

    def get(req):
        p = state.path(req.get("Name"))
        if not os.path.isdir(p):
            raise ValueError("no such volume: %s" % req["Name"])
        return {"Volume": describe(req["Name"])}

    def list_(_):
        names = sorted(n for n in os.listdir(state.root) if NAME.match(n) and os.path.isdir(state.path(n)))
        return {"Volumes": [describe(n) for n in names]}

    def capabilities(_):
        return {"Capabilities": {"Scope": "local"}}

    return {
        "/Plugin.Activate": activate, "/VolumeDriver.Create": create, "/VolumeDriver.Remove": remove,
        "/VolumeDriver.Mount": mount, "/VolumeDriver.Unmount": unmount, "/VolumeDriver.Path": path,
        "/VolumeDriver.Get": get, "/VolumeDriver.List": list_, "/VolumeDriver.Capabilities": capabilities,
    }


def server(socket_path, state):
    routes = handlers(state)

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            route = routes.get(self.path)
            if route is None:
                return self.reply(404, {"Err": "unknown call %s" % self.path})
            try:
                req = json.loads(raw) if raw.strip() else {}
                self.reply(200, route(req))
            except Exception as e:  # every failure goes back as the protocol's {"Err"}
                self.reply(500, {"Err": str(e)})

        def reply(self, status, body):
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/vnd.docker.plugins.v1+json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def address_string(self):
            return "unix"

        def log_message(self, *args):
            pass

    class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
        daemon_threads = True

    if os.path.exists(socket_path):
        os.unlink(socket_path)
    os.makedirs(os.path.dirname(socket_path), exist_ok=True)
    return Server(socket_path, Handler)


def main():
    parser = argparse.ArgumentParser(description="Berth volume plugin: volumes as directories.")
    parser.add_argument("--socket", default="/run/berth/plugins/dirvol.sock")
    parser.add_argument("--root", default="/var/lib/berth-dirvol")
    args = parser.parse_args()
    srv = server(args.socket, State(args.root))
    print("berth-volume-dir serving %s on %s" % (args.root, args.socket), file=sys.stderr, flush=True)
    try:
        srv.serve_forever()
    finally:
        os.unlink(args.socket)


if __name__ == "__main__":
    sys.exit(main())
