"""Registering backends in the database: the rules for names and URLs, adding and removing.

Shared by the admin API and ``codenode backends``. A running frontend picks up a change at
its next health check (at once when the change came through its own API).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from urllib.parse import urlsplit

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from codenode.frontend.db import Backend
from codenode.frontend.errors import BadRequest, Conflict, NotFound

# A name goes into URL paths (/api/backends/{name}) and log lines: keep it plain.
BACKEND_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")
MAX_URL = 2000
MAX_TOKEN = 500


def check_name(name: str) -> str:
    if not BACKEND_NAME.fullmatch(name):
        raise BadRequest(
            f"bad backend name {name[:100]!r}: 1-100 letters, digits or _.-, "
            "starting with a letter or digit"
        )
    return name


def check_url(url: str) -> str:
    """*url* without a trailing slash, if it is a backend's base address."""
    url = url.strip().rstrip("/")
    try:
        parts = urlsplit(url)
        port = parts.port  # a bad port raises here
    except ValueError as exc:
        raise BadRequest(f"bad backend URL: {exc}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BadRequest(
            "a backend URL is http:// or https:// and a host, e.g. http://10.0.0.5:8337"
        )
    if parts.username is not None or parts.password is not None:
        raise BadRequest("a backend URL carries no user or password: give the token apart")
    blank = any(c.isspace() or not c.isprintable() for c in url)
    if parts.query or parts.fragment or blank or len(url) > MAX_URL or port == 0:
        raise BadRequest(
            "a backend URL is its base address only (scheme, host, port, path), "
            f"at most {MAX_URL} characters"
        )
    return url


def check_token(token: str) -> str:
    token = token.strip()
    if not token:
        raise BadRequest("the backend's token is empty")
    if len(token) > MAX_TOKEN or any(c.isspace() or not c.isprintable() for c in token):
        raise BadRequest(
            f"a backend token is at most {MAX_TOKEN} printable characters without spaces"
        )
    return token


async def register(db: AsyncSession, name: str, url: str, token: str) -> Backend:
    """Add a backend; Conflict if the name is taken."""
    backend = Backend(name=check_name(name), url=check_url(url), token=check_token(token))
    if await by_name(db, name) is not None:
        raise Conflict(f"a backend named {name!r} is registered already")
    db.add(backend)
    try:
        await db.commit()
    except IntegrityError:  # added by someone else in between
        await db.rollback()
        raise Conflict(f"a backend named {name!r} is registered already") from None
    return backend


async def unregister(db: AsyncSession, name: str) -> None:
    """Forget the backend called *name*; NotFound if there is none."""
    result = await db.execute(delete(Backend).where(Backend.name == name))
    await db.commit()
    if getattr(result, "rowcount", 0) == 0:
        raise NotFound(f"no backend named {name!r}")


async def by_name(db: AsyncSession, name: str) -> Backend | None:
    return (await db.execute(select(Backend).where(Backend.name == name))).scalar_one_or_none()


async def registered(db: AsyncSession) -> Sequence[Backend]:
    """Every registered backend, by name."""
    return (await db.execute(select(Backend).order_by(Backend.name))).scalars().all()
