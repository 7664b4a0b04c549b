"""Notebooks and cells over REST, on a real frontend; the cell-position rules on a real database."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from codenode.frontend import notebooks
from codenode.frontend.db import Cell, User
from tests.frontend.conftest import opened
from tests.frontend.live import Client, LiveFrontend, in_database

KINDS = ["code", "markdown", "title", "subtitle", "section", "subsection"]


def cells_of(client: Client, notebook_id: str) -> list[dict[str, Any]]:
    cells: list[dict[str, Any]] = client.ok("GET", f"/api/notebooks/{notebook_id}")["cells"]
    return cells


def summaries(client: Client, notebook_id: str) -> list[str]:
    found = client.ok("GET", f"/api/notebooks/{notebook_id}/revisions")["revisions"]
    return [revision["summary"] for revision in found]


def name_of(client: Client) -> str:
    assert client.user is not None
    return str(client.user["username"])


def titles(client: Client, path: str) -> list[str]:
    return [notebook["title"] for notebook in client.ok("GET", path)["notebooks"]]


# --- notebooks ---------------------------------------------------------------------------------


def test_a_new_notebook_has_one_empty_code_cell(frontend: LiveFrontend) -> None:
    ada = frontend.user()
    made = ada.new_notebook("Orbits")
    assert made["title"] == "Orbits"
    assert made["engine_type"] == "python"
    assert made["role"] == "owner"
    assert made["owner"] == ada.user["username"]  # type: ignore[index]
    assert made["location"] == ""
    assert made["public_link"] is False
    assert made["sections"] == []
    [cell] = made["cells"]
    assert (cell["kind"], cell["source"], cell["outputs"], cell["execution_count"]) == (
        "code",
        "",
        [],
        None,
    )
    assert ada.ok("GET", f"/api/notebooks/{made['id']}") == made
    assert summaries(ada, made["id"]) == ["created"]


def test_creating_in_a_folder_and_bad_input(frontend: LiveFrontend) -> None:
    ada = frontend.user()
    made = ada.ok(
        "POST",
        "/api/notebooks",
        201,
        json={"title": "Lab", "engine_type": "python", "location": "Physics"},
    )
    assert made["location"] == "Physics"
    assert titles(ada, "/api/notebooks?location=Physics") == ["Lab"]
    for body, status in [
        ({"title": "x"}, 422),  # no engine type
        ({"title": "x", "engine_type": ""}, 422),
        ({"title": "x" * 501, "engine_type": "python"}, 422),
        ({"title": "x", "engine_type": "python", "colour": "red"}, 422),
        ({"title": "x", "engine_type": "python", "location": "a/b"}, 400),
        ({"title": "x", "engine_type": "python", "location": " padded"}, 400),
    ]:
        response = ada.post("/api/notebooks", json=body)
        assert response.status_code == status, (body, response.text)
        assert response.json()["message"]
    # Nothing was made by the refused requests.
    folders = ada.ok("GET", "/api/folders")
    assert folders == {
        "top": 0,
        "trash": 0,
        "archive": 0,
        "folders": [{"name": "Physics", "count": 1}],
    }


def test_anonymous_users_cannot_list_or_create(frontend: LiveFrontend) -> None:
    anonymous = frontend.client()
    assert anonymous.get("/api/notebooks").status_code == 401
    assert anonymous.get("/api/folders").status_code == 401
    response = anonymous.post("/api/notebooks", json={"title": "x", "engine_type": "python"})
    assert response.status_code == 401


def test_listing_is_the_users_own_and_sorted(frontend: LiveFrontend) -> None:
    ada, bob = frontend.user(), frontend.user()
    bob.new_notebook("Bob's")
    made = {
        title: ada.new_notebook(title, engine)
        for title, engine in [("beta", "sage"), ("Alpha", "python"), ("gamma", "julia")]
    }
    assert titles(ada, "/api/notebooks?sort=title&order=asc") == ["Alpha", "beta", "gamma"]
    assert titles(ada, "/api/notebooks?sort=title&order=desc") == ["gamma", "beta", "Alpha"]
    assert titles(ada, "/api/notebooks?sort=engine_type&order=asc") == ["gamma", "Alpha", "beta"]
    assert titles(ada, "/api/notebooks?sort=created&order=asc") == ["beta", "Alpha", "gamma"]
    # An edit makes a notebook the most recently updated (the default order).
    assert titles(ada, "/api/notebooks") == ["gamma", "Alpha", "beta"]
    ada.ok("PATCH", f"/api/notebooks/{made['beta']['id']}", json={"title": "beta 2"})
    assert titles(ada, "/api/notebooks") == ["beta 2", "gamma", "Alpha"]
    for query in ("sort=colour", "order=sideways", "location=" + "x" * 201):
        response = ada.get(f"/api/notebooks?{query}")
        assert response.status_code == 422, query
    assert titles(bob, "/api/notebooks") == ["Bob's"]


def test_folders_trash_and_archive(frontend: LiveFrontend) -> None:
    ada = frontend.user()
    ids = [ada.new_notebook(f"n{i}")["id"] for i in range(5)]

    def put(notebook_id: str, location: str, status: int = 200) -> Any:
        return ada.ok(
            "PUT", f"/api/notebooks/{notebook_id}/location", status, json={"location": location}
        )

    before = ada.ok("GET", f"/api/notebooks/{ids[0]}")
    moved = put(ids[0], "Physics")
    assert moved["location"] == "Physics"
    # Where a notebook sits is not an edit of it.
    assert moved["updated"] == before["updated"]
    assert summaries(ada, ids[0]) == ["created"]
    put(ids[1], "Physics")
    put(ids[2], "Ünïcode folder (2)")
    put(ids[3], "trash")
    put(ids[4], "archive")
    assert ada.ok("GET", "/api/folders") == {
        "top": 0,
        "trash": 1,
        "archive": 1,
        "folders": [
            {"name": "Physics", "count": 2},
            {"name": "Ünïcode folder (2)", "count": 1},
        ],
    }
    assert titles(ada, "/api/notebooks?location=Physics&sort=title&order=asc") == ["n0", "n1"]
    assert titles(ada, "/api/notebooks?location=trash") == ["n3"]
    assert titles(ada, "/api/notebooks?location=archive") == ["n4"]
    assert titles(ada, "/api/notebooks") == []
    # A notebook in the trash still opens; taken out, it is back at the top.
    ada.ok("GET", f"/api/notebooks/{ids[3]}")
    put(ids[3], "")
    assert titles(ada, "/api/notebooks") == ["n3"]
    for bad in ["a/b", " x", "x ", "x" * 101, "tab\there", "new\nline"]:
        response = ada.put(f"/api/notebooks/{ids[0]}/location", json={"location": bad})
        assert response.status_code in (400, 422), bad
        assert "folder name" in response.json()["message"] or response.status_code == 422
    assert ada.ok("GET", f"/api/notebooks/{ids[0]}")["location"] == "Physics"


def test_rename_and_engine_type_are_revisions(frontend: LiveFrontend) -> None:
    ada = frontend.user()
    notebook_id = ada.new_notebook("Draft")["id"]
    changed = ada.ok(
        "PATCH", f"/api/notebooks/{notebook_id}", json={"title": "Final", "engine_type": "sage"}
    )
    assert (changed["title"], changed["engine_type"]) == ("Final", "sage")
    # Within the revision window, one author's changes extend one revision.
    assert summaries(ada, notebook_id) == ["created; renamed to 'Final'; engine type set to 'sage'"]
    # The same values again: nothing changes, nothing is recorded.
    ada.ok("PATCH", f"/api/notebooks/{notebook_id}", json={"title": "Final"})
    assert len(summaries(ada, notebook_id)) == 1
    for body in ({"title": "x" * 501}, {"engine_type": ""}, {"owner_id": 1}):
        response = ada.patch(f"/api/notebooks/{notebook_id}", json=body)
        assert response.status_code == 422, body
    assert ada.ok("GET", f"/api/notebooks/{notebook_id}")["title"] == "Final"


def test_deleting_a_notebook(frontend: LiveFrontend) -> None:
    ada, bob = frontend.user(), frontend.user()
    notebook_id = ada.new_notebook("Doomed")["id"]
    kept_id = ada.new_notebook("Kept")["id"]
    assert bob.delete(f"/api/notebooks/{notebook_id}").status_code == 404
    ada.ok("DELETE", f"/api/notebooks/{notebook_id}", 204)
    assert ada.get(f"/api/notebooks/{notebook_id}").status_code == 404
    assert ada.get(f"/api/notebooks/{notebook_id}/revisions").status_code == 404
    assert ada.delete(f"/api/notebooks/{notebook_id}").status_code == 404
    assert titles(ada, "/api/notebooks") == ["Kept"]

    async def cells_left(db: Any) -> list[str]:
        return list(await db.scalars(select(Cell.notebook_id)))

    left = in_database(frontend.database_url, cells_left)
    assert notebook_id not in left and kept_id in left


def test_unknown_notebooks_are_404(frontend: LiveFrontend) -> None:
    ada = frontend.user()
    for method, path in [
        ("GET", "/api/notebooks/no-such-notebook"),
        ("PATCH", "/api/notebooks/no-such-notebook"),
        ("POST", "/api/notebooks/no-such-notebook/cells"),
        ("DELETE", "/api/notebooks/no-such-notebook"),
    ]:
        response = ada.request(method, path, json={})
        assert response.status_code == 404, (method, path)
        assert response.json()["message"] == "no notebook 'no-such-notebook'"


# --- cells ---------------------------------------------------------------------------------


def test_cells_insert_update_move_delete(frontend: LiveFrontend) -> None:
    ada = frontend.user()
    notebook = ada.new_notebook("Cells")
    path = f"/api/notebooks/{notebook['id']}/cells"
    first = notebook["cells"][0]["id"]

    last = ada.ok("POST", path, 201, json={"source": "print(2)"})
    assert (last["position"], last["kind"], last["source"]) == (1, "code", "print(2)")
    top = ada.ok("POST", path, 201, json={"position": 0, "kind": "title", "source": "Cells"})
    assert top["position"] == 0
    far = ada.ok("POST", path, 201, json={"position": 99, "kind": "markdown"})
    assert far["position"] == 3
    assert [c["id"] for c in cells_of(ada, notebook["id"])] == [
        top["id"],
        first,
        last["id"],
        far["id"],
    ]

    edited = ada.ok("PATCH", f"{path}/{first}", json={"source": "x = 1"})
    assert (edited["source"], edited["kind"], edited["position"]) == ("x = 1", "code", 1)
    edited = ada.ok("PATCH", f"{path}/{far['id']}", json={"kind": "section", "source": "More"})
    assert (edited["kind"], edited["source"]) == ("section", "More")

    moved = ada.ok("POST", f"{path}/{top['id']}/move", json={"position": 2})
    assert moved["position"] == 2
    assert [c["id"] for c in cells_of(ada, notebook["id"])] == [
        first,
        last["id"],
        top["id"],
        far["id"],
    ]
    moved = ada.ok("POST", f"{path}/{far['id']}/move", json={"position": 0})
    assert [c["id"] for c in cells_of(ada, notebook["id"])] == [
        far["id"],
        first,
        last["id"],
        top["id"],
    ]
    moved = ada.ok("POST", f"{path}/{first}/move", json={"position": 500})
    assert moved["position"] == 3

    ada.ok("DELETE", f"{path}/{last['id']}", 204)
    assert [(c["id"], c["source"]) for c in cells_of(ada, notebook["id"])] == [
        (far["id"], "More"),
        (top["id"], "Cells"),
        (first, "x = 1"),
    ]
    # One author within the revision window: one revision, its summary says what was done.
    [summary] = summaries(ada, notebook["id"])
    assert summary.startswith(
        "created; inserted a code cell at 2; inserted a title cell at 1; "
        "inserted a markdown cell at 4; edited cell 2; made cell 4 a section cell; "
        "edited cell 4; moved cell 1 to 3; moved cell 4 to 1; "
    )


def test_bad_cell_requests_change_nothing(frontend: LiveFrontend) -> None:
    ada = frontend.user()
    notebook = ada.new_notebook("Careful")
    other = ada.new_notebook("Other")
    path = f"/api/notebooks/{notebook['id']}/cells"
    cell_id = notebook["cells"][0]["id"]
    for method, url, body, status in [
        ("POST", path, {"kind": "heading"}, 400),
        ("POST", path, {"position": -1}, 422),
        ("POST", path, {"source": 3}, 422),
        ("POST", path, {"cell_id": "mine"}, 422),
        ("PATCH", f"{path}/{cell_id}", {"kind": "heading"}, 400),
        ("PATCH", f"{path}/no-such-cell", {"source": "x"}, 404),
        ("POST", f"{path}/{cell_id}/move", {"position": -3}, 422),
        ("POST", f"{path}/{cell_id}/move", {}, 422),
        ("DELETE", f"{path}/no-such-cell", None, 404),
        # A cell of another notebook is not found through this one.
        ("PATCH", f"/api/notebooks/{other['id']}/cells/{cell_id}", {"source": "x"}, 404),
        ("DELETE", f"/api/notebooks/{other['id']}/cells/{cell_id}", None, 404),
    ]:
        response = ada.request(method, url, json=body)
        assert response.status_code == status, (method, url, body, response.text)
        assert response.json()["message"]
    assert cells_of(ada, notebook["id"]) == notebook["cells"]
    assert cells_of(ada, other["id"]) == other["cells"]
    assert summaries(ada, notebook["id"]) == ["created"]


def test_sections_follow_the_headings(frontend: LiveFrontend) -> None:
    ada = frontend.user()
    notebook = ada.new_notebook("Structure")
    path = f"/api/notebooks/{notebook['id']}/cells"
    ada.ok("DELETE", f"{path}/{notebook['cells'][0]['id']}", 204)
    layout = ["title", "code", "section", "code", "subsection", "markdown", "section", "code"]
    ids = [ada.ok("POST", path, 201, json={"kind": kind})["id"] for kind in layout]
    sections = ada.ok("GET", f"/api/notebooks/{notebook['id']}")["sections"]
    assert [(s["cell_id"], s["kind"], s["level"], s["start"], s["end"]) for s in sections] == [
        (ids[0], "title", 1, 1, 8),
        (ids[2], "section", 3, 3, 6),
        (ids[4], "subsection", 4, 5, 6),
        (ids[6], "section", 3, 7, 8),
    ]
    # A heading turned into code no longer folds anything.
    ada.ok("PATCH", f"{path}/{ids[2]}", json={"kind": "code"})
    sections = ada.ok("GET", f"/api/notebooks/{notebook['id']}")["sections"]
    assert [(s["position"], s["start"], s["end"]) for s in sections] == [
        (0, 1, 8),
        (4, 5, 6),
        (6, 7, 8),
    ]


def _heading(kind: str, number: int) -> dict[str, Any]:
    return {"id": f"c{number}", "kind": kind}


def test_sections_pure() -> None:
    assert notebooks.sections([]) == []
    assert notebooks.sections([_heading("code", 0)]) == []
    cells = [_heading(kind, n) for n, kind in enumerate(["subsection", "title", "subtitle"])]
    assert [(s["position"], s["start"], s["end"]) for s in notebooks.sections(cells)] == [
        (0, 1, 1),  # a deeper heading before a shallower one ends at it
        (1, 2, 3),
        (2, 3, 3),
    ]


@given(st.lists(st.sampled_from(KINDS), max_size=30))
def test_sections_fold_up_to_the_next_heading_as_deep_or_shallower(kinds: list[str]) -> None:
    cells = [_heading(kind, n) for n, kind in enumerate(kinds)]
    found = notebooks.sections(cells)
    assert [s["position"] for s in found] == [
        n for n, kind in enumerate(kinds) if kind in notebooks.HEADING_LEVELS
    ]
    for section in found:
        level = section["level"]
        assert section["start"] == section["position"] + 1
        inside = kinds[section["start"] : section["end"]]
        assert all(notebooks.HEADING_LEVELS.get(kind, 99) > level for kind in inside)
        if section["end"] < len(kinds):
            assert notebooks.HEADING_LEVELS.get(kinds[section["end"]], 99) <= level


# --- positions through notebooks.py on a real database, against a list -----------------------

Operation = tuple[str, int, int]

operations = st.lists(
    st.tuples(
        st.sampled_from(["insert", "move", "delete", "update"]),
        st.integers(min_value=0, max_value=12),
        st.integers(min_value=0, max_value=12),
    ),
    max_size=25,
)


async def _apply_all(url: str, ops: list[Operation]) -> None:
    async with opened(url) as sessions, sessions() as db:
        owner = await db.scalar(select(User).where(User.username == "model"))
        if owner is None:
            owner = User(username="model", password_hash="$argon2id$not-a-real-hash")
            db.add(owner)
            await db.commit()
        notebook = await notebooks.create(db, owner.id, "model", "python")
        model: list[str] = []  # cell ids, in order
        for number, (op, a, b) in enumerate(ops):
            if op == "insert":
                cell = await notebooks.insert_cell(db, notebook.id, a, source=str(number))
                model.insert(min(a, len(model)), cell.id)
            elif not model:
                continue
            elif op == "move":
                cell_id = model[a % len(model)]
                await notebooks.move_cell(db, notebook.id, cell_id, b)
                model.remove(cell_id)
                model.insert(min(b, len(model)), cell_id)
            elif op == "delete":
                cell_id = model.pop(a % len(model))
                await notebooks.delete_cell(db, notebook.id, cell_id)
            else:
                await notebooks.update_cell(db, notebook.id, model[a % len(model)], f"u{b}")
            await db.commit()
        stored = await notebooks.load(db, notebook.id)
        assert [cell.id for cell in stored.cells] == model
        assert [cell.position for cell in stored.cells] == list(range(len(model)))


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ops=operations)
def test_positions_stay_in_order_without_gaps(database_url: str, ops: list[Operation]) -> None:
    asyncio.run(_apply_all(database_url, ops))


@pytest.mark.parametrize("good", ["", "trash", "archive", "Physics", "Ünï (2)", "x" * 100])
def test_check_location_accepts(good: str) -> None:
    assert notebooks.check_location(good) == good


def test_concurrent_edits_keep_positions(frontend: LiveFrontend) -> None:
    """Writers of one notebook take turns (notebooks.lock): none fails, no position is lost."""
    ada = frontend.user()
    notebook = ada.new_notebook("Busy")
    path = f"/api/notebooks/{notebook['id']}/cells"
    tabs = [frontend.client() for _ in range(4)]
    for tab in tabs:
        assert tab.login(name_of(ada)).status_code == 200

    def work(tab: Client, number: int) -> list[int]:
        statuses = []
        for step in range(8):
            response = tab.post(path, json={"position": step % 3, "source": f"{number}.{step}"})
            statuses.append(response.status_code)
            cell_id = response.json()["id"]
            statuses.append(tab.post(f"{path}/{cell_id}/move", json={"position": 0}).status_code)
        return statuses

    with ThreadPoolExecutor(len(tabs)) as pool:
        results = list(pool.map(work, tabs, range(len(tabs))))
    assert all(status in (200, 201) for statuses in results for status in statuses), results
    cells = cells_of(ada, notebook["id"])
    assert len(cells) == 1 + 8 * len(tabs)
    assert sorted(c["source"] for c in cells)[1:] == sorted(
        f"{n}.{s}" for n in range(len(tabs)) for s in range(8)
    )
