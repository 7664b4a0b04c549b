"""The engine wire's frame codec, at its real limit (64 MiB), both ways it is read.

The engine reads with FrameReader (a blocking socket), the backend with AsyncFrameReader (an
asyncio stream); both parse with one FrameDecoder, so each test runs on both.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from codenode.protocol import frames
from codenode.protocol.frames import MAX_FRAME_BYTES, FrameDecoder, FrameError, FrameTooLarge

Reader = Callable[[bytes], list[Any]]


def frame_of(body: bytes) -> bytes:
    return len(body).to_bytes(frames.HEADER_BYTES, "big") + body


def body_of_size(size: int) -> bytes:
    """A JSON object of exactly size bytes."""
    skeleton = b'{"type":"display","id":1,"data":{"text/plain":""}}'
    body = skeleton[:-3] + b"x" * (size - len(skeleton)) + skeleton[-3:]
    assert len(body) == size
    return body


def events(read: Callable[[], Any]) -> Iterator[Any]:
    """What successive reads give: messages, FrameErrors (as such), until the end (None)."""
    while True:
        try:
            message = read()
        except FrameError as exc:
            yield exc
            continue
        if message is None:
            return
        yield message


def read_sync(data: bytes) -> list[Any]:
    ours, theirs = socket.socketpair()
    writer = threading.Thread(target=lambda: (theirs.sendall(data), theirs.close()))
    writer.start()
    try:
        return list(events(frames.FrameReader(ours).read))
    finally:
        writer.join()
        ours.close()


def read_async(data: bytes) -> list[Any]:
    async def main() -> list[Any]:
        stream = asyncio.StreamReader()
        stream.feed_data(data)
        stream.feed_eof()
        reader = frames.AsyncFrameReader(stream)
        found: list[Any] = []
        while True:
            try:
                message = await reader.read()
            except FrameError as exc:
                found.append(exc)
                continue
            if message is None:
                return found
            found.append(message)

    return asyncio.run(main())


@pytest.fixture(params=[read_sync, read_async], ids=["sync", "async"])
def read(request: pytest.FixtureRequest) -> Reader:
    return request.param  # type: ignore[no-any-return]


def test_frames_in_a_row_and_the_end(read: Reader) -> None:
    messages = [{"id": i, "type": "stream", "name": "stdout", "text": "é" * i} for i in range(50)]
    data = b"".join(frame_of(json.dumps(m).encode()) for m in messages)
    assert read(data) == messages
    assert read(b"") == []
    assert read(data[:-1]) == messages[:-1]  # a frame cut short at the end: the end


def test_a_frame_of_exactly_the_limit_is_read(read: Reader) -> None:
    after = {"id": 2, "type": "result"}
    found = read(frame_of(body_of_size(MAX_FRAME_BYTES)) + frame_of(json.dumps(after).encode()))
    assert len(found) == 2 and len(found[0]["data"]["text/plain"]) > 60_000_000
    assert found[1] == after


def test_a_frame_one_byte_over_is_skipped_and_the_stream_stays_in_step(read: Reader) -> None:
    after = {"id": 3, "type": "result"}
    data = frame_of(body_of_size(MAX_FRAME_BYTES + 1)) + frame_of(json.dumps(after).encode())
    found = read(data)
    assert len(found) == 2, found[:1]
    assert isinstance(found[0], FrameTooLarge)
    assert str(found[0]) == "a message of 67,108,865 bytes, over the limit of 64 MiB"
    assert found[1] == after


def test_bad_bodies_are_errors_and_the_next_frame_is_read(read: Reader) -> None:
    good = {"id": 1, "op": "info"}
    bodies = [b"nope!", b"[1, 2]", b"\xff\xfe", b'"text"', json.dumps(good).encode()]
    found = read(b"".join(frame_of(body) for body in bodies))
    assert [type(f) for f in found] == [FrameError] * 4 + [dict]
    assert "not UTF-8 JSON" in str(found[0]) and "JSON object, not list" in str(found[1])
    assert found[-1] == good


def decoded(decoder: FrameDecoder, data: bytes, piece: int) -> list[Any]:
    found: list[Any] = []
    for position in range(0, len(data), piece):
        decoder.feed(data[position : position + piece])
        while True:
            try:
                message = decoder.next()
            except FrameTooLarge:
                found.append("too large")
                continue
            if message is None:
                break
            found.append(message)
    return found


@pytest.mark.parametrize("piece", [1, 2, 3, 5, 7, 64, 65536])
def test_the_decoder_takes_bytes_in_any_pieces(piece: int) -> None:
    messages = [{"id": i, "text": "ü" * i} for i in range(20)]
    small = b"".join(frame_of(json.dumps(m).encode()) for m in messages)
    oversized = frame_of(b"x" * 1000)  # over this decoder's limit of 999
    assert decoded(FrameDecoder(999), small + oversized + small, piece) == [
        *messages,
        "too large",
        *messages,
    ]


def test_an_oversized_body_is_never_held() -> None:
    decoder = FrameDecoder()
    decoder.feed((1 << 31).to_bytes(4, "big") + b"x" * 1000)
    with pytest.raises(FrameTooLarge):
        decoder.next()
    for _ in range(100):
        decoder.feed(b"x" * 1_000_000)
        assert decoder.next() is None
    assert len(decoder._buffer) == 0  # 100 MB skipped, none of it kept
    assert decoder.wanted() == 4 * 1024 * 1024  # and read in large pieces


def test_encode_writes_one_frame_and_replaces_what_utf8_cannot_hold() -> None:
    frame = frames.encode({"text": "a\ud800b", "value": object.__new__(object)})
    body = frame[frames.HEADER_BYTES :]
    assert int.from_bytes(frame[: frames.HEADER_BYTES], "big") == len(body)
    decoded = frames.decode(body)
    assert decoded["text"] == "a?b" and decoded["value"].startswith("<object object")


def test_a_lone_surrogate_is_no_text_and_a_pair_is_one_character() -> None:
    with pytest.raises(FrameError, match="lone surrogate"):
        frames.decode(b'{"text": "a\\ud800b"}')
    assert frames.decode(b'{"text": "\\uD83D\\uDE00 \\u0001"}') == {"text": "\U0001f600 \x01"}
