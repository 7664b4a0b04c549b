"""``codenode backend``: run a backend on a host and port, behind a token.

The token comes from CODENODE_BACKEND_TOKEN, else from --token-file; with neither, one is
generated and written to the token file, readable only by its owner. It is never printed or
logged: only where it is.

A line logged again and again (an engine sending bad frames in a loop, say) is written once,
then counted: "(the line above repeated N more times)" when another line comes, and every
10 s while it goes on.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import sys
import threading
import time
from pathlib import Path

import uvicorn

import codenode
from codenode.backend.app import create_app
from codenode.backend.images import enter_own_mount_namespace
from codenode.backend.workspaces import Workspaces, uid_range
from codenode.environment import default_home, prepare_plugins

log = logging.getLogger("codenode.backend")
DEFAULT_PORT = 8337


class RepeatFilter(logging.Filter):
    """On one handler: a line the same as the one before (logger, level and text) is counted,
    not written; the count is written before the next other line, and every ``every`` seconds
    while the same line goes on."""

    def __init__(self, handler: logging.Handler, every: float = 10.0) -> None:
        super().__init__()
        self.handler = handler
        self.every = every
        self._lock = threading.Lock()
        self._last: tuple[str, int, str] | None = None
        self._last_record: logging.LogRecord | None = None
        self._repeats = 0
        self._told = 0.0  # when the line, or its count, was last written

    def filter(self, record: logging.LogRecord) -> bool:
        key = (record.name, record.levelno, record.getMessage())
        with self._lock:
            now = time.monotonic()
            if key == self._last:
                self._repeats += 1
                if now - self._told >= self.every:
                    self._tell_repeats(now)
                return False
            self._tell_repeats(now)
            self._last, self._last_record, self._told = key, record, now
            return True

    def _tell_repeats(self, now: float) -> None:
        if not self._repeats or self._last_record is None:
            return
        last = self._last_record
        summary = logging.LogRecord(
            last.name,
            last.levelno,
            last.pathname,
            last.lineno,
            "(the line above repeated %d more time%s)",
            (self._repeats, "" if self._repeats == 1 else "s"),
            None,
        )
        self._repeats, self._told = 0, now
        # Handler.handle would run the filters again: emit under the handler's own lock.
        self.handler.acquire()
        try:
            self.handler.emit(summary)
        finally:
            self.handler.release()


def limit_repeats(*loggers: logging.Logger) -> None:
    """A RepeatFilter on every handler of these loggers."""
    for logger in loggers:
        for handler in logger.handlers:
            if not any(isinstance(f, RepeatFilter) for f in handler.filters):
                handler.addFilter(RepeatFilter(handler))


def load_token(token_file: Path) -> tuple[str, str]:
    """The token, and where it came from (for the log; never the token itself)."""
    from_env = os.environ.get("CODENODE_BACKEND_TOKEN", "").strip()
    if from_env:
        return from_env, "the environment variable CODENODE_BACKEND_TOKEN"
    if token_file.exists():
        token = token_file.read_text().strip()
        if not token:
            raise SystemExit(f"token file {token_file} is empty")
        return token, str(token_file)
    token = secrets.token_urlsafe(32)
    token_file.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(token_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(token + "\n")
    return token, f"{token_file} (new)"


def run(
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    plugins: Path | None = None,
    token_file: Path | None = None,
    workspaces: Path | None = None,
    workspace_uids: str = "2000000-2999999",
    orphan_minutes: float = 10.0,
    certfile: str | None = None,
    keyfile: str | None = None,
) -> None:
    """Serve the backend until SIGINT or SIGTERM; every engine is stopped on the way out."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("watchfiles").setLevel(logging.WARNING)  # "1 change detected" adds nothing
    # First, while this process has one thread: workspace images are mounted in a namespace
    # of the backend's own, which the kernel clears when the backend is gone.
    own_mounts = enter_own_mount_namespace()
    home = default_home()
    plugins = (plugins or home / "plugins").expanduser()
    if prepare_plugins(plugins):
        log.info("created plug-in folder %s with the default plug-ins", plugins)
    token_file = (token_file or home / "backend.token").expanduser()
    token, token_source = load_token(token_file)
    listener = socket.create_server((host, port), reuse_port=False)
    # Accepted connections inherit this. Without it, a response written in two parts (headers,
    # body) waits for the client's delayed ACK: ~40 ms on every request and every bus reply.
    listener.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    bound_port = listener.getsockname()[1]
    scheme = "https" if certfile else "http"
    print(f"Codenode backend {codenode.__version__} listening on {scheme}://{host}:{bound_port}")
    print(f"plug-ins: {plugins}; token: {token_source}", flush=True)
    config = uvicorn.Config(
        create_app(
            plugins,
            token,
            Workspaces(
                (workspaces or plugins.parent / "workspaces").expanduser(),
                uid_range(workspace_uids),
                limits=own_mounts,
            ),
            hidden=[token_file.resolve()],
            orphan_seconds=orphan_minutes * 60 if orphan_minutes > 0 else None,
        ),
        log_level="info",
        access_log=False,  # request lines add nothing an operator needs, and cost time
        ssl_certfile=certfile,
        ssl_keyfile=keyfile,
        ws="websockets-sansio",
        # Bus messages are small JSON: compressing each costs more CPU than it saves.
        ws_per_message_deflate=False,
        lifespan="on",
    )
    # uvicorn's own loggers have handlers of their own, made with its config.
    limit_repeats(*(logging.getLogger(name) for name in ("", "uvicorn", "uvicorn.error")))
    server = uvicorn.Server(config)
    server.run(sockets=[listener])
    sys.stdout.flush()
