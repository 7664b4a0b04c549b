"""The ``codenode`` command."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import codenode


def build_parser() -> argparse.ArgumentParser:
    """The command line: one subcommand per thing Codenode does."""
    parser = argparse.ArgumentParser(prog="codenode", description=codenode.__doc__)
    parser.add_argument("--version", action="version", version=codenode.__version__)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser(
        "run",
        help="run Codenode (today: a console on a Python engine; the web UI comes later)",
    )
    commands.add_parser("console", help="a terminal console on a new Python engine process")
    backend = commands.add_parser(
        "backend",
        help="run a backend: engine types from plug-in files, engines, admin API and bus",
        description="Run a backend. The token comes from CODENODE_BACKEND_TOKEN, else from "
        "--token-file; with neither, one is generated into the token file (mode 0600).",
    )
    backend.add_argument("--host", default="127.0.0.1", help="address to listen on")
    backend.add_argument("--port", type=int, default=8337, help="port (0: any free port)")
    backend.add_argument(
        "--plugins", type=Path, help="plug-in folder (default: $CODENODE_HOME/plugins)"
    )
    backend.add_argument(
        "--token-file", type=Path, help="token file (default: $CODENODE_HOME/backend.token)"
    )
    backend.add_argument("--certfile", help="TLS certificate (PEM): serve HTTPS and WSS")
    backend.add_argument("--keyfile", help="TLS private key (PEM)")
    init = commands.add_parser(
        "init",
        help="make the environment folder: config, database, plug-ins, secrets (safe twice)",
    )
    init.add_argument("home", nargs="?", type=Path, help="folder (default: $CODENODE_HOME)")
    db = commands.add_parser("db", help="the frontend's database")
    db_commands = db.add_subparsers(dest="db_command", required=True, metavar="DB_COMMAND")
    upgrade = db_commands.add_parser(
        "upgrade", help="migrate the database to the newest schema (safe to run twice)"
    )
    upgrade.add_argument(
        "--url",
        help="database URL (default: $CODENODE_DATABASE_URL, else SQLite in $CODENODE_HOME)",
    )
    return parser


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``codenode`` script."""
    args = build_parser().parse_args(argv)
    if args.command in ("run", "console"):
        from codenode import console

        console.main()
    elif args.command == "init":
        from codenode import environment

        for line in environment.init((args.home or environment.default_home()).expanduser()):
            print(line)
    elif args.command == "db":
        from codenode.environment import default_home
        from codenode.frontend.db import database

        home = default_home()
        url = args.url or os.environ.get("CODENODE_DATABASE_URL") or database.default_url(home)
        if url.startswith("sqlite"):
            home.mkdir(parents=True, exist_ok=True)
        database.upgrade(url)
        print(f"database is at the newest schema: {database.describe(url)}")
    elif args.command == "backend":
        from codenode.backend import serve

        serve.run(
            host=args.host,
            port=args.port,
            plugins=args.plugins,
            token_file=args.token_file,
            certfile=args.certfile,
            keyfile=args.keyfile,
        )
