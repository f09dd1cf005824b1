#!/usr/bin/env python3
"""A TLS front for a plugin on a unix socket, for the daemon's tests:

    tls-forward.py PORT_FILE CERT KEY CLIENT_CA UNIX_SOCKET

Listens on 127.0.0.1 (a free port, written to PORT_FILE once listening), requires a client certificate signed
by CLIENT_CA, and forwards each connection's bytes to UNIX_SOCKET and back.
"""
import os
import socket
import ssl
import sys
import threading

port_file, cert, key, client_ca, target = sys.argv[1:6]
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(cert, key)
context.load_verify_locations(client_ca)
context.verify_mode = ssl.CERT_REQUIRED


def pump(src, dst):
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    finally:
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def serve(raw):
    try:
        conn = context.wrap_socket(raw, server_side=True)
    except (ssl.SSLError, OSError):
        raw.close()
        return
    back = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    back.connect(target)
    threading.Thread(target=pump, args=(back, conn), daemon=True).start()
    pump(conn, back)


listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
listener.bind(("127.0.0.1", 0))
listener.listen(16)
with open(port_file + ".tmp", "w") as f:
    f.write(str(listener.getsockname()[1]))
os.rename(port_file + ".tmp", port_file)
while True:
    raw, _ = listener.accept()
    threading.Thread(target=serve, args=(raw,), daemon=True).start()
