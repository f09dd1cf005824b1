#!/usr/bin/env python3
"""A volume plugin that misbehaves, for the daemon's tests:

    bad-plugin.py SOCKET MODE [KIND]

It activates as KIND (VolumeDriver by default; NetworkDriver, IpamDriver or GraphDriver). MODE `slow` answers
Plugin.Activate at once and every other call after 30 s; `badjson` answers every other call with text that
is not JSON; `crash` exits at its first call after the activation; `network` activates as a NetworkDriver
only (whatever KIND says).
"""
import http.server
import json
import os
import socketserver
import sys
import time

path, mode = sys.argv[1], sys.argv[2]
kind = sys.argv[3] if len(sys.argv) > 3 else "VolumeDriver"


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        if self.path == "/Plugin.Activate":
            return self.reply(json.dumps({"Implements": ["NetworkDriver" if mode == "network" else kind]}))
        if mode == "slow":
            time.sleep(30)
            return self.reply("{}")
        if mode == "badjson":
            return self.reply("this is not { json")
        if mode == "crash":
            os._exit(3)
        self.reply("{}")

    def reply(self, text):
        data = text.encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def address_string(self):
        return "unix"

    def log_message(self, *args):
        pass


class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


if os.path.exists(path):
    os.unlink(path)
Server(path, Handler).serve_forever()
