"""Workspace files over REST on a real frontend and a real backend: upload, list, download,
rename, new folder, delete; each user reaches their own workspace only; the usual refusals
(anonymous, no CSRF header), a backend that is down, and how full a workspace with a size
limit is (a full one refuses an upload with 507)."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from codenode.backend.enginetype import Limits
from codenode.frontend.access import route_table
from codenode.frontend.app import create_app
from codenode.frontend.config import FrontendConfig
from codenode.frontend.db import default_url, upgrade
from codenode.frontend.workspace import workspace_key
from tests.backend.conftest import TOKEN, Backend, python_plugin, start_backend
from tests.frontend.live import Client, LiveFrontend, off_loop, register_backend

CSV = b"city,population\nLyon,522250\nNantes,320732\n"
MIB = 1 << 20


def user_id(client: Client) -> int:
    assert client.user is not None
    return int(client.user["id"])


def upload(client: Client, path: str, data: bytes | Iterator[bytes], **params: Any) -> Any:
    return client.ok("PUT", "/api/files/upload", 201, params={"path": path, **params}, content=data)


def names(client: Client, path: str = "") -> list[str]:
    listing = client.ok("GET", "/api/files", params={"path": path})
    return sorted(entry["name"] for entry in listing["entries"])


def test_the_key_is_the_user_id_and_the_site() -> None:
    assert workspace_key(7, "s").startswith("user-7-")
    assert workspace_key(7, "s") != workspace_key(70, "s")
    # Two sites (two databases, each with its user 7) on one backend: two folders.
    assert workspace_key(7, "site one") != workspace_key(7, "site two")


def test_the_file_routes_are_for_signed_in_users() -> None:
    app = create_app(FrontendConfig("sqlite+aiosqlite:///:memory:", "not a secret"))
    levels = {(method, path): level for method, path, level in route_table(app)}
    for route in [
        ("GET", "/api/files"),
        ("GET", "/api/files/download"),
        ("PUT", "/api/files/upload"),
        ("POST", "/api/files/rename"),
        ("POST", "/api/files/folder"),
        ("DELETE", "/api/files"),
    ]:
        assert levels[route] == "signed_in", route
    # No file route names a key or a user: both come from the session.
    for _, path, _ in route_table(app):
        if path.startswith("/api/files"):
            assert "{" not in path, path


def test_upload_list_and_download_round_trip(frontend: LiveFrontend) -> None:
    ada = frontend.user()
    assert ada.ok("GET", "/api/files")["entries"] == []
    entry = upload(ada, "data.csv", CSV)
    assert (entry["name"], entry["path"], entry["kind"], entry["size"]) == (
        "data.csv",
        "data.csv",
        "file",
        len(CSV),
    )
    listing = ada.ok("GET", "/api/files")
    assert [(e["name"], e["kind"], e["size"]) for e in listing["entries"]] == [
        ("data.csv", "file", len(CSV))
    ]
    assert "space" not in listing  # this backend's types give workspaces no size limit
    download = ada.get("/api/files/download", params={"path": "data.csv"})
    assert download.status_code == 200, download.text
    assert download.content == CSV
    assert download.headers["content-disposition"].startswith("attachment")
    assert download.headers["x-content-type-options"] == "nosniff"
    assert "sandbox" in download.headers["content-security-policy"]


def test_an_existing_file_is_kept_unless_overwrite(frontend: LiveFrontend) -> None:
    ada = frontend.user()
    upload(ada, "notes.txt", b"first")
    again = ada.put("/api/files/upload", params={"path": "notes.txt"}, content=b"second")
    assert again.status_code == 409, again.text
    assert set(again.json()) == {"error", "message"}
    assert ada.get("/api/files/download", params={"path": "notes.txt"}).content == b"first"
    upload(ada, "notes.txt", b"second", overwrite="true")
    assert ada.get("/api/files/download", params={"path": "notes.txt"}).content == b"second"


def test_a_large_upload_streams_through_both_ways(frontend: LiveFrontend) -> None:
    ada = frontend.user()
    data = os.urandom(6 * 1024 * 1024)

    def chunks() -> Iterator[bytes]:  # no Content-Length: sent chunked
        for start in range(0, len(data), 256 * 1024):
            yield data[start : start + 256 * 1024]

    assert upload(ada, "big.bin", chunks())["size"] == len(data)
    assert upload(ada, "sized.bin", data)["size"] == len(data)  # with Content-Length
    with ada.http.stream("GET", "/api/files/download", params={"path": "big.bin"}) as answer:
        assert answer.status_code == 200
        assert answer.headers.get("content-length") in (None, str(len(data)))
        assert b"".join(answer.iter_bytes()) == data


def test_folders_rename_and_delete(frontend: LiveFrontend) -> None:
    ada = frontend.user()
    folder = ada.ok("POST", "/api/files/folder", 201, json={"path": "raw"})
    assert (folder["name"], folder["kind"]) == ("raw", "folder")
    assert ada.post("/api/files/folder", json={"path": "raw"}).status_code == 409
    upload(ada, "data.csv", CSV)
    moved = ada.ok("POST", "/api/files/rename", json={"path": "data.csv", "to": "raw/cities.csv"})
    assert (moved["name"], moved["path"]) == ("cities.csv", "raw/cities.csv")
    assert names(ada) == ["raw"]
    assert names(ada, "raw") == ["cities.csv"]
    assert ada.get("/api/files/download", params={"path": "raw/cities.csv"}).content == CSV
    assert ada.ok("DELETE", "/api/files", 204, params={"path": "raw/cities.csv"}) is None
    assert names(ada, "raw") == []
    ada.ok("DELETE", "/api/files", 204, params={"path": "raw"})
    assert names(ada) == []


def test_the_backends_refusals_reach_the_user(frontend: LiveFrontend) -> None:
    ada = frontend.user()
    missing = ada.get("/api/files/download", params={"path": "nowhere.csv"})
    assert missing.status_code == 404, missing.text
    assert missing.json()["message"]
    gone = ada.delete("/api/files", params={"path": "nowhere.csv"})
    assert gone.status_code == 404, gone.text
    renamed = ada.post("/api/files/rename", json={"path": "nowhere.csv", "to": "x.csv"})
    assert renamed.status_code == 404, renamed.text
    # Malformed requests are refused by the frontend before any backend hears of them.
    assert ada.put("/api/files/upload", content=b"x").status_code == 422  # no path
    assert ada.post("/api/files/rename", json={"path": "a"}).status_code == 422


def workspace_folders(backend: Backend, key: str) -> list[Path]:
    """Where the backend keeps the workspace of *key*, found on its disk."""
    return [p for p in backend.plugins.parent.rglob(key) if p.is_dir()]


def test_nobody_reaches_anothers_files(frontend: LiveFrontend, live_backend: Backend) -> None:
    ada, bob = frontend.user(), frontend.user()
    secret = b"ada's secret: 42\n"
    upload(ada, "secret.txt", secret)
    ada_key = workspace_key(user_id(ada), (frontend.home / "secret.key").read_text().strip())
    folders = workspace_folders(live_backend, ada_key)
    assert [folder / "secret.txt" for folder in folders if (folder / "secret.txt").is_file()]

    assert bob.ok("GET", "/api/files")["entries"] == []
    tries = [
        "secret.txt",
        f"../{ada_key}/secret.txt",
        f"./../{ada_key}/secret.txt",
        f"sub/../../{ada_key}/secret.txt",
        f"/{ada_key}/secret.txt",
        f"/../{ada_key}/secret.txt",
        *(str(folder / "secret.txt") for folder in folders),
        "/etc/passwd",
    ]
    for path in tries:
        answer = bob.get("/api/files/download", params={"path": path})
        assert answer.status_code in (404, 422), (path, answer.status_code)
        assert secret not in answer.content, path
        listing = bob.get("/api/files", params={"path": path.rpartition("/")[0]})
        assert listing.status_code in (200, 404, 422), (path, listing.status_code)
        if listing.status_code == 200:
            assert "secret.txt" not in [e["name"] for e in listing.json()["entries"]], path
        stolen = bob.post("/api/files/rename", json={"path": path, "to": "mine.txt"})
        assert stolen.status_code in (404, 422), (path, stolen.status_code)
        # Whatever these do, they do it in bob's own workspace (checked below).
        planted = bob.put("/api/files/upload", params={"path": path}, content=b"bob was here")
        removed = bob.delete("/api/files", params={"path": path})
        assert planted.status_code < 500 and removed.status_code < 500, path
    # Whatever bob did, ada's file is as she left it and she alone sees it.
    assert names(ada) == ["secret.txt"]
    assert ada.get("/api/files/download", params={"path": "secret.txt"}).content == secret
    assert "mine.txt" not in names(bob)
    for folder in folders:
        assert [p.name for p in folder.iterdir()] == ["secret.txt"]
        assert (folder / "secret.txt").read_bytes() == secret
    # A client-sent key or user id is not a parameter: it changes nothing.
    sneaky = bob.get(
        "/api/files", params={"path": "", "key": ada_key, "user_id": str(user_id(ada))}
    )
    assert "secret.txt" not in [entry["name"] for entry in sneaky.json()["entries"]]


def test_signed_in_users_only(frontend: LiveFrontend) -> None:
    anonymous = frontend.client()
    for method, path, params in [
        ("GET", "/api/files", {}),
        ("GET", "/api/files/download", {"path": "data.csv"}),
        ("PUT", "/api/files/upload", {"path": "data.csv"}),
        ("POST", "/api/files/folder", {}),
        ("DELETE", "/api/files", {"path": "data.csv"}),
    ]:
        kwargs: dict[str, Any] = {"params": params}
        if path.endswith("folder"):
            kwargs["json"] = {"path": "raw"}
        elif method == "PUT":
            kwargs["content"] = CSV
        answer = anonymous.request(method, path, **kwargs)
        assert answer.status_code == 401, (method, path, answer.text)
        assert answer.json()["error"] == "not_signed_in"


def test_state_changes_need_the_csrf_header(frontend: LiveFrontend) -> None:
    ada = frontend.user()
    upload(ada, "keep.txt", b"kept")
    raw = ada.http  # the cookies, without the header the client adds
    tries: list[tuple[str, str, dict[str, Any]]] = [
        ("PUT", "/api/files/upload", {"params": {"path": "new.txt"}, "content": b"x"}),
        ("POST", "/api/files/folder", {"json": {"path": "raw"}}),
        ("POST", "/api/files/rename", {"json": {"path": "keep.txt", "to": "gone.txt"}}),
        ("DELETE", "/api/files", {"params": {"path": "keep.txt"}}),
    ]
    for method, path, kwargs in tries:
        answer = raw.request(method, path, **kwargs)
        assert answer.status_code == 403, (method, path, answer.text)
        assert answer.json()["error"] == "csrf"
    assert names(ada) == ["keep.txt"]


def live_frontend_of(backend: Backend, tmp_path: Path) -> LiveFrontend:
    """A `codenode frontend` of this test's own on *backend*: SQLite, whatever the module
    runs on (its own database)."""
    database = default_url(tmp_path)
    off_loop(upgrade, database)
    register_backend(database, "solo", backend.url, TOKEN)
    live = LiveFrontend(tmp_path / "home", database)
    live.start()
    return live


@pytest.fixture
def solo_backend(tmp_path: Path) -> Iterator[Backend]:
    """A backend of this test's own, to stop."""
    (tmp_path / "plugins").mkdir()
    (tmp_path / "plugins" / "python.py").write_text(python_plugin(templated=False))
    backend = start_backend(tmp_path / "plugins", tmp_path)
    yield backend
    backend.close()


def test_a_backend_that_is_down_is_a_503(tmp_path: Path, solo_backend: Backend) -> None:
    live = live_frontend_of(solo_backend, tmp_path)
    try:
        ada = live.user()
        upload(ada, "data.csv", CSV)
        solo_backend.close()
        tries: list[tuple[str, str, dict[str, Any]]] = [
            ("GET", "/api/files", {}),
            ("GET", "/api/files/download", {"params": {"path": "data.csv"}}),
            ("PUT", "/api/files/upload", {"params": {"path": "b.csv"}, "content": CSV}),
        ]
        for method, path, kwargs in tries:
            answer = ada.request(method, path, **kwargs)
            assert answer.status_code == 503, (method, path, answer.text)
            body = answer.json()
            assert body["error"] == "unavailable"
            assert "down" in body["message"], body
            assert TOKEN not in answer.text
        assert TOKEN not in live.log()
    finally:
        live.stop()


@pytest.fixture
def limited_backend(tmp_path: Path) -> Iterator[Backend]:
    """A backend of this test's own whose python type gives each workspace 16 MiB: enforced,
    as `codenode backend` runs as root on Linux."""
    if not sys.platform.startswith("linux") or os.geteuid() != 0:
        pytest.skip("workspace images are loop-mounted: a backend run as root on Linux")
    (tmp_path / "plugins").mkdir()
    limited = python_plugin(limits=Limits(workspace_mb=16))
    (tmp_path / "plugins" / "python.py").write_text(limited)
    backend = start_backend(tmp_path / "plugins", tmp_path)
    yield backend
    backend.close()


def test_how_full_a_workspace_is_and_a_full_one_refusing(
    tmp_path: Path, limited_backend: Backend
) -> None:
    live = live_frontend_of(limited_backend, tmp_path)
    try:
        ada = live.user()
        space = ada.ok("GET", "/api/files")["space"]
        assert space["size"] == 16 * MIB and 0 < space["used"] < 4 * MIB, space
        upload(ada, "small.bin", b"z" * MIB)
        after = ada.ok("GET", "/api/files")["space"]
        assert after["size"] == space["size"] and after["used"] >= space["used"] + MIB, after

        full = ada.put("/api/files/upload", params={"path": "huge.bin"}, content=b"y" * 24 * MIB)
        assert full.status_code == 507, full.text
        assert full.json() == {
            "error": "no_space",
            "message": "the workspace is full (its size limit is 16 MiB): 'huge.bin' was not"
            " written; delete something and try again",
        }
        assert names(ada) == ["small.bin"]  # nothing of the refused file is left
        assert ada.ok("GET", "/api/files")["space"]["used"] < after["used"] + MIB
    finally:
        live.stop()
