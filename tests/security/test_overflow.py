"""Integers too large for the database, and files nested too deep: answered as 4xx with the
usual error body, never as a 500 (issue 13, item 3)."""

from __future__ import annotations

import json

import pytest

from codenode.frontend.api.params import MAX_OFFSET, MAX_ROW_ID
from tests.security.conftest import Site

HUGE = [str(2**63), "99999999999999999999", str(MAX_ROW_ID + 1), "-1"]


def refused(response: object, status: int = 422) -> None:
    assert response.status_code == status, response.text  # type: ignore[attr-defined]
    body = response.json()  # type: ignore[attr-defined]
    assert set(body) == {"error", "message"}, body
    assert body["error"] == "bad_request"


@pytest.mark.parametrize("number", HUGE)
def test_revision_ids_too_large_for_the_database(site: Site, number: str) -> None:
    site.sign_in()
    notebook = site.notebook()
    base = f"/api/notebooks/{notebook['id']}/revisions"
    refused(site.request("GET", f"{base}/{number}"))
    refused(site.request("POST", f"{base}/{number}/revert"))


def test_the_largest_ids_and_offsets_are_answered(site: Site) -> None:
    site.sign_in(admin=True)
    notebook = site.notebook()
    base = f"/api/notebooks/{notebook['id']}/revisions"
    assert site.request("GET", f"{base}/{MAX_ROW_ID}").status_code == 404
    listed = site.request("GET", f"{base}?offset={MAX_OFFSET}")
    assert listed.status_code == 200, listed.text
    assert listed.json() == {"revisions": []}
    assert site.request("DELETE", f"/api/users/{MAX_ROW_ID}").status_code == 404


@pytest.mark.parametrize("offset", [str(2**63), str(2**64), "-1"])
def test_revision_offsets_too_large_for_the_database(site: Site, offset: str) -> None:
    site.sign_in()
    notebook = site.notebook()
    refused(site.request("GET", f"/api/notebooks/{notebook['id']}/revisions?offset={offset}"))


@pytest.mark.parametrize("number", HUGE)
def test_user_ids_too_large_for_the_database(site: Site, number: str) -> None:
    site.sign_in(admin=True)
    refused(site.request("PATCH", f"/api/users/{number}", json={"disabled": True}))
    refused(site.request("DELETE", f"/api/users/{number}"))


def test_cell_positions_past_any_notebook_are_the_end(site: Site) -> None:
    site.sign_in()
    notebook = site.notebook()
    base = f"/api/notebooks/{notebook['id']}/cells"
    cell = site.request("POST", base, json={"position": 2**70, "source": "x"})
    assert cell.status_code == 201, cell.text
    assert cell.json()["position"] == 1
    moved = site.request("POST", f"{base}/{cell.json()['id']}/move", json={"position": 2**70})
    assert moved.status_code == 200, moved.text


def nested(depth: int) -> bytes:
    inner = "[" * depth + "]" * depth
    return (
        json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": []})
        .replace('"cells": []', f'"cells": [], "deep": {inner}')
        .encode()
    )


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("deep.ipynb", nested(5000)),
        ("deep.ipynb", b"[" * 100_000),
        ("deep.py", b'# codenode: {"a": ' + b"[" * 5000 + b"]" * 5000 + b"}\n1\n"),
    ],
)
def test_importing_a_file_nested_thousands_deep(site: Site, name: str, data: bytes) -> None:
    site.sign_in()
    response = site.request("POST", "/api/notebooks/import", files={"file": (name, data)})
    assert response.status_code == 400, response.text
    assert set(response.json()) == {"error", "message"}
