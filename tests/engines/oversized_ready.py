"""A misbehaving engine: its first frame says it is 100 MB long (over the 64 MiB limit)."""

import socket
import sys
import time

sock = socket.socket(fileno=int(sys.argv[sys.argv.index("--fd") + 1]))
sock.sendall((100_000_000).to_bytes(4, "big") + b"\x00\x00\x00\x05nope!" * 1000)
time.sleep(3600)
