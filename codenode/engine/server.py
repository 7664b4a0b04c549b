"""The engine process's RPC server: one Interpreter served over the socket from the backend.

Threads, not asyncio (every engine pays for its imports). The main thread runs evaluations one
at a time, so that SIGINT lands in user code as KeyboardInterrupt; a receiver thread reads
requests and answers complete, introspect and info at once through a helper thread, so those
work while code runs. When the parent's end of the socket closes, the process exits at once,
and takes the processes it started with it (see parent_gone).
"""

from __future__ import annotations

import errno
import os
import queue
import signal
import sys
import threading

import codenode
from codenode.engine import background
from codenode.engine.fdcapture import FdCapture
from codenode.engine.interpreter import Interpreter
from codenode.engine.output import DEFAULT_OUTPUT_LIMIT, Transcript, fit
from codenode.engine.streaming import Coalescer
from codenode.protocol import engine as wire

TYPE_CHECKING = False
if TYPE_CHECKING:
    from _socket import socket
    from types import FrameType
    from typing import Any, Callable, Dict, List, NoReturn, Optional, Set

    Message = Dict[str, Any]

LANGUAGE = "python"
_CLOSED = (errno.EBADF, errno.ENOTSOCK)  # what a descriptor closed under the engine gives


class Connection:
    """The socket to the parent: frames in, frames out (sends from any thread)."""

    def __init__(self, sock: socket) -> None:
        self.sock = sock
        self.reader = wire.FrameReader(sock)
        self._lock = threading.Lock()

    def send(self, message: Message) -> None:
        """Send one message, cut to fit in a frame if need be; if the parent is gone, so is
        the engine."""
        self.send_all([message])

    def send_all(self, messages: List[Message]) -> None:
        """Send messages, in order, in one write (one wake-up of the parent)."""
        frames = b"".join(_frame(message) for message in messages)
        try:
            with self._lock:
                self.sock.sendall(frames)
        except OSError as exc:
            parent_gone(exc)


def _frame(message: Message) -> bytes:
    """The message's frame, the message cut to fit in one if need be."""
    frame = wire.encode(message)
    if len(frame) - wire.HEADER_BYTES > wire.MAX_FRAME_BYTES:
        frame = wire.encode(fit(message, wire.MAX_FRAME_BYTES))
    return frame


def parent_gone(cause: Optional[OSError] = None) -> NoReturn:
    """The backend is gone: end this engine and what it started, now (no orphans).

    The receiver thread notices even while user code runs. An engine that leads its own process
    group (as every engine a backend starts or forks does) kills the whole group. A descriptor
    that is no longer a socket (EBADF, ENOTSOCK) was closed by the engine's own code, not by
    the backend: the exit code says so (the backend stops the rest of the group itself).
    """
    if cause is not None and cause.errno in _CLOSED:
        os._exit(wire.CLOSED_ITS_DESCRIPTORS)
    if os.getpgrp() == os.getpid():
        os.killpg(0, signal.SIGKILL)
    os._exit(0)


class EngineServer:
    """Serves one Interpreter over a Connection until shutdown or until the parent goes away."""

    def __init__(
        self,
        sock: socket,
        output_limit: int = DEFAULT_OUTPUT_LIMIT,
        namespace: Optional[Dict[str, Any]] = None,
        interpreter_class: Optional[type] = None,
    ) -> None:
        self.connection = Connection(sock)
        self.coalescer = Coalescer(self.connection.send_all)
        self.capture = FdCapture(idle=self._idle_transcript(output_limit))
        self.interpreter: Interpreter = (interpreter_class or Interpreter)(
            namespace, output_limit=output_limit, capture=self.capture, ask_input=self._ask_input
        )
        self._evaluations: queue.Queue[Optional[Message]] = queue.Queue()
        self._side_requests: queue.Queue[Message] = queue.Queue()
        self._input_replies: queue.Queue[str] = queue.Queue()
        self._current: Any = None
        # The ids of the evaluations read and not yet answered (queued or running), in order:
        # kept by the receiver thread as it reads them; a SIGINT for one not in here (ended)
        # stops nothing.
        self._unfinished: List[Any] = []
        # The evaluations a SIGINT has reached (interrupted, or marked to be as they start):
        # the parent's interrupt request, behind its SIGINT on the socket, raises the SIGINT
        # again for an evaluation not in here (the signal came before this thread had read it).
        self._reached: Set[Any] = set()
        self._asked: Any = None  # the evaluation such a raised-again SIGINT is for
        self._interrupt_at_start: Any = None  # the id of a read evaluation a SIGINT meant
        self._handlers: Dict[str, Callable[[Message], None]] = {
            "evaluate": self._on_evaluate,
            "interrupt": self._on_interrupt,
            "complete": self._side_requests.put,
            "introspect": self._side_requests.put,
            "info": self._side_requests.put,
            "input_reply": self._on_input_reply,
            "shutdown": self._on_shutdown,
        }

    def _idle_transcript(self, output_limit: int) -> Transcript:
        # Output between evaluations (background threads, leftover subprocesses) still streams.
        return Transcript(output_limit, self.coalescer.add)

    def serve(self) -> None:
        """Say ready, then run evaluations in this (the main) thread until shutdown."""
        signal.signal(signal.SIGINT, self._on_sigint)
        # These two with threading's handshake: started so, no SIGINT sent right after ready
        # was ever seen to land in the next evaluation (started with _thread, some did).
        # With SIGINT blocked, as the output threads (background.py): a SIGINT that one of
        # these took would wait for the main thread's next wake-up, and interrupt whatever
        # evaluation came next (1 in ~3 runs of the interrupt tests, without).
        with background.SigintBlocked():
            threading.Thread(target=self._receive, name="codenode-receive", daemon=True).start()
            threading.Thread(target=self._answer_side, name="codenode-side", daemon=True).start()
        self.connection.send(
            {
                "type": "ready",
                "pid": os.getpid(),
                "protocol": wire.PROTOCOL_VERSION,
                "language": LANGUAGE,
                "language_version": "%d.%d.%d" % sys.version_info[:3],
            }
        )
        while True:
            request = self._evaluations.get()
            if request is None:
                return
            try:
                self._evaluate(request)
            except OSError as exc:  # the output pipes, say: nothing left to answer with
                if exc.errno in _CLOSED:
                    os._exit(wire.CLOSED_ITS_DESCRIPTORS)
                raise

    def _on_sigint(self, signum: int, frame: Optional[FrameType]) -> None:
        # A SIGINT alone stops only the evaluation the main thread has begun (and not ended):
        # its handler can run late, after the receiver thread has read the next evaluation
        # (the main thread waits for the GIL meanwhile), and must not stop that one. One
        # queued, or not read yet, is stopped by the interrupt request behind the SIGINT,
        # which names it and raises the SIGINT again (asked). Nothing is decided from two
        # reads the receiver thread could come between.
        asked, self._asked = self._asked, None
        target = self._current if asked is None else asked
        if target is None or target not in self._unfinished:
            return  # nothing begun, or the evaluation meant has ended
        self._reached.add(target)
        if target != self._current:  # read, not begun: it is interrupted as it begins
            self._interrupt_at_start = target
        elif self.interpreter.running:  # only user code is interrupted, never the bookkeeping
            raise KeyboardInterrupt
        else:  # being compiled, or between statements
            self.interpreter.interrupt_pending = True

    # -- evaluations (main thread) --------------------------------------------------------

    def _evaluate(self, request: Message) -> None:
        self._current = request["id"]
        if self._interrupt_at_start == self._current:
            self._interrupt_at_start = None
            self.interpreter.interrupt_pending = True
        self.capture.idle = Transcript(self.interpreter.output_limit, self.coalescer.add)
        self.coalescer.begin(self._current)
        result = self.interpreter.evaluate(request["code"], listener=self.coalescer.add)
        # Not its in, out, err nor display: the parent sent the code, and has the output from
        # the stream and display messages (docs/engine-protocol.md).
        message = {
            "id": self._current,
            "type": "result",
            "input_count": result["input_count"],
            "cmd_count": result["cmd_count"],
        }
        if self.interpreter.last_error is not None:
            message["error"] = self.interpreter.last_error
        # In this order: a SIGINT from the removal on finds this evaluation ended, and stops
        # nothing (the next one, if any, only by the interrupt request that names it).
        self._unfinished.remove(self._current)
        self.interpreter.interrupt_pending = False  # it came too late to stop anything
        self._reached.discard(self._current)
        self.coalescer.send_with(message)  # after the last of its output, in the same write
        self._current = None
        self.coalescer.begin(None)

    def _ask_input(self, prompt: str, password: bool) -> str:
        while not self._input_replies.empty():  # a stale reply must not answer this prompt
            self._input_replies.get_nowait()
        self.coalescer.send_with(
            {"id": self._current, "type": "input_request", "prompt": prompt, "password": password}
        )
        return self._input_replies.get()

    # -- requests (receiver thread) -------------------------------------------------------

    def _receive(self) -> None:
        while True:
            try:
                message = self.connection.reader.read()
            except wire.FrameError as exc:  # the reader stays in step (an oversized body skipped)
                self.connection.send({"id": None, "type": "error", "message": str(exc)})
                continue
            except OSError as exc:
                parent_gone(exc)
            if message is None:
                parent_gone()
            problem = wire.REQUESTS.problem(message)
            if problem is not None:
                self.connection.send(
                    {"id": _request_id(message), "type": "error", "message": problem}
                )
                continue
            self._handlers[message["op"]](message)

    def _on_evaluate(self, message: Message) -> None:
        self._unfinished.append(message["id"])
        self._evaluations.put(message)

    def _on_interrupt(self, message: Message) -> None:
        # Sent by the parent right after its SIGINT, so it comes behind the evaluation the
        # SIGINT meant: if that SIGINT has not reached it (it came before this thread had read
        # it), it is raised again, as a signal to the main thread, which now knows it. Should
        # both reach it, the second finds it interrupted already or ended: nothing more.
        evaluation = message["evaluation"]
        if evaluation in self._unfinished and evaluation not in self._reached:
            self._asked = evaluation
            signal.pthread_kill(threading.main_thread().ident or 0, signal.SIGINT)
        self.connection.send(
            {"id": message["id"], "type": "reply", "op": "interrupt", "content": {}}
        )

    def _on_input_reply(self, message: Message) -> None:
        self._input_replies.put(message["value"])

    def _on_shutdown(self, message: Message) -> None:
        self.connection.send(
            {"id": message["id"], "type": "reply", "op": "shutdown", "content": {}}
        )
        sys.stdout.flush()
        os._exit(0)

    # -- complete / introspect / info (helper thread) -------------------------------------

    def _answer_side(self) -> None:
        while True:
            request = self._side_requests.get()
            try:
                answer = self._side_answer(request)
                # Nested: the answer's own keys (introspect has "type") never clash.
                reply = {
                    "id": request["id"],
                    "type": "reply",
                    "op": request["op"],
                    "content": answer,
                }
            except Exception as exc:  # a completer bug must not take the engine down
                reply = {"id": request["id"], "type": "error", "message": repr(exc)}
            self.connection.send(reply)

    def _side_answer(self, request: Message) -> Dict[str, Any]:
        op = request["op"]
        if op == "complete":
            return self.interpreter.complete(request["text"], request.get("cursor"))
        if op == "introspect":
            return self.interpreter.introspect(request["expr"], request.get("detail", 0))
        return {
            "language": LANGUAGE,
            "language_version": "%d.%d.%d" % sys.version_info[:3],
            "implementation": sys.implementation.name,
            "pid": os.getpid(),
            "protocol": wire.PROTOCOL_VERSION,
            "codenode_version": codenode.__version__,
            "executable": sys.executable,
        }


def _request_id(message: Message) -> Any:
    request_id = message.get("id")
    return request_id if isinstance(request_id, (str, int)) else None
