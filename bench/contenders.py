"""The two engines under test, behind one small blocking interface.

- ``CodenodeEngine``: Codenode's Python engine, started exactly as ``EngineClient()`` starts
  it (``sys.executable -m codenode.engine --fd N`` on a socketpair).
- ``JupyterKernel``: ipykernel, started and driven by jupyter_client (``KernelManager`` and
  ``BlockingKernelClient``) from the ``python3`` kernelspec, which runs on this interpreter.

Both deliver the result of ``2+2`` and every line of printed output to this process; every
wait is bounded by ``TIMEOUT`` seconds, and ``start`` leaves no process behind if it fails.
"""

from __future__ import annotations

import os
import signal
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from queue import Empty
from typing import Any, Protocol

from jupyter_client.blocking.client import BlockingKernelClient
from jupyter_client.channels import ZMQSocketChannel
from jupyter_client.manager import KernelManager

from codenode.engine.client import EngineClient

TIMEOUT = 60.0

Message = dict[str, Any]


class BenchError(Exception):
    """An engine gave a wrong answer, or none in time."""


class Contender(Protocol):
    """A running engine, as the benchmark sees it."""

    pid: int

    def add(self) -> float:
        """Evaluate ``2+2``; seconds from sending it until its result (checked) is here."""

    def output(self, code: str) -> str:
        """Run code until it is done; everything it printed on stdout, from the stream."""

    def close(self) -> None:
        """Stop the engine process and release its resources."""


@dataclass(frozen=True)
class StartTimes:
    """Seconds from spawning an engine to its first answer, its ready signal, its first result.

    Codenode's first answer is its ready frame. ipykernel's is the kernel_info reply, which
    ``wait_for_ready`` receives and then waits at least 0.2 s more, flushing iopub.
    """

    answered: float
    ready: float
    first_result: float


class _Client(EngineClient):
    """EngineClient that kills its process if it never says ready (the original leaves it)."""

    def __init__(self) -> None:
        try:
            super().__init__(timeout=TIMEOUT)
        except BaseException:
            process = getattr(self, "process", None)
            if process is not None and process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(TIMEOUT)
            sock = getattr(self, "sock", None)
            if sock is not None:
                sock.close()
            raise


class CodenodeEngine:
    """Codenode's Python engine, one process on a socketpair."""

    def __init__(self, client: EngineClient) -> None:
        self.client = client
        self.pid = client.pid

    @classmethod
    def start(cls) -> tuple[CodenodeEngine, StartTimes]:
        """Spawn an engine; it and the times to its ready frame and its first result."""
        began = time.perf_counter()
        client = _Client()
        ready = time.perf_counter() - began
        engine = cls(client)
        try:
            first_result = time.perf_counter() - began + engine.add()
        except BaseException:
            engine.close()
            raise
        return engine, StartTimes(ready, ready, first_result)

    def add(self) -> float:
        """Evaluate ``2+2``; done when its ``result`` message is in (its output came before)."""
        began = time.perf_counter()
        result = self.client.evaluate("2+2")
        elapsed = time.perf_counter() - began
        if result.get("out") != "4\n":
            raise BenchError(f"Codenode answered 2+2 with {result!r}")
        return elapsed

    def output(self, code: str) -> str:
        """Run code; the text of its stdout ``stream`` messages."""
        chunks: list[str] = []

        def collect(message: Message) -> None:
            if message.get("type") == "stream" and message.get("name") == "stdout":
                chunks.append(message["text"])

        result = self.client.evaluate(code, on_message=collect)
        if result.get("err"):
            raise BenchError(f"Codenode failed to run the code: {result['err']}")
        return "".join(chunks)

    def close(self) -> None:
        """Ask the engine to exit; EngineClient kills its process group if it does not."""
        self.client.close()


class JupyterKernel:
    """ipykernel, started by a KernelManager and driven by a BlockingKernelClient."""

    def __init__(self, manager: KernelManager) -> None:
        self.manager = manager
        self.client: BlockingKernelClient | None = None
        self.pid = -1
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 (closed by close())

    @classmethod
    def start(cls) -> tuple[JupyterKernel, StartTimes]:
        """Start a kernel; it and the times to its kernel_info reply and its first result."""
        kernel = cls(KernelManager(kernel_name="python3"))
        try:
            began = time.perf_counter()
            # ipykernel warns on stderr at every start that its TCP transport is not encrypted.
            kernel.manager.start_kernel(stderr=kernel.log)
            kernel.client = kernel.manager.client()
            kernel.client.start_channels()
            with _first(kernel.client.shell_channel, "kernel_info_reply") as answered:
                kernel.client.wait_for_ready(timeout=TIMEOUT)
            ready = time.perf_counter() - began
            first_result = time.perf_counter() - began + kernel.add()
            kernel.pid = _kernel_pid(kernel.manager)
        except Exception as exc:
            diagnostics = kernel.stderr()
            kernel.close()
            raise BenchError(f"ipykernel failed: {exc}; its stderr:\n{diagnostics}") from exc
        except BaseException:
            kernel.close()
            raise
        return kernel, StartTimes(answered[0] - began, ready, first_result)

    def add(self) -> float:
        """Execute ``2+2``; done once both the execute_result and the execute_reply arrived.

        The kernel's trailing ``status: idle`` is read afterwards, untimed, so that the iopub
        channel is empty when the next request is sent.
        """
        client = self._client()
        began = time.perf_counter()
        msg_id = client.execute("2+2")
        result = self._iopub_until(msg_id, "execute_result")
        reply = self._shell_reply(msg_id)
        elapsed = time.perf_counter() - began
        data = result["content"]["data"].get("text/plain")
        if data != "4" or reply["content"]["status"] != "ok":
            raise BenchError(f"ipykernel answered 2+2 with {data!r}, {reply['content']!r}")
        self._iopub_until(msg_id, "status", state="idle")
        return elapsed

    def output(self, code: str) -> str:
        """Execute code until the kernel is idle again; the text of its stdout streams."""
        client = self._client()
        msg_id = client.execute(code)
        chunks: list[str] = []
        self._iopub_until(msg_id, "status", state="idle", streams=chunks)
        reply = self._shell_reply(msg_id)
        if reply["content"]["status"] != "ok":
            raise BenchError(f"ipykernel failed to run the code: {reply['content']!r}")
        return "".join(chunks)

    def close(self) -> None:
        """Close the channels, shut the kernel down (jupyter_client kills it if it lingers)."""
        try:
            if self.client is not None:
                self.client.stop_channels()
            if self.manager.has_kernel:
                try:
                    self.manager.shutdown_kernel(now=False)
                except Exception:
                    if self.manager.has_kernel:
                        self.manager.shutdown_kernel(now=True)
        finally:
            self.log.close()

    def stderr(self) -> str:
        """The end of what the kernel wrote on its stderr, to explain a failure."""
        self.log.seek(0)
        return self.log.read()[-4000:].decode("utf-8", "replace")

    def _client(self) -> BlockingKernelClient:
        if self.client is None:
            raise BenchError("the kernel is not started")
        return self.client

    def _iopub_until(
        self, msg_id: str, msg_type: str, state: str | None = None, streams: list[str] | None = None
    ) -> Message:
        # The channel's own get_msg, not BlockingKernelClient.get_iopub_msg: the latter runs an
        # event loop per message, a cost of the client library that is not ipykernel's.
        channel = self._client().iopub_channel
        deadline = time.monotonic() + TIMEOUT
        while True:
            message = _next_message(channel, deadline, f"iopub {msg_type}")
            if message["parent_header"].get("msg_id") != msg_id:
                continue
            kind = message["msg_type"]
            content = message["content"]
            if streams is not None and kind == "stream" and content["name"] == "stdout":
                streams.append(content["text"])
            if kind == msg_type and (state is None or content.get("execution_state") == state):
                return message

    def _shell_reply(self, msg_id: str) -> Message:
        channel = self._client().shell_channel
        deadline = time.monotonic() + TIMEOUT
        while True:
            message = _next_message(channel, deadline, "execute_reply")
            if message["parent_header"].get("msg_id") == msg_id:
                return message


def _kernel_pid(manager: KernelManager) -> int:
    """The kernel process's id, from the provisioner that launched it."""
    process = getattr(manager.provisioner, "process", None)
    if process is None:
        raise BenchError("jupyter_client did not say which process the kernel is")
    return int(process.pid)


@contextmanager
def _first(channel: ZMQSocketChannel, msg_type: str) -> Iterator[list[float]]:
    """A list that gets the perf_counter at which channel first delivers a msg_type message.

    The channel's ``get_msg`` is wrapped on the instance for the duration, nothing else changes.
    """
    arrivals: list[float] = []
    get_msg = channel.get_msg

    def timed(timeout: float | None = None) -> Message:
        message: Message = get_msg(timeout)
        if not arrivals and message["msg_type"] == msg_type:
            arrivals.append(time.perf_counter())
        return message

    channel.get_msg = timed  # type: ignore[method-assign]
    try:
        yield arrivals
    finally:
        del channel.get_msg
    if not arrivals:
        raise BenchError(f"no {msg_type} arrived")


def _next_message(channel: Any, deadline: float, what: str) -> Message:
    """The next message on a jupyter_client channel, or BenchError at the deadline."""
    try:
        message: Message = channel.get_msg(timeout=max(deadline - time.monotonic(), 0.0))
    except Empty:
        raise BenchError(f"no {what} from ipykernel in {TIMEOUT} s") from None
    return message
