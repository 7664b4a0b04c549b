"""A misbehaving engine: says ready in an engine protocol no backend speaks (99)."""

import json
import socket
import sys
import time

sock = socket.socket(fileno=int(sys.argv[sys.argv.index("--fd") + 1]))
ready = {"type": "ready", "pid": 0, "protocol": 99, "language": "none", "language_version": "0"}
body = json.dumps(ready).encode()
sock.sendall(len(body).to_bytes(4, "big") + body)
time.sleep(3600)
