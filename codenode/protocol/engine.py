"""The engine wire: length-prefixed JSON frames over the socket the backend hands an engine.

Standard library only: the engine process imports this module, and it must run on any
Python >= 3.9 that hosts the engine. docs/engine-protocol.md describes every message.

A frame is a 4-byte big-endian unsigned length followed by that many bytes of UTF-8 JSON
holding one object. Requests carry ``id`` and ``op``; replies carry the same ``id`` and a
``type``. The engine speaks first, with one ``ready`` frame.
"""

from __future__ import annotations

import json

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Dict, Optional, Protocol

    class Receiver(Protocol):
        """What FrameReader reads from: a blocking socket (socket.socket or _socket.socket)."""

        def recv(self, size: int, /) -> bytes: ...

    Message = Dict[str, Any]

PROTOCOL_VERSION = 1
HEADER_BYTES = 4
# Larger frames are refused (and skipped, so the stream stays in step): no request needs more.
MAX_FRAME_BYTES = 64 * 1024 * 1024

CLOSED_ITS_DESCRIPTORS = 71
"""The exit code of an engine whose own code closed the engine's descriptors (its socket to the
backend, its output pipes) with os.close or os.closerange: the backend says so in words."""

# Requests (parent -> engine), by their "op".
OPS = ("evaluate", "complete", "introspect", "input_reply", "info", "shutdown")
# Messages (engine -> parent), by their "type".
TYPES = ("ready", "stream", "display", "input_request", "result", "reply", "error")


class FrameError(Exception):
    """A frame that is not one JSON object of acceptable size; the stream is still in step."""


def encode(message: Message) -> bytes:
    """One message as a frame, ready for ``sendall``."""
    # default=repr: a value JSON cannot hold (from a rich repr, say) is sent as its repr.
    text = json.dumps(message, ensure_ascii=False, separators=(",", ":"), default=repr)
    body = text.encode("utf-8", "replace")  # a lone surrogate becomes "?"
    return len(body).to_bytes(HEADER_BYTES, "big") + body


def decode(body: bytes) -> Message:
    """The message in a frame's body; FrameError if it is not a JSON object."""
    try:
        message = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise FrameError("frame is not UTF-8 JSON: %s" % exc) from exc
    if not isinstance(message, dict):
        raise FrameError("frame must hold a JSON object, not %s" % type(message).__name__)
    return message


class FrameReader:
    """Reads frames from a blocking socket, one message at a time."""

    def __init__(self, sock: Receiver) -> None:
        self._sock = sock
        self._buffer = bytearray()

    def read(self) -> Optional[Message]:
        """The next message, None at end of stream; FrameError for a bad frame (skipped).

        A socket timeout may interrupt a read; nothing is lost and the next read carries on.
        """
        if not self._fill_to(HEADER_BYTES):
            return None
        length = int.from_bytes(self._buffer[:HEADER_BYTES], "big")
        if length > MAX_FRAME_BYTES:
            del self._buffer[:HEADER_BYTES]
            if not self._skip(length):
                return None
            raise FrameError(
                "frame of %d bytes exceeds the limit of %d" % (length, MAX_FRAME_BYTES)
            )
        if not self._fill_to(HEADER_BYTES + length):
            return None
        body = bytes(self._buffer[HEADER_BYTES : HEADER_BYTES + length])
        del self._buffer[: HEADER_BYTES + length]
        return decode(body)

    def _fill_to(self, count: int) -> bool:
        while len(self._buffer) < count:
            chunk = self._sock.recv(65536)
            if not chunk:
                return False
            self._buffer += chunk
        return True

    def _skip(self, count: int) -> bool:
        while count > 0:
            if not self._buffer and not self._fill_to(1):
                return False
            taken = min(count, len(self._buffer))
            del self._buffer[:taken]
            count -= taken
        return True
