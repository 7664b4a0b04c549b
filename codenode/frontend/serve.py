"""``codenode frontend``: serve the web application from an environment folder."""

from __future__ import annotations

import logging
import os
import socket
import sys
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI

import codenode
from codenode import environment, settings
from codenode.frontend.app import create_app
from codenode.frontend.config import FrontendConfig
from codenode.frontend.guards import parse_allowed_hosts

log = logging.getLogger("codenode.frontend")


def load_config(home: Path, values: dict[str, Any]) -> FrontendConfig:
    """The frontend's configuration from resolved settings and the environment folder."""
    secret_file = home / environment.SECRET_FILE
    if not secret_file.exists():
        raise SystemExit(f"{secret_file} is missing: run `codenode init {home}` first")
    return FrontendConfig(
        database_url=environment.database_url(home, values),
        secret=secret_file.read_text().strip(),
        signup=values["signup"],
        idle_engine_seconds=values["idle-engine-minutes"] * 60.0,
        engine_on_open=values["engine-on-open"],
        allowed_hosts=allowed_hosts(values),
    )


ALLOWED_HOSTS_VARIABLE = "CODENODE_ALLOWED_HOSTS"
ANY_ADDRESS = ("", "0.0.0.0", "::")


def allowed_hosts(values: dict[str, Any], environ: dict[str, str] | None = None) -> tuple[str, ...]:
    """The names the site answers to besides the local ones: those in CODENODE_ALLOWED_HOSTS
    (commas or spaces between them), and the listening host if it is given as a name."""
    text = (os.environ if environ is None else environ).get(ALLOWED_HOSTS_VARIABLE, "")
    names = parse_allowed_hosts(text)
    host = str(values.get("host") or "")
    if host not in ANY_ADDRESS:
        names += (host,)
    return names


TRUSTED_PROXIES_VARIABLE = "CODENODE_TRUSTED_PROXIES"


def trusted_proxies(environ: dict[str, str] | None = None) -> list[str]:
    """The addresses of reverse proxies whose X-Forwarded-* headers are believed
    (CODENODE_TRUSTED_PROXIES, commas or spaces between them); none by default."""
    text = (os.environ if environ is None else environ).get(TRUSTED_PROXIES_VARIABLE, "")
    return [address for address in text.replace(",", " ").split() if address]


def listen(host: str, port: int) -> socket.socket:
    """A listening socket; answers are not held back by Nagle's algorithm."""
    listener = socket.create_server((host, port))
    # Accepted connections inherit this: without it a reply written in two parts waits for
    # the client's delayed ACK, ~40 ms on every request and every bus message.
    listener.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return listener


class FrontendServer(uvicorn.Server):
    """Uvicorn closes every WebSocket (with 1012) before the application's shutdown runs: the
    hub closes its tabs first, so that they get their cells' last messages and a close that
    says why (the hub's close in the lifespan then finds nothing left to do)."""

    def __init__(self, config: uvicorn.Config, app: FastAPI) -> None:
        super().__init__(config)
        self.app = app

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        hub = getattr(self.app.state, "hub", None)  # none if the lifespan never started
        if hub is not None:
            try:
                await hub.close()
            except Exception:  # uvicorn's own shutdown must still run
                logging.getLogger("codenode.frontend").exception("closing the tabs failed")
        await super().shutdown(sockets)


def serve(config: FrontendConfig, listener: socket.socket) -> None:
    """Serve until SIGINT or SIGTERM."""
    app = create_app(config)
    server = FrontendServer(
        uvicorn.Config(
            app,
            log_level="info",
            access_log=False,  # request lines could carry notebook titles; they add little
            ws="websockets-sansio",
            # Bus messages are small JSON: compressing each costs more CPU than it saves.
            ws_per_message_deflate=False,
            lifespan="on",
            # X-Forwarded-For and -Proto name the client and its scheme only when they come
            # from a proxy the operator named: a local client could set them otherwise (one
            # address per guess, past the sign-in limit).
            proxy_headers=bool(trusted_proxies()),
            forwarded_allow_ips=",".join(trusted_proxies()) or None,
        ),
        app,
    )
    server.run(sockets=[listener])
    sys.stdout.flush()


def run(home: Path, given: dict[str, Any]) -> None:
    """``codenode frontend``: the settings from *given* options, the environment and the config
    file; the first line printed says where it listens."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    values = settings.resolve(home, given)
    config = load_config(home, values)
    listener = listen(values["host"], values["port"])
    host, port = listener.getsockname()[:2]
    print(f"Codenode frontend {codenode.__version__} listening on http://{host}:{port}", flush=True)
    serve(config, listener)
