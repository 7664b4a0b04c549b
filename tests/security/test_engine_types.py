"""A notebook's engine type is an engine type's name (the backend's rule), not any text: a
path such as ``../../../etc/passwd`` is refused with 422 on create, rename and import
(issue 13, item 5)."""

from __future__ import annotations

import json

import pytest

from codenode.backend.enginetype import NAME_CHARACTERS
from codenode.frontend.api.params import ENGINE_TYPE_NAME, is_engine_type_name
from tests.security.conftest import Site

BAD = ["../../../etc/passwd", "Python", "py thon", "a/b", "x" * 65, "sage\n", "\u00e9", ""]


def test_the_rule_is_the_backends() -> None:
    assert set("abcdefghijklmnopqrstuvwxyz0123456789-_.") == NAME_CHARACTERS
    assert ENGINE_TYPE_NAME == r"^[a-z0-9._-]{1,64}$"
    for name in ("python", "sage", "python-3.12", "r_4", "x" * 64):
        assert is_engine_type_name(name), name
    for name in BAD:
        assert not is_engine_type_name(name), name


@pytest.mark.parametrize("engine_type", BAD)
def test_patch_refuses_what_is_no_engine_type_name(site: Site, engine_type: str) -> None:
    site.sign_in()
    notebook = site.notebook()
    path = f"/api/notebooks/{notebook['id']}"
    response = site.request("PATCH", path, json={"engine_type": engine_type})
    assert response.status_code == 422, response.text
    assert response.json()["error"] == "bad_request"
    assert site.request("GET", path).json()["engine_type"] == "python"
    created = site.request(
        "POST", "/api/notebooks", json={"title": "t", "engine_type": engine_type}
    )
    assert created.status_code == 422, created.text
    assert site.request("PATCH", path, json={"engine_type": "sage"}).status_code == 200


def ipynb(engine_type: str) -> bytes:
    notebook = {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {"codenode": {"engine_type": engine_type}},
        "cells": [],
    }
    return json.dumps(notebook).encode()


@pytest.mark.parametrize("engine_type", ["../../../etc/passwd", "Python", "a b"])
def test_import_refuses_what_is_no_engine_type_name(site: Site, engine_type: str) -> None:
    site.sign_in()
    # Named by the form field...
    response = site.request(
        "POST",
        "/api/notebooks/import",
        files={"file": ("x.py", b"1\n")},
        data={"engine_type": engine_type},
    )
    assert response.status_code == 422, response.text
    assert response.json()["error"] == "bad_request"
    # ...or by the file.
    response = site.request(
        "POST", "/api/notebooks/import", files={"file": ("x.ipynb", ipynb(engine_type))}
    )
    assert response.status_code == 422, response.text
    assert "engine type" in response.json()["message"]
    assert site.request("GET", "/api/notebooks").json()["notebooks"] == []
    made = site.request(
        "POST", "/api/notebooks/import", files={"file": ("x.ipynb", ipynb("julia-1.10"))}
    )
    assert made.status_code == 201, made.text
    assert made.json()["engine_type"] == "julia-1.10"
