"""A misbehaving engine: says ready, then ignores every request and SIGTERM."""

import json
import signal
import socket
import sys
import time

signal.signal(signal.SIGTERM, signal.SIG_IGN)
sock = socket.socket(fileno=int(sys.argv[sys.argv.index("--fd") + 1]))
ready = {"type": "ready", "pid": 0, "protocol": 2, "language": "none", "language_version": "0"}
body = json.dumps(ready).encode()
sock.sendall(len(body).to_bytes(4, "big") + body)
while sock.recv(65536):
    pass  # read and ignore; the parent closing the socket does not make it exit either
time.sleep(3600)
