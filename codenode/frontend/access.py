"""Who may do what: one FastAPI dependency per access level, used by every route.

Each route declares exactly one level by depending on one of ``anyone``, ``signed_in``,
``admin``, ``notebook_reader``, ``notebook_writer`` or ``notebook_owner``
(``ACCESS_LEVELS``); the authorization test reads the levels from the app's route table.

On a notebook: the owner may do everything; a collaborator reads, edits and runs; a viewer
reads; anyone may read a notebook whose public link is on. Someone with no access gets 404,
as if the notebook did not exist (its existence is not revealed); a viewer who tries to write
gets 403; someone not signed in gets 401. Admins manage users and backends, not others'
notebooks.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import HTTPConnection

from codenode.frontend.db import Notebook, Share, User
from codenode.frontend.errors import CsrfFailed, Forbidden, NotFound, NotSignedIn
from codenode.frontend.sessions import (
    CSRF_COOKIE,
    CSRF_HEADER,
    SAFE_METHODS,
    SESSION_COOKIE,
    SessionSigner,
    fingerprint,
)

ROLES = ("public", "viewer", "collaborator", "owner")


class NoSuchNotebook(NotFound):
    """The notebook does not exist, or the asker may not know that it does."""

    code = "no_notebook"


"""Roles on a notebook, weakest first."""


async def database(request: HTTPConnection) -> AsyncIterator[AsyncSession]:
    """A database session for one request."""
    async with request.app.state.sessions() as session:
        yield session


Db = Annotated[AsyncSession, Depends(database)]


async def user_of(connection: HTTPConnection, db: AsyncSession) -> User | None:
    """The signed-in user of a request or WebSocket, or None."""
    value = connection.cookies.get(SESSION_COOKIE)
    if not value:
        return None
    signer: SessionSigner = connection.app.state.signer
    read = signer.read_session(value)
    if read is None:
        return None
    user_id, fp, made = read
    user = await db.get(User, user_id)
    if user is None or user.disabled or fingerprint(user.password_hash) != fp:
        return None
    after = user.sessions_after
    if after is not None and made <= after.replace(tzinfo=after.tzinfo or UTC).timestamp():
        return None  # signed out since this session was made
    return user


def check_csrf(request: Request) -> None:
    """State-changing requests must echo the CSRF cookie in the X-CSRF-Token header."""
    if request.method in SAFE_METHODS:
        return
    signer: SessionSigner = request.app.state.signer
    if not signer.csrf_ok(
        request.cookies.get(CSRF_COOKIE),
        request.headers.get(CSRF_HEADER),
        request.cookies.get(SESSION_COOKIE),
    ):
        raise CsrfFailed(
            "missing or wrong X-CSRF-Token header: echo the codenode_csrf cookie "
            "(GET /api/session sets it)"
        )


async def anyone(request: Request, db: Db) -> User | None:
    """Access level: anyone, signed in or not. The user, if there is one."""
    return await user_of(request, db)


async def signed_in(request: Request, db: Db) -> User:
    """Access level: any signed-in user."""
    user = await user_of(request, db)
    if user is None:
        raise NotSignedIn("sign in first")
    return user


async def admin(user: Annotated[User, Depends(signed_in)]) -> User:
    """Access level: admins only."""
    if not user.is_admin:
        raise Forbidden("only an admin may do this")
    return user


@dataclass
class NotebookAccess:
    """A notebook, who asks for it (None: anonymous, through the public link) and their role."""

    notebook: Notebook
    user: User | None
    role: str

    @property
    def can_write(self) -> bool:
        return self.role in ("collaborator", "owner")


async def role_on(db: AsyncSession, notebook: Notebook, user: User | None) -> str | None:
    """The strongest role *user* has on *notebook*, or None."""
    if user is not None:
        if notebook.owner_id == user.id:
            return "owner"
        share = await db.get(Share, (notebook.id, user.id))
        if share is not None:
            return share.role
    return "public" if notebook.public_link else None


async def notebook_access(
    db: AsyncSession, user: User | None, notebook_id: str, least: str
) -> NotebookAccess:
    """The notebook, if *user* has at least the role *least* on it; else the fitting error."""
    notebook = (
        await db.execute(select(Notebook).where(Notebook.id == notebook_id))
    ).scalar_one_or_none()
    role = None if notebook is None else await role_on(db, notebook, user)
    if notebook is None or role is None:
        if user is None:
            raise NotSignedIn("sign in first")
        raise NoSuchNotebook(f"no notebook {notebook_id!r}")
    if ROLES.index(role) < ROLES.index(least):
        if user is None:
            raise NotSignedIn("sign in first")
        raise Forbidden(f"a {role} may not do this; it needs a {least}")
    return NotebookAccess(notebook, user, role)


def _notebook_level(least: str) -> Callable[..., Any]:
    async def level(request: Request, notebook_id: str, db: Db) -> NotebookAccess:
        return await notebook_access(db, await user_of(request, db), notebook_id, least)

    level.__name__ = f"notebook_{least}"
    level.__doc__ = f"Access level: at least {least} on the notebook in the path."
    return level


notebook_reader = _notebook_level("public")
notebook_writer = _notebook_level("collaborator")
notebook_owner = _notebook_level("owner")

ACCESS_LEVELS: dict[Callable[..., Any], str] = {
    anyone: "anyone",
    signed_in: "signed_in",
    admin: "admin",
    notebook_reader: "notebook_reader",
    notebook_writer: "notebook_writer",
    notebook_owner: "notebook_owner",
}

PLAIN_LEVELS = {"/api/openapi.json": "anyone", "/static": "anyone"}
"""Routes that are not API routes (no dependencies to declare a level with)."""

WEBSOCKET_LEVELS = {"/api/notebooks/{notebook_id}/bus": "notebook_reader"}
"""WebSockets check access before accepting (codenode.frontend.bus.routes), at these levels."""


def route_table(app: Any) -> list[tuple[str, str, str]]:
    """(method, path, access level) of every route of *app*; the level is "" where a route
    declares none, and "several" where it declares more than one (both are bugs)."""
    from fastapi.routing import APIRoute, APIWebSocketRoute, iter_route_contexts

    table = []
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        path = getattr(context, "path", "") or getattr(route, "path", "")
        if isinstance(route, APIWebSocketRoute):
            table.append(("WEBSOCKET", path, WEBSOCKET_LEVELS.get(path, "")))
        elif not isinstance(route, APIRoute):
            # Plain routes serve what anyone may read: the API description, the UI's files.
            methods = sorted(getattr(route, "methods", None) or ["GET"])
            table.extend((method, path, PLAIN_LEVELS.get(path, "")) for method in methods)
        else:
            levels = [
                ACCESS_LEVELS[dependency.call]
                for dependency in route.dependant.dependencies
                if dependency.call in ACCESS_LEVELS
            ]
            level = levels[0] if len(levels) == 1 else ("several" if levels else "")
            table.extend((method, path, level) for method in sorted(route.methods or ()))
    return table


Anyone = Annotated[User | None, Depends(anyone)]
SignedIn = Annotated[User, Depends(signed_in)]
Admin = Annotated[User, Depends(admin)]
Reader = Annotated[NotebookAccess, Depends(notebook_reader)]
Writer = Annotated[NotebookAccess, Depends(notebook_writer)]
Owner = Annotated[NotebookAccess, Depends(notebook_owner)]
