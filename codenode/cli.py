"""The ``codenode`` command."""

from __future__ import annotations

import argparse
from pathlib import Path

import codenode


def build_parser() -> argparse.ArgumentParser:
    """The command line: one subcommand per thing Codenode does."""
    parser = argparse.ArgumentParser(prog="codenode", description=codenode.__doc__)
    parser.add_argument("--version", action="version", version=codenode.__version__)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    run = commands.add_parser(
        "run",
        help="run Codenode on this machine: the frontend and a local backend",
        description="Initialise the environment folder if needed, start a local backend and "
        "the frontend, print the address. Ctrl-C stops both and every engine.",
    )
    add_settings(
        run,
        (
            "host",
            "port",
            "backend-port",
            "database-url",
            "signup",
            "engine-on-open",
            "idle-engine-minutes",
        ),
    )
    run.add_argument("--open", action="store_true", help="open the address in a browser")
    run.add_argument(
        "--allow-unsandboxed",
        action="store_true",
        help="with --signup open, run even if an engine type is declared sandbox=False",
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
    backend.add_argument(
        "--workspaces",
        type=Path,
        help="where engines' workspace folders go (default: beside the plug-in folder;"
        " a shared file system lets several backends share them)",
    )
    backend.add_argument(
        "--workspace-uids",
        default="2000000-2999999",
        help="uids for workspaces when run as root, FIRST-LAST (none may be an account's)",
    )
    backend.add_argument(
        "--orphan-minutes",
        type=float,
        default=10.0,
        help="stop an engine that no frontend has held for this long (0: never; default 10)",
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
        help="database URL (default: the database-url setting: $CODENODE_DATABASE_URL or"
        " codenode.toml; else SQLite in $CODENODE_HOME)",
    )
    frontend = commands.add_parser(
        "frontend",
        help="run the frontend alone (web application, API, notebook bus)",
        description="Run the frontend on the environment folder $CODENODE_HOME. Backends are "
        "registered with `codenode backends add`.",
    )
    add_settings(
        frontend,
        ("host", "port", "database-url", "signup", "engine-on-open", "idle-engine-minutes"),
    )
    users = commands.add_parser("adduser", help="add a user (asks for the password)")
    users.add_argument("name")
    users.add_argument("--admin", action="store_true", help="make the user an admin")
    users.add_argument("--password-file", type=Path, help="read the password from this file")
    passwd = commands.add_parser("passwd", help="change a user's password (asks for it)")
    passwd.add_argument("name")
    passwd.add_argument("--password-file", type=Path, help="read the password from this file")
    deluser = commands.add_parser("deluser", help="delete a user and their notebooks")
    deluser.add_argument("name")
    commands.add_parser("users", help="list the users")
    backends = commands.add_parser("backends", help="the backends the frontend starts engines on")
    backend_commands = backends.add_subparsers(
        dest="backends_command", required=True, metavar="BACKENDS_COMMAND"
    )
    add = backend_commands.add_parser("add", help="register a backend")
    add.add_argument("name")
    add.add_argument("url", help="the backend's address, e.g. http://10.0.0.5:8337")
    add.add_argument("--token-file", type=Path, required=True, help="file holding its token")
    backend_commands.add_parser("list", help="the registered backends (never their tokens)")
    remove = backend_commands.add_parser("remove", help="forget a backend")
    remove.add_argument("name")
    export = commands.add_parser("export", help="write a notebook to a file (.ipynb, .py, .html)")
    export.add_argument("notebook", help="the notebook's id")
    export.add_argument(
        "--format", choices=("ipynb", "py", "html"), help="default: from --output, else ipynb"
    )
    export.add_argument("--output", "-o", type=Path, help="file to write (default: stdout)")
    import_ = commands.add_parser("import", help="make a notebook from a .ipynb or .py file")
    import_.add_argument("file", type=Path)
    import_.add_argument("--owner", required=True, help="the user who will own it")
    import_.add_argument("--engine-type", help="default: from the file, else python")
    return parser


def add_settings(parser: argparse.ArgumentParser, names: tuple[str, ...]) -> None:
    """Options for settings from the settings table (codenode.settings)."""
    from codenode import settings

    for name in names:
        setting = settings.BY_NAME[name]
        parser.add_argument(
            setting.option,
            dest=name.replace("-", "_"),
            help=f"{setting.help} (default {setting.default!r}; {setting.env})",
        )


def given_settings(args: argparse.Namespace) -> dict[str, object]:
    """The settings given as options (None where not given)."""
    from codenode import settings

    return {name: getattr(args, name.replace("-", "_"), None) for name in settings.BY_NAME}


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``codenode`` script."""
    args = build_parser().parse_args(argv)
    if args.command == "run":
        from codenode import runner

        runner.run(
            given_settings(args), open_browser=args.open, allow_unsandboxed=args.allow_unsandboxed
        )
    elif args.command == "console":
        from codenode import console

        console.main()
    elif args.command == "init":
        from codenode import environment

        for line in environment.init((args.home or environment.default_home()).expanduser()):
            print(line)
    elif args.command == "db":
        from codenode import environment
        from codenode.frontend.db import database

        home = environment.default_home()
        url = args.url or environment.database_url(home)
        if url.startswith("sqlite"):
            home.mkdir(parents=True, exist_ok=True)
        database.upgrade(url)
        print(f"database is at the newest schema: {database.describe(url)}")
    elif args.command == "frontend":
        from codenode.environment import default_home
        from codenode.frontend import serve as frontend

        frontend.run(default_home(), given_settings(args))
    elif args.command in ("adduser", "passwd", "deluser", "users"):
        from codenode.frontend.commands import users as user_commands

        user_commands.main(args)
    elif args.command == "backends":
        from codenode.frontend.commands import backends as backend_commands

        backend_commands.main(args)
    elif args.command in ("export", "import"):
        from codenode.frontend.commands import interchange as interchange_commands

        interchange_commands.main(args)
    elif args.command == "backend":
        from codenode.backend import serve

        serve.run(
            host=args.host,
            port=args.port,
            plugins=args.plugins,
            token_file=args.token_file,
            workspaces=args.workspaces,
            workspace_uids=args.workspace_uids,
            orphan_minutes=args.orphan_minutes,
            certfile=args.certfile,
            keyfile=args.keyfile,
        )
