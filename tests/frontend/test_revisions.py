"""Revisions: recorded on every change, listed, viewed and reverted to, on a real frontend;
the coalescing window through notebooks.py on a real database."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import select

from codenode.frontend import notebooks
from codenode.frontend.db import Revision, User
from tests.frontend.conftest import opened
from tests.frontend.live import Client, LiveFrontend


def name(client: Client) -> str:
    assert client.user is not None
    return str(client.user["username"])


def listed(client: Client, notebook_id: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = client.ok("GET", f"/api/notebooks/{notebook_id}/revisions")[
        "revisions"
    ]
    return found


def test_revisions_list_view_and_revert(frontend: LiveFrontend) -> None:
    ada, bob = frontend.user(), frontend.user()
    notebook = ada.new_notebook("First title")
    base = f"/api/notebooks/{notebook['id']}"
    first_cell = notebook["cells"][0]["id"]
    ada.ok("PATCH", f"{base}/cells/{first_cell}", json={"source": "a = 1"})
    [created] = listed(ada, notebook["id"])
    assert (created["author"], created["summary"]) == (name(ada), "created; edited cell 1")

    # Another author's changes are a revision of their own.
    ada.ok("PUT", f"{base}/shares/{name(bob)}", json={"role": "collaborator"})
    bob.ok("PATCH", base, json={"title": "Second title"})
    added = bob.ok("POST", f"{base}/cells", 201, json={"kind": "markdown", "source": "*new*"})
    bob.ok("DELETE", f"{base}/cells/{first_cell}", 204)
    revisions = listed(ada, notebook["id"])
    assert [(r["author"], r["summary"]) for r in revisions] == [
        (name(bob), "renamed to 'Second title'; inserted a markdown cell at 2; deleted cell 1"),
        (name(ada), "created; edited cell 1"),
    ]
    assert revisions[0]["id"] > revisions[1]["id"]
    assert revisions[0]["created"] >= revisions[1]["created"]

    # One revision: the notebook as it was then.
    old = ada.ok("GET", f"{base}/revisions/{created['id']}")
    assert old["summary"] == "created; edited cell 1"
    assert old["snapshot"]["title"] == "First title"
    assert [(c["id"], c["source"]) for c in old["snapshot"]["cells"]] == [(first_cell, "a = 1")]

    # Revert: title and cells as they were, the cells' ids kept; a new revision says so.
    reverted = bob.ok("POST", f"{base}/revisions/{created['id']}/revert")
    assert reverted["title"] == "First title"
    assert [(c["id"], c["kind"], c["source"]) for c in reverted["cells"]] == [
        (first_cell, "code", "a = 1")
    ]
    assert ada.ok("GET", base)["cells"] == reverted["cells"]
    summary = f"reverted to revision {created['id']}"
    assert listed(ada, notebook["id"])[0]["summary"] == summary
    # The cells can be edited again; the next change is not folded into the revert.
    bob.ok("PATCH", f"{base}/cells/{first_cell}", json={"source": "a = 2"})
    assert [r["summary"] for r in listed(ada, notebook["id"])][:2] == ["edited cell 1", summary]
    # Reverting to the newer revision brings back its cells, ids and all.
    again = ada.ok("POST", f"{base}/revisions/{revisions[0]['id']}/revert")
    assert again["title"] == "Second title"
    assert [(c["id"], c["source"]) for c in again["cells"]] == [(added["id"], "*new*")]


def test_revisions_are_paged(frontend: LiveFrontend) -> None:
    ada, bob = frontend.user(), frontend.user()
    notebook = ada.new_notebook("Paged")
    base = f"/api/notebooks/{notebook['id']}"
    ada.ok("PUT", f"{base}/shares/{name(bob)}", json={"role": "collaborator"})
    # Alternating authors: each change a revision.
    for number in range(4):
        (bob if number % 2 == 0 else ada).ok("PATCH", base, json={"title": f"t{number}"})
    everything = listed(ada, notebook["id"])
    assert len(everything) == 5
    page = ada.ok("GET", f"{base}/revisions?limit=2&offset=1")["revisions"]
    assert page == everything[1:3]
    for query in ("limit=0", "limit=1001", "offset=-1", "limit=many"):
        assert ada.get(f"{base}/revisions?{query}").status_code == 422, query


def test_bad_revision_requests(frontend: LiveFrontend) -> None:
    ada, bob = frontend.user(), frontend.user()
    mine = ada.new_notebook("Mine")
    other = ada.new_notebook("Other")
    [other_revision] = listed(ada, other["id"])
    base = f"/api/notebooks/{mine['id']}/revisions"
    for method, path, status in [
        ("GET", f"{base}/{other_revision['id']}", 404),  # of another notebook
        ("POST", f"{base}/{other_revision['id']}/revert", 404),
        ("GET", f"{base}/999999999", 404),
        ("GET", f"{base}/not-a-number", 422),
        ("POST", f"{base}/not-a-number/revert", 422),
    ]:
        response = ada.request(method, path)
        assert response.status_code == status, (method, path, response.text)
        assert response.json()["message"]
    ada.ok("PUT", f"/api/notebooks/{mine['id']}/shares/{name(bob)}", json={"role": "viewer"})
    [revision] = listed(bob, mine["id"])
    bob.ok("GET", f"{base}/{revision['id']}")
    assert bob.post(f"{base}/{revision['id']}/revert").status_code == 403
    assert ada.ok("GET", f"/api/notebooks/{mine['id']}")["cells"] == mine["cells"]


async def _coalescing(url: str) -> list[tuple[str, str]]:
    async with opened(url) as sessions, sessions() as db:
        ada = User(username="ada", password_hash="$argon2id$not-a-real-hash")
        bob = User(username="bob", password_hash="$argon2id$not-a-real-hash")
        db.add_all([ada, bob])
        await db.commit()
        notebook = await notebooks.create(db, ada.id, "n", "python")

        async def edit(author: User, source: str, window: float) -> None:
            cell = await notebooks.insert_cell(db, notebook.id, source=source)
            await notebooks.changed(
                db, await notebooks.load(db, notebook.id), author.id, f"added {source}", window
            )
            await db.commit()
            assert cell.id

        await edit(ada, "a", 60)  # joins "created"
        await edit(ada, "b", 60)
        await edit(ada, "c", 0)  # the window has passed: a new revision
        await edit(bob, "d", 60)  # another author: a new revision
        await edit(bob, "e", 60)
        rows = await db.scalars(
            select(Revision).where(Revision.notebook_id == notebook.id).order_by(Revision.id)
        )
        return [(r.summary, "".join(c["source"] for c in r.snapshot["cells"])) for r in rows]


def test_edits_within_the_window_extend_one_revision(database_url: str) -> None:
    assert asyncio.run(_coalescing(database_url)) == [
        # Each revision keeps the notebook as it stood after its last change.
        ("created; added a; added b", "ab"),
        ("added c", "abc"),
        ("added d; added e", "abcde"),
    ]
