"""A misbehaving engine: starts, writes to stderr, never says ready."""

import sys
import time

print("never_ready: I will not say ready", file=sys.stderr, flush=True)
time.sleep(3600)
