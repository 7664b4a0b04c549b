"""REST route: full-text search over the notebooks a user may read (``frontend.search``)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query

from codenode.frontend import search
from codenode.frontend.access import Db, SignedIn

router = APIRouter(tags=["search"])


@router.get("/search")
async def find(
    user: SignedIn,
    db: Db,
    q: str = Query(max_length=1000),
    limit: int = Query(search.RESULTS, ge=1, le=200),
) -> dict[str, Any]:
    """The user's notebooks and those shared with them (not the trash) whose title or cells
    hold every word of *q*, best first, each with a snippet and where the words are in it."""
    hits = await search.find(db, user.id, q, limit)
    return {"results": [hit.as_dict() for hit in hits]}
