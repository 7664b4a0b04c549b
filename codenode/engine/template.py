"""``python -m codenode.engine.template --control-fd N [--preload MODULES]``: a warm engine
template that forks engines (groundwork for issue 6; the backend does not use it yet).

The template is started like an engine, imports the engine and the modules to preload, says
ready on its control socket (a SOCK_SEQPACKET socket: one JSON object per packet) and waits.
It never runs user code. For each ``{"op": "fork", "id": ID, "output_limit"?: N}`` packet, which
carries an engine socket as SCM_RIGHTS, it forks: the child becomes an ordinary engine on that
socket (its own session, default signal handlers, no descriptor but 0, 1, 2 and its socket,
fresh random seeds, a fresh namespace) and the template answers ``{"type": "forked", "id",
"pid"}``. The template reaps its children and reports each end as ``{"type": "exited", "pid",
"exit_code"}`` or ``{..., "signal"}``. When its control socket closes it exits; the engines it
forked live on until their own sockets close.
"""

from __future__ import annotations

import json
import os
import signal
import sys

# The C module, as in codenode.engine.__main__: socket.py costs start time.
from _socket import CMSG_SPACE, SCM_RIGHTS, SOL_SOCKET, socket

from codenode.engine.output import DEFAULT_OUTPUT_LIMIT
from codenode.engine.server import EngineServer

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Dict, List

USAGE = "usage: python -m codenode.engine.template --control-fd N [--preload MOD,MOD]\n"
POLL_SECONDS = 0.2  # how often children are reaped while no request comes


def parse(argv: List[str]) -> Dict[str, Any]:
    options: Dict[str, Any] = {"control-fd": -1, "preload": ""}
    args = list(argv)
    while args:
        name = args.pop(0)
        if not name.startswith("--") or name[2:] not in options or not args:
            raise SystemExit(USAGE + "unexpected argument: %s" % name)
        options[name[2:]] = args.pop(0)
    try:
        options["control-fd"] = int(options["control-fd"])
    except ValueError:
        raise SystemExit(USAGE + "--control-fd takes a whole number") from None
    if options["control-fd"] < 0:
        raise SystemExit(USAGE + "a template is started by a backend, which passes --control-fd")
    return options


def preload(names: List[str]) -> Dict[str, str]:
    """Import each module; the ones that failed, with why (the template still serves)."""
    import importlib

    failed: Dict[str, str] = {}
    for name in names:
        try:
            importlib.import_module(name)
        except Exception as exc:  # a broken preload must not stop the type from working
            failed[name] = "%s: %s" % (type(exc).__name__, exc)
    return failed


def send(control: socket, message: Dict[str, Any]) -> None:
    control.send(json.dumps(message).encode())


def reap(control: socket) -> None:
    """Report every child that ended."""
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        report: Dict[str, Any] = {"type": "exited", "pid": pid}
        if os.WIFSIGNALED(status):
            report["signal"] = os.WTERMSIG(status)
        else:
            report["exit_code"] = os.WEXITSTATUS(status)
        send(control, report)


def become_engine(control: socket, engine_fd: int, request: Dict[str, Any]) -> None:
    """In the child: shed the template, then serve as an engine on engine_fd. Never returns."""
    try:
        os.setsid()
        for number in (signal.SIGINT, signal.SIGTERM, signal.SIGCHLD, signal.SIGPIPE):
            signal.signal(number, signal.SIG_DFL)
        control.close()
        keep = {0, 1, 2, engine_fd}
        for name in os.listdir("/proc/self/fd"):
            fd = int(name)
            if fd not in keep:
                try:
                    os.close(fd)
                except OSError:
                    pass  # the listing's own descriptor, closed already
        # Fresh random seeds need nothing here: the random module reseeds itself in a forked
        # child (os.register_at_fork), and seeds itself from os.urandom when first imported.
        server = EngineServer(
            socket(fileno=engine_fd),
            output_limit=int(request.get("output_limit") or DEFAULT_OUTPUT_LIMIT),
        )
        server.serve()
    finally:
        os._exit(0)


def serve(control: socket, preloaded: List[str], failed: Dict[str, str]) -> None:
    send(
        control,
        {"type": "ready", "pid": os.getpid(), "preloaded": preloaded, "failed": failed},
    )
    control.settimeout(POLL_SECONDS)
    while True:
        reap(control)
        try:
            data, ancdata, _flags, _address = control.recvmsg(65536, CMSG_SPACE(4))
        except OSError as exc:  # the timeout is an OSError too
            if type(exc).__name__ == "timeout" or isinstance(exc, TimeoutError):
                continue
            raise
        if not data:  # the backend is gone: so is the template (engines keep their sockets)
            return
        fds = [
            int.from_bytes(payload[:4], sys.byteorder)
            for level, kind, payload in ancdata
            if level == SOL_SOCKET and kind == SCM_RIGHTS
        ]
        try:
            request = json.loads(data.decode())
        except ValueError:
            request = None
        if not isinstance(request, dict) or request.get("op") != "fork" or len(fds) != 1:
            for fd in fds:
                os.close(fd)
            send(control, {"type": "error", "message": "expected a fork request with one socket"})
            continue
        pid = os.fork()
        if pid == 0:
            become_engine(control, fds[0], request)
        os.close(fds[0])
        send(control, {"type": "forked", "id": request.get("id"), "pid": pid})


def main(argv: List[str]) -> None:
    options = parse(argv)
    names = [name for name in options["preload"].split(",") if name]
    failed = preload(names)
    control = socket(fileno=options["control-fd"])
    serve(control, [name for name in names if name not in failed], failed)


if __name__ == "__main__":
    main(sys.argv[1:])
