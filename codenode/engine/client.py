"""Start an engine process and talk to it, blocking: for the console, tests and benchmarks.

The backend supervises engines with asyncio; this is the small synchronous counterpart that
needs nothing but the standard library.

>>> with EngineClient() as engine:                                # doctest: +SKIP
...     engine.evaluate('2+2')['out']
'4\\n'
"""

from __future__ import annotations

import itertools
import os
import signal
import socket
import subprocess
import sys

from codenode.protocol import engine as wire
from codenode.protocol.evaluation import Evaluation

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence

    Message = Dict[str, Any]


class EngineError(Exception):
    """The engine answered with an error, or is gone."""


def default_command() -> List[str]:
    """The command line of a Python engine on this interpreter."""
    return [sys.executable, "-m", "codenode.engine"]


class EngineClient:
    """One engine process, started on a socketpair, in its own session (process group)."""

    def __init__(
        self,
        command: Optional[Sequence[str]] = None,
        *,
        env: Optional[Mapping[str, str]] = None,
        cwd: Optional[str] = None,
        timeout: Optional[float] = 30.0,
        stderr: Any = None,
    ) -> None:
        parent, child = socket.socketpair()
        argv = [*(command or default_command()), "--fd", str(child.fileno())]
        try:
            self.process = subprocess.Popen(
                argv,
                pass_fds=[child.fileno()],
                stdin=subprocess.DEVNULL,
                stderr=stderr,
                env=None if env is None else dict(env),
                cwd=cwd,
                start_new_session=True,
            )
        finally:
            child.close()
        self.sock = parent
        self.sock.settimeout(timeout)
        self._reader = wire.FrameReader(parent)
        self._ids = itertools.count(1)
        try:
            self.ready = self.receive()
            if self.ready.get("type") != "ready":
                raise EngineError("engine did not say ready: %r" % (self.ready,))
        except BaseException:  # timeout, bad frame: leave no process behind
            self.close()
            raise

    @property
    def pid(self) -> int:
        """The engine's process id (also its process group id)."""
        return self.process.pid

    def send(self, message: Message) -> None:
        """Send one request as it is."""
        self.sock.sendall(wire.encode(message))

    def send_raw(self, data: bytes) -> None:
        """Send bytes as they are (for tests of malformed frames)."""
        self.sock.sendall(data)

    def receive(self) -> Message:
        """The next message from the engine; EngineError if it has gone."""
        message = self._reader.read()
        if message is None:
            raise EngineError("engine closed the connection (exit code %s)" % self.process.poll())
        return message

    def request(self, op: str, **fields: Any) -> int:
        """Send a request; its id."""
        request_id = next(self._ids)
        self.send({"id": request_id, "op": op, **fields})
        return request_id

    def evaluate(
        self, code: str, on_message: Optional[Callable[[Message], None]] = None
    ) -> Message:
        """Run code; its result, with out, err, in and display as Interpreter.evaluate has
        them (see result). on_message sees each message before the result."""
        return self.result(self.request("evaluate", code=code), code, on_message)

    def result(
        self,
        request_id: Any,
        code: str = "",
        on_message: Optional[Callable[[Message], None]] = None,
    ) -> Message:
        """Read messages until the result of the evaluate request_id; the result with the
        evaluation's output added up from the stream and display messages before it
        (protocol.evaluation). EngineError if an error answers it instead."""
        evaluation = Evaluation(request_id, code)

        def seen(message: Message) -> None:
            evaluation.add(message)
            if on_message is not None:
                on_message(message)

        evaluation.add(self.wait_for(request_id, "result", seen))
        return evaluation.result()

    def call(self, op: str, **fields: Any) -> Message:
        """complete, introspect, info or shutdown: the content of the reply."""
        content: Message = self.wait_for(self.request(op, **fields), "reply")["content"]
        return content

    def wait_for(
        self, request_id: Any, kind: str, on_message: Optional[Callable[[Message], None]] = None
    ) -> Message:
        """Read messages until one of type kind (or an error) about request_id."""
        while True:
            message = self.receive()
            if message.get("id") == request_id and message.get("type") in (kind, "error"):
                if message["type"] == "error":
                    raise EngineError(message.get("message", "engine error"))
                return message
            if on_message is not None:
                on_message(message)

    def interrupt(self, evaluation: Any = None) -> None:
        """SIGINT to the engine's process group; then, if *evaluation* (the id of the running
        evaluate request) is given, the ``interrupt`` request that makes sure the SIGINT is not
        lost when it came before the engine read that evaluation (protocol/engine.py). Its
        reply is left for ``wait_for`` to skip."""
        os.killpg(self.process.pid, signal.SIGINT)
        if evaluation is not None:
            self.request("interrupt", evaluation=evaluation)

    def close(self, timeout: float = 5.0) -> None:
        """Ask the engine to exit; kill its process group if it does not."""
        if self.process.poll() is None:
            try:
                self.request("shutdown")
                self.process.wait(timeout)
            except (OSError, subprocess.TimeoutExpired):
                pass
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.process.wait()
        self.sock.close()

    def __enter__(self) -> EngineClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
