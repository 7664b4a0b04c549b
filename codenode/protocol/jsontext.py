"""JSON text on the WebSocket wires of the backend and the frontend (the engine bus, the
notebook bus), encoded and decoded by msgspec: for the buses' small messages about ten times
faster than the standard library's ``json`` to encode and four times to decode, and every
message is encoded and decoded on each hop (docs/benchmarks.md, "Where the time goes").

The engine does not use this (it is standard library only): its frames are ``frames.py``'s.

- ``encode``: compact, in UTF-8 (not ``\\u``-escaped). NaN and the infinities become
  ``null``: JSON has none of them, and a browser's ``JSON.parse`` refuses the ``NaN`` that
  ``json.dumps`` writes. A string that UTF-8 cannot hold (a lone surrogate, such as a client's
  own id may carry) is written escaped, by ``json.dumps``, as before.
- ``decode``: what msgspec refuses goes on to ``json.loads``, so that every text decodes as it
  did before, only faster: ``NaN``, ``1e400`` and lone surrogate escapes are still taken, and
  malformed text still raises ``ValueError`` (``json.JSONDecodeError``).
"""

from __future__ import annotations

import json
from typing import Any

import msgspec

_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder()


def encode(message: Any) -> str:
    """message as JSON text."""
    try:
        return _encoder.encode(message).decode()
    except (UnicodeEncodeError, TypeError):  # a lone surrogate; a value JSON has no form for
        return json.dumps(message, separators=(",", ":"))


def decode(text: str | bytes) -> Any:
    """The value that JSON text holds; ValueError if it holds none."""
    try:
        return _decoder.decode(text)
    except msgspec.DecodeError:
        return json.loads(text)
