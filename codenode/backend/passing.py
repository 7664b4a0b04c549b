"""Descriptors passed between processes (SCM_RIGHTS) and the waits they need, on asyncio."""

from __future__ import annotations

import array
import asyncio
import json
import os
import socket
from typing import Any

FD_BYTES = array.array("i").itemsize  # one descriptor in SCM_RIGHTS data


def rights(fds: list[int]) -> list[tuple[int, int, bytes]]:
    """Ancillary data that passes fds."""
    return [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds).tobytes())]


def fds(ancdata: list[tuple[int, int, bytes]]) -> list[int]:
    """The descriptors passed in a message's ancillary data."""
    found = array.array("i")
    for level, kind, data in ancdata:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            found.frombytes(data[: len(data) - len(data) % FD_BYTES])
    return list(found)


async def send(control: socket.socket, request: dict[str, Any], fds: list[int]) -> None:
    """Send one JSON packet with fds attached, waiting while the socket is full."""
    data = json.dumps(request).encode()
    while True:
        try:
            control.sendmsg([data], rights(fds))
            return
        except BlockingIOError:  # the template is behind: wait until it reads
            await writable(control)


async def readable(sock: socket.socket) -> None:
    """Until sock can be read."""
    loop = asyncio.get_running_loop()
    ready: asyncio.Future[None] = loop.create_future()
    loop.add_reader(sock, settle, ready)
    try:
        await ready
    finally:
        loop.remove_reader(sock)


def settle(future: asyncio.Future[None]) -> None:
    """Resolve future, unless done already (a reader or writer callback)."""
    if not future.done():
        future.set_result(None)


async def writable(sock: socket.socket) -> None:
    """Until sock can be written."""
    loop = asyncio.get_running_loop()
    ready: asyncio.Future[None] = loop.create_future()
    loop.add_writer(sock, settle, ready)
    try:
        await ready
    finally:
        loop.remove_writer(sock)


async def stream(fd: int) -> asyncio.StreamReader:
    """An asyncio reader on the read end of a pipe."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(
        lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(fd, "rb", buffering=0)
    )
    return reader
