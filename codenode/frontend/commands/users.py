"""``codenode adduser | passwd | deluser | users``: users, from the server's command line.

Passwords are asked for twice without echo, or read from ``--password-file`` (its first
line), never taken as an argument: arguments show in ``ps`` and shell histories.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from codenode.frontend import users
from codenode.frontend.commands import with_database
from codenode.frontend.db import User
from codenode.frontend.errors import FrontendError


class CommandError(Exception):
    """A command that cannot do what was asked; the message says why."""


def read_password(password_file: Path | None) -> str:
    """The new password: the file's first line, or typed twice at the terminal."""
    if password_file is not None:
        try:
            lines = password_file.read_text().splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"cannot read {password_file}: {exc}") from None
        return lines[0] if lines else ""
    try:
        password = getpass.getpass("Password: ")
        again = getpass.getpass("Password (again): ")
    except (EOFError, KeyboardInterrupt):
        raise CommandError("no password given") from None
    if password != again:
        raise CommandError("the passwords do not match")
    return password


def adduser(name: str, is_admin: bool, password_file: Path | None) -> None:
    users.check_username(name)
    password = users.check_password(read_password(password_file))

    async def work(db: AsyncSession) -> None:
        await users.add_user(db, name, password, is_admin)

    with_database(work)
    print(f"added {'admin ' if is_admin else ''}{name}")


def passwd(name: str, password_file: Path | None) -> None:
    async def exists(db: AsyncSession) -> None:
        await users.named(db, name)

    with_database(exists)  # before asking for a password that would go nowhere
    password = users.check_password(read_password(password_file))

    async def work(db: AsyncSession) -> None:
        await users.change_password(db, await users.named(db, name), password)

    with_database(work)
    print(f"changed the password of {name}; their sessions have ended")


def deluser(name: str) -> None:
    async def work(db: AsyncSession) -> int:
        return len(await users.delete_user(db, await users.named(db, name)))

    count = with_database(work)
    print(f"deleted {name} and their {count} notebook{'' if count == 1 else 's'}")


def list_users() -> None:
    async def work(db: AsyncSession) -> list[User]:
        return list((await db.execute(select(User).order_by(User.username))).scalars())

    rows = [("name", "admin", "disabled", "created")]
    for user in with_database(work):
        created = user.created.strftime("%Y-%m-%d %H:%M")
        rows.append((user.username, _yes(user.is_admin), _yes(user.disabled), created))
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    for row in rows:
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def main(args: argparse.Namespace) -> None:
    """Run the user command *args* names; errors end it with a message and exit code 1."""
    try:
        if args.command == "adduser":
            adduser(args.name, args.admin, args.password_file)
        elif args.command == "passwd":
            passwd(args.name, args.password_file)
        elif args.command == "deluser":
            deluser(args.name)
        else:
            list_users()
    except (FrontendError, CommandError) as exc:
        print(f"codenode {args.command}: {exc}", file=sys.stderr)
        raise SystemExit(1) from None
