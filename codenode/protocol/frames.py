"""The engine wire's frames: one codec for both ends, the engine (blocking), the backend (asyncio).

A frame is a 4-byte big-endian unsigned length followed by that many bytes of UTF-8 JSON
holding one object, of at most ``MAX_FRAME_BYTES`` (64 MiB).

``FrameDecoder`` does the parsing, with no I/O: bytes in, messages out. ``FrameReader`` feeds
it from a blocking socket (the engine, EngineClient), ``AsyncFrameReader`` from an asyncio
stream (the backend): the same header parsing, the same skipping of an oversized frame, the
same errors. A frame whose header says more than the limit raises ``FrameTooLarge`` as soon
as its header is read, and its body is skipped as it arrives, never held: a reader that reads
on stays in step. Whether to read on is the caller's choice: the engine does (its requests
come from its backend), the backend does not (an engine's frames can be written by the user
code it runs, and a false length would swallow the real frames after it: the backend kills
that engine and says why).

Standard library only, Python >= 3.9, and no asyncio import: the engine loads this module.
"""

from __future__ import annotations

import json

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Dict, Optional, Protocol

    Message = Dict[str, Any]

    class Receiver(Protocol):
        """What FrameReader reads from: a blocking socket (socket.socket or _socket.socket)."""

        def recv(self, size: int, /) -> bytes: ...

    class AsyncReceiver(Protocol):
        """What AsyncFrameReader reads from: an asyncio.StreamReader."""

        async def read(self, n: int = -1) -> bytes: ...


HEADER_BYTES = 4
MAX_FRAME_BYTES = 64 * 1024 * 1024
MIB = 1024 * 1024
_CHUNK = 65536  # bytes asked of the socket at a time, more while a large frame comes in
_MAX_CHUNK = 4 * MIB


class FrameError(Exception):
    """A frame that is not one JSON object; it was read whole, so the stream is in step."""


class FrameTooLarge(FrameError):
    """A frame whose header says more than the limit; its body is skipped as it arrives."""

    def __init__(self, length: int, limit: int = MAX_FRAME_BYTES) -> None:
        self.length = length
        self.limit = limit
        shown = "%d MiB" % (limit // MIB) if limit % MIB == 0 else "%d bytes" % limit
        super().__init__("a message of {:,} bytes, over the limit of {}".format(length, shown))


def encode(message: Message) -> bytes:
    """One message as a frame, ready for ``sendall``."""
    # default=repr: a value JSON cannot hold (from a rich repr, say) is sent as its repr.
    text = json.dumps(message, ensure_ascii=False, separators=(",", ":"), default=repr)
    body = text.encode("utf-8", "replace")  # a lone surrogate becomes "?"
    return len(body).to_bytes(HEADER_BYTES, "big") + body


def decode(body: bytes) -> Message:
    """The message in a frame's body; FrameError if it is not a JSON object, or if one of its
    strings holds half a surrogate pair (``"\\ud800"`` is JSON, but no UTF-8 text can carry
    it on: passed on, it would fail the next send, in whichever process makes it)."""
    try:
        text = body.decode("utf-8")
        message = json.loads(text)
        if "\\ud" in text or "\\uD" in text:  # rare: check the escapes really pair up
            json.dumps(message, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError as exc:
        raise FrameError("frame holds a lone surrogate (%s): not text" % exc.reason) from exc
    except (UnicodeDecodeError, ValueError) as exc:
        raise FrameError("frame is not UTF-8 JSON: %s" % exc) from exc
    if not isinstance(message, dict):
        raise FrameError("frame must hold a JSON object, not %s" % type(message).__name__)
    return message


class FrameDecoder:
    """Frames parsed from bytes as they come, with no I/O of its own (both readers use it)."""

    def __init__(self, limit: int = MAX_FRAME_BYTES) -> None:
        self.limit = limit
        self._buffer = bytearray()
        self._skipping = 0  # bytes of an oversized frame's body still to come

    def feed(self, data: bytes) -> None:
        """Bytes read from the stream, in order."""
        if self._skipping:
            taken = min(self._skipping, len(data))
            self._skipping -= taken
            data = data[taken:]
        self._buffer += data

    def next(self) -> Optional[Message]:
        """The next whole message; None until more bytes are fed.

        FrameTooLarge for a header over the limit (what came of its body is dropped, the rest
        will be as it is fed); FrameError for a body that is not a JSON object (dropped).
        """
        buffer = self._buffer
        if len(buffer) < HEADER_BYTES:
            return None
        length = int.from_bytes(buffer[:HEADER_BYTES], "big")
        if length > self.limit:
            taken = min(length, len(buffer) - HEADER_BYTES)
            del buffer[: HEADER_BYTES + taken]
            self._skipping = length - taken
            raise FrameTooLarge(length, self.limit)
        end = HEADER_BYTES + length
        if len(buffer) < end:
            return None
        body = bytes(buffer[HEADER_BYTES:end])
        del buffer[:end]
        return decode(body)

    def wanted(self) -> int:
        """How many bytes to ask the stream for next: more while a large frame comes in."""
        needed = self._skipping
        if not needed and len(self._buffer) >= HEADER_BYTES:
            needed = HEADER_BYTES + int.from_bytes(self._buffer[:HEADER_BYTES], "big")
            needed = min(needed, HEADER_BYTES + self.limit) - len(self._buffer)
        return min(max(needed, _CHUNK), _MAX_CHUNK)


class FrameReader:
    """Reads frames from a blocking socket, one message at a time."""

    def __init__(self, sock: Receiver, limit: int = MAX_FRAME_BYTES) -> None:
        self._sock = sock
        self._decoder = FrameDecoder(limit)

    def read(self) -> Optional[Message]:
        """The next message, None at end of stream; FrameError for a bad frame (see the
        module's docstring: the next read carries on in step).

        A socket timeout may interrupt a read; nothing is lost and the next read carries on.
        """
        decoder = self._decoder
        while True:
            message = decoder.next()
            if message is not None:
                return message
            chunk = self._sock.recv(decoder.wanted())
            if not chunk:
                return None
            decoder.feed(chunk)


class AsyncFrameReader:
    """Reads frames from an asyncio stream, one message at a time (FrameReader's twin)."""

    def __init__(self, stream: AsyncReceiver, limit: int = MAX_FRAME_BYTES) -> None:
        self._stream = stream
        self._decoder = FrameDecoder(limit)

    async def read(self) -> Optional[Message]:
        """The next message, None at end of stream; FrameError for a bad frame.

        Cancelling a read (a timeout) loses nothing: the next read carries on.
        """
        decoder = self._decoder
        while True:
            message = decoder.next()
            if message is not None:
                return message
            chunk = await self._stream.read(decoder.wanted())
            if not chunk:
                return None
            decoder.feed(chunk)
