"""``codenode backends add | list | remove``: the backends the frontend starts engines on.

The token is read from a file (never from the command line, where ``ps`` would show it) and
is never printed. ``add`` and ``list`` check each backend the way the frontend does, so a typo
in a URL or a wrong token shows at once; a running frontend picks the change up by itself
within its health interval.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from codenode import environment
from codenode.frontend.backends import registration
from codenode.frontend.backends.client import BackendClient, BackendFailure
from codenode.frontend.commands import database_url, with_database
from codenode.frontend.db.database import default_url, describe
from codenode.frontend.errors import FrontendError

T = TypeVar("T")


def main(args: argparse.Namespace) -> None:
    try:
        if args.backends_command == "add":
            add(args.name, args.url, read_token(args.token_file))
        elif args.backends_command == "list":
            show()
        elif args.backends_command == "remove":
            remove(args.name)
    except FrontendError as exc:
        raise SystemExit(f"codenode backends {args.backends_command}: {exc.message}") from None


def on_database(work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """``with_database``, with a missing environment or a failing database told in a line."""
    home, url = environment.default_home(), database_url()
    if url == default_url(home) and not home.exists():
        raise SystemExit(f"codenode backends: {home} does not exist: run `codenode init` first")
    try:
        return with_database(work)
    except (SQLAlchemyError, OSError) as exc:
        problem = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        raise SystemExit(
            f"codenode backends: the database {describe(url)} failed: {problem}"
        ) from None


def read_token(path: Path) -> str:
    """The token in the file at *path*, stripped; a missing or empty file is refused."""
    try:
        token = path.read_text().strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise SystemExit(
            f"codenode backends add: cannot read the token file {path}: {exc}"
        ) from None
    if not token:
        raise SystemExit(f"codenode backends add: the token file {path} is empty")
    return token


def add(name: str, url: str, token: str) -> None:
    async def work(db: AsyncSession) -> tuple[str, str]:
        backend = await registration.register(db, name, url, token)
        return backend.url, await health(backend.url, token)

    url, status = on_database(work)
    print(f"added backend {name} ({url}): {status}")


def show() -> None:
    async def work(db: AsyncSession) -> list[tuple[str, str, str]]:
        backends = await registration.registered(db)
        states = await asyncio.gather(*(health(b.url, b.token) for b in backends))
        return [(b.name, b.url, state) for b, state in zip(backends, states, strict=True)]

    rows = on_database(work)
    if not rows:
        print(
            "no backends registered: add one with `codenode backends add NAME URL --token-file F`"
        )
        return
    name_width = max(len("NAME"), *(len(name) for name, _, _ in rows))
    url_width = max(len("URL"), *(len(url) for _, url, _ in rows))
    print(f"{'NAME':<{name_width}}  {'URL':<{url_width}}  STATUS")
    for name, url, state in rows:
        print(f"{name:<{name_width}}  {url:<{url_width}}  {state}")


def remove(name: str) -> None:
    async def work(db: AsyncSession) -> None:
        await registration.unregister(db, name)

    on_database(work)
    print(f"removed backend {name} (its running engines were left alone)")


async def health(url: str, token: str) -> str:
    """One line on the backend at *url*: healthy with its engines and types, or why not."""
    client = BackendClient()
    try:
        health, listing = await client.check(url, token)
    except BackendFailure as failure:
        return f"down: {failure.reason}"
    finally:
        await client.close()
    types = sorted(
        str(entry.get("name"))
        for entry in listing.get("types") or []
        if isinstance(entry, dict) and entry.get("available", True)
    )
    return f"healthy, {health.get('engines', 0)} engines, types: {', '.join(types) or 'none'}"
