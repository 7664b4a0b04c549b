"""REST routes: sharing a notebook with other users, and its public read-only link.

A viewer reads; a collaborator also edits and runs (``codenode.frontend.access``). Only the
owner sees and changes who has access.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict
from sqlalchemy import select

from codenode.frontend import events, notebooks, users
from codenode.frontend.access import Db, Owner
from codenode.frontend.api.changes import set_quietly
from codenode.frontend.db import Share, User
from codenode.frontend.errors import BadRequest, NotFound

router = APIRouter(tags=["sharing"])


class ShareRole(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Literal["viewer", "collaborator"]


class PublicLink(BaseModel):
    model_config = ConfigDict(extra="forbid")
    enabled: bool


async def _someone_else(db: Db, access: Owner, username: str) -> User:
    user = await users.by_name(db, username)
    if user is None:
        raise NotFound(f"no user {username!r}")
    if user.id == access.notebook.owner_id:
        raise BadRequest("you own this notebook: it cannot be shared with you")
    return user


@router.get("/notebooks/{notebook_id}/shares")
async def shares(notebook_id: str, access: Owner, db: Db) -> dict[str, Any]:
    """Who the notebook is shared with, and whether its public link is on."""
    rows = await db.execute(
        select(User.username, Share.role)
        .join(Share, Share.user_id == User.id)
        .where(Share.notebook_id == notebook_id)
        .order_by(User.username)
    )
    return {
        "shares": [{"username": name, "role": role} for name, role in rows],
        "public_link": access.notebook.public_link,
    }


@router.put("/notebooks/{notebook_id}/shares/{username}")
async def share(
    request: Request, notebook_id: str, username: str, body: ShareRole, access: Owner, db: Db
) -> dict[str, Any]:
    """Share the notebook with a user as a viewer or a collaborator (or change their role)."""
    user = await _someone_else(db, access, username)
    existing = await db.get(Share, (notebook_id, user.id))
    if existing is None:
        db.add(Share(notebook_id=notebook_id, user_id=user.id, role=body.role))
    else:
        existing.role = body.role
    await db.commit()
    await request.app.state.hub.recheck(notebook_id)  # a collaborator made a viewer, say
    return {"username": user.username, "role": body.role}


@router.delete("/notebooks/{notebook_id}/shares/{username}", status_code=204)
async def unshare(
    request: Request, notebook_id: str, username: str, access: Owner, db: Db
) -> Response:
    """Stop sharing the notebook with a user."""
    user = await _someone_else(db, access, username)
    existing = await db.get(Share, (notebook_id, user.id))
    if existing is None:
        raise NotFound(f"this notebook is not shared with {username!r}")
    await db.delete(existing)
    await db.commit()
    await request.app.state.hub.recheck(notebook_id)  # their open tabs close
    return Response(status_code=204)


@router.put("/notebooks/{notebook_id}/public")
async def public_link(
    request: Request, notebook_id: str, body: PublicLink, access: Owner, db: Db
) -> dict[str, Any]:
    """Turn the public read-only link on or off: with it on, anyone (signed in or not) may
    read the notebook at GET /api/notebooks/{notebook_id}."""
    await set_quietly(db, access.notebook, public_link=body.enabled)
    await request.app.state.hub.notify(notebook_id, events.notebook_updated(access.notebook))
    await request.app.state.hub.recheck(notebook_id)
    return notebooks.notebook_dict(access.notebook, access.role)
