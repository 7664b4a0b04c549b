"""``codenode backend``: run a backend on a host and port, behind a token.

The token comes from CODENODE_BACKEND_TOKEN, else from --token-file; with neither, one is
generated and written to the token file, readable only by its owner. It is never printed or
logged: only where it is.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import sys
from pathlib import Path

import uvicorn

import codenode
from codenode.backend.app import create_app
from codenode.backend.images import enter_own_mount_namespace
from codenode.backend.workspaces import Workspaces, uid_range
from codenode.environment import default_home, prepare_plugins

log = logging.getLogger("codenode.backend")
DEFAULT_PORT = 8337


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
    server = uvicorn.Server(config)
    server.run(sockets=[listener])
    sys.stdout.flush()
