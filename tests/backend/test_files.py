"""Workspace files over HTTP: the routes' answers, and above all that nothing leaves the workspace.

Most tests run in process against the file routes on a small app built as app.py builds its
own; one goes through the real create_app to show that the token guards every route, and the
streaming ones run a real `codenode backend` process.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import socket
import stat
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.requests import ClientDisconnect
from starlette.types import Message

from codenode.backend import files
from codenode.backend.app import create_app
from codenode.backend.errors import BackendError
from codenode.backend.fileroutes import file_routes
from codenode.backend.workspaces import Workspaces
from codenode.web import answer_errors_as_json, error_response
from tests.backend.conftest import TOKEN, Backend

KEY = "alice"
BASE = f"/workspaces/{KEY}/files"
SECRET = b"TOP SECRET"
MiB = 1 << 20


def files_app(workspaces: Workspaces, limit: int = files.UPLOAD_LIMIT) -> FastAPI:
    """The file routes alone, with the backend's error rendering and no engines."""
    app = FastAPI()
    app.state.workspaces = workspaces

    @app.exception_handler(BackendError)
    async def backend_error(request: Request, exc: BackendError) -> JSONResponse:
        return error_response(exc.code, exc.message, exc.status)

    answer_errors_as_json(app)
    app.include_router(file_routes(upload_limit=limit))
    return app


class Client:
    """A synchronous face on httpx's in-process ASGI transport, for tests that read in order.

    (Starlette's TestClient now warns unless httpx2 is installed: warnings are errors here.)
    """

    def __init__(self, app: FastAPI) -> None:
        self.runner = asyncio.Runner()
        transport = httpx.ASGITransport(app)
        self.http = httpx.AsyncClient(transport=transport, base_url="http://backend.test")
        self.headers = self.http.headers

    def request(self, method: str, url: str, **extra: Any) -> httpx.Response:
        content = extra.get("content")
        if content is not None and not isinstance(content, bytes):
            extra["content"] = _asynchronous(content)
        return self.runner.run(self.http.request(method, url, **extra))

    def get(self, url: str, **extra: Any) -> httpx.Response:
        return self.request("GET", url, **extra)

    def put(self, url: str, **extra: Any) -> httpx.Response:
        return self.request("PUT", url, **extra)

    def post(self, url: str, **extra: Any) -> httpx.Response:
        return self.request("POST", url, **extra)

    def delete(self, url: str, **extra: Any) -> httpx.Response:
        return self.request("DELETE", url, **extra)

    def close(self) -> None:
        self.runner.run(self.http.aclose())
        self.runner.close()


async def _asynchronous(chunks: Iterator[bytes]) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk


@contextlib.contextmanager
def client_of(app: FastAPI) -> Iterator[Client]:
    made = Client(app)
    try:
        yield made
    finally:
        made.close()


@pytest.fixture
def workspaces(tmp_path: Path) -> Workspaces:
    return Workspaces(tmp_path / "ws")


@pytest.fixture
def top(workspaces: Workspaces) -> Path:
    return workspaces.get(KEY).path


@pytest.fixture
def client(workspaces: Workspaces) -> Iterator[Client]:
    with client_of(files_app(workspaces)) as made:
        yield made


@pytest.fixture
def secret(tmp_path: Path) -> Path:
    """A folder outside every workspace, with a file nobody may get at through these routes."""
    folder = tmp_path / "secret"
    folder.mkdir()
    (folder / "secret.key").write_bytes(SECRET)
    return folder


def untouched(secret: Path) -> bool:
    return os.listdir(secret) == ["secret.key"] and (secret / "secret.key").read_bytes() == SECRET


def upload(client: Client, path: str, content: Any, **params: Any) -> Any:
    return client.put(f"{BASE}/upload", params={"path": path, **params}, content=content)


def listing(client: Client, path: str = "") -> list[dict[str, Any]]:
    response = client.get(BASE, params={"path": path})
    assert response.status_code == 200, response.text
    entries: list[dict[str, Any]] = response.json()["entries"]
    return entries


def names(client: Client, path: str = "") -> list[str]:
    return [entry["name"] for entry in listing(client, path)]


def refused(response: Any, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.json()["error"] == code, response.text
    assert SECRET.decode() not in response.text


# -- the routes, one by one ------------------------------------------------------------------


def test_upload_list_download_round_trip(client: Client, top: Path) -> None:
    answer = upload(client, "notes.txt", b"hello\n")
    assert answer.status_code == 201, answer.text
    entry = answer.json()
    assert entry["name"] == "notes.txt" and entry["path"] == "notes.txt"
    assert entry["kind"] == "file" and entry["size"] == 6
    assert abs(entry["modified"] - time.time()) < 60
    assert (top / "notes.txt").read_bytes() == b"hello\n"

    shown = client.get(BASE)
    assert shown.status_code == 200
    assert shown.json() == {"path": "", "entries": [entry]}

    got = client.get(f"{BASE}/download", params={"path": "notes.txt"})
    assert got.status_code == 200
    assert got.content == b"hello\n"
    assert got.headers["content-type"] == "application/octet-stream"
    assert got.headers["content-length"] == "6"
    assert got.headers["content-disposition"] == (
        "attachment; filename=\"notes.txt\"; filename*=UTF-8''notes.txt"
    )


def test_download_names_a_file_of_any_name(client: Client) -> None:
    name = 'résumé "final" ✓.txt'
    assert upload(client, name, b"x").status_code == 201
    got = client.get(f"{BASE}/download", params={"path": name})
    assert got.headers["content-disposition"] == (
        'attachment; filename="r_sum_ _final_ _.txt"; '
        "filename*=UTF-8''r%C3%A9sum%C3%A9%20%22final%22%20%E2%9C%93.txt"
    )


def test_nested_folders(client: Client, top: Path) -> None:
    assert client.post(f"{BASE}/folder", json={"path": "a"}).status_code == 201
    made = client.post(f"{BASE}/folder", json={"path": "a/b"})
    assert made.status_code == 201
    assert made.json()["kind"] == "folder" and made.json()["path"] == "a/b"
    assert made.json()["size"] is None
    assert upload(client, "a/b/c.txt", b"deep").status_code == 201
    assert [e["path"] for e in listing(client, "a")] == ["a/b"]
    assert listing(client, "a/b")[0]["path"] == "a/b/c.txt"
    assert client.get(f"{BASE}/download", params={"path": "a/b/c.txt"}).content == b"deep"
    assert (top / "a" / "b" / "c.txt").read_bytes() == b"deep"


def test_empty_and_dot_components_are_skipped(client: Client) -> None:
    client.post(f"{BASE}/folder", json={"path": "d"})
    answer = upload(client, "d//e.txt", b"e")
    assert answer.json()["path"] == "d/e.txt"
    shown = client.get(BASE, params={"path": "./d/"}).json()
    assert shown["path"] == "d" and [e["path"] for e in shown["entries"]] == ["d/e.txt"]


def test_listing_puts_folders_first_then_names(client: Client, top: Path) -> None:
    for name in ("b.txt", "A.txt"):
        (top / name).write_text(name)
    for name in ("z", "c"):
        (top / name).mkdir()
    (top / "link").symlink_to("b.txt")
    os.mkfifo(top / "pipe")
    entries = listing(client)
    assert [(e["name"], e["kind"]) for e in entries] == [
        ("c", "folder"),
        ("z", "folder"),
        ("A.txt", "file"),
        ("b.txt", "file"),
        ("link", "link"),
        ("pipe", "other"),
    ]
    assert [e["size"] for e in entries] == [None, None, 5, 5, None, None]


def test_a_name_that_is_not_utf8_is_listed_with_replacement_characters(
    client: Client, top: Path
) -> None:
    with open(os.path.join(os.fsencode(top), b"caf\xe9"), "w"):
        pass
    assert names(client) == ["caf\ufffd"]


def test_upload_refuses_to_replace_unless_told(client: Client, top: Path) -> None:
    upload(client, "f", b"one")
    refused(upload(client, "f", b"two"), 409, "already_exists")
    assert (top / "f").read_bytes() == b"one"
    replaced = upload(client, "f", b"three", overwrite="true")
    assert replaced.status_code == 201 and replaced.json()["size"] == 5
    assert (top / "f").read_bytes() == b"three"
    assert os.listdir(top) == ["f"]


def test_upload_refusals(client: Client, top: Path) -> None:
    (top / "folder").mkdir()
    refused(upload(client, "folder", b"x", overwrite="true"), 422, "is_a_folder")
    refused(upload(client, "missing/f", b"x"), 404, "no_such_file")
    refused(upload(client, "", b"x"), 422, "top_of_workspace")
    (top / "file").write_text("")
    refused(upload(client, "file/f", b"x"), 422, "not_a_folder")
    assert sorted(os.listdir(top)) == ["file", "folder"]


def test_rename(client: Client, top: Path) -> None:
    upload(client, "old.txt", b"x")
    client.post(f"{BASE}/folder", json={"path": "box"})
    moved = client.post(f"{BASE}/rename", json={"path": "old.txt", "to": "box/new.txt"})
    assert moved.status_code == 200, moved.text
    assert moved.json()["path"] == "box/new.txt" and moved.json()["kind"] == "file"
    assert (top / "box" / "new.txt").read_bytes() == b"x"
    again = client.post(f"{BASE}/rename", json={"path": "box", "to": "crate"})
    assert again.json()["kind"] == "folder"
    assert names(client, "crate") == ["new.txt"]


def test_rename_refusals(client: Client, top: Path) -> None:
    upload(client, "a", b"a")
    upload(client, "b", b"b")
    client.post(f"{BASE}/folder", json={"path": "d"})

    def rename(path: str, to: str) -> Any:
        return client.post(f"{BASE}/rename", json={"path": path, "to": to})

    refused(rename("a", "b"), 409, "already_exists")
    refused(rename("missing", "c"), 404, "no_such_file")
    refused(rename("a", "missing/c"), 404, "no_such_file")
    refused(rename("", "c"), 422, "top_of_workspace")
    refused(rename("a", ""), 422, "top_of_workspace")
    refused(rename("d", "d/inner"), 422, "bad_path")
    refused(client.post(f"{BASE}/rename", json={"path": "a"}), 422, "bad_request")
    assert (top / "a").read_bytes() == b"a" and (top / "b").read_bytes() == b"b"


def test_make_folder_refusals(client: Client) -> None:
    client.post(f"{BASE}/folder", json={"path": "d"})
    refused(client.post(f"{BASE}/folder", json={"path": "d"}), 409, "already_exists")
    refused(client.post(f"{BASE}/folder", json={"path": "x/y"}), 404, "no_such_file")
    refused(client.post(f"{BASE}/folder", json={"path": ""}), 422, "top_of_workspace")


def test_delete_file_and_folder(client: Client, top: Path) -> None:
    upload(client, "f", b"x")
    assert client.delete(BASE, params={"path": "f"}).status_code == 204
    (top / "tree" / "a" / "b").mkdir(parents=True)
    (top / "tree" / "a" / "file").write_text("x")
    (top / "tree" / "a" / "b" / "file").write_text("x")
    (top / "tree" / "a" / "b" / "dangling").symlink_to("nowhere")
    answer = client.delete(BASE, params={"path": "tree"})
    assert answer.status_code == 204 and answer.content == b""
    assert os.listdir(top) == []
    refused(client.delete(BASE, params={"path": "tree"}), 404, "no_such_file")


def test_delete_refuses_the_top(client: Client, top: Path) -> None:
    upload(client, "keep", b"x")
    for path in ("", ".", "./", ".//."):
        refused(client.delete(BASE, params={"path": path}), 422, "top_of_workspace")
    assert os.listdir(top) == ["keep"]


def test_delete_a_tree_deeper_than_the_recursion_limit(client: Client, top: Path) -> None:
    fd = os.open(top, os.O_RDONLY | os.O_DIRECTORY)
    for _ in range(1200):  # deeper than PATH_MAX allows naming from / too
        os.mkdir("d", dir_fd=fd)
        inner = os.open("d", os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
        os.close(fd)
        fd = inner
    os.close(fd)
    assert client.delete(BASE, params={"path": "d"}).status_code == 204
    assert os.listdir(top) == []


def test_download_refusals(client: Client, top: Path) -> None:
    (top / "folder").mkdir()
    os.mkfifo(top / "pipe")  # opening it must not wait for a writer
    refused(client.get(f"{BASE}/download", params={"path": "folder"}), 422, "is_a_folder")
    refused(client.get(f"{BASE}/download", params={"path": "pipe"}), 422, "not_a_file")
    refused(client.get(f"{BASE}/download", params={"path": "nothing"}), 404, "no_such_file")
    refused(client.get(f"{BASE}/download", params={"path": ""}), 422, "top_of_workspace")
    refused(client.get(f"{BASE}/download"), 422, "bad_request")


def test_listing_refusals(client: Client, top: Path) -> None:
    (top / "file").write_text("")
    refused(client.get(BASE, params={"path": "file"}), 422, "not_a_folder")
    refused(client.get(BASE, params={"path": "nothing"}), 404, "no_such_file")


def test_bad_workspace_key(client: Client) -> None:
    refused(client.get("/workspaces/bad key!/files"), 422, "bad_workspace_key")
    refused(client.get("/workspaces/%2e%2e/files"), 422, "bad_workspace_key")
    refused(client.get("/workspaces/.hidden/files"), 422, "bad_workspace_key")


# -- confinement: no path leaves the workspace ---------------------------------------------


def call(client: Client, route: str, path: str) -> Any:
    """Each route, with path where it takes one."""
    if route == "list":
        return client.get(BASE, params={"path": path})
    if route == "download":
        return client.get(f"{BASE}/download", params={"path": path})
    if route == "upload":
        return upload(client, path, b"stolen")
    if route == "rename from":
        return post_json(client, "/rename", {"path": path, "to": "here"})
    if route == "rename to":
        return post_json(client, "/rename", {"path": "mine", "to": path})
    if route == "folder":
        return post_json(client, "/folder", {"path": path})
    assert route == "delete"
    return client.delete(BASE, params={"path": path})


def post_json(client: Client, action: str, body: dict[str, str]) -> Any:
    """POST body as JSON escaped to ASCII, so that a lone surrogate travels as \\ud800."""
    content = json.dumps(body).encode()
    headers = {"Content-Type": "application/json"}
    return client.post(f"{BASE}{action}", content=content, headers=headers)


ROUTES = ["list", "download", "upload", "rename from", "rename to", "folder", "delete"]
BAD_PATHS = [
    "..",
    "../secret/secret.key",
    "a/../../secret",
    "./../secret",
    "/etc/passwd",
    "/",
    "a\0b",
    "x" * 256,
    "a/" * 2100,
    "\ud800",
]


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("path", BAD_PATHS, ids=repr)
def test_paths_that_could_leave_are_refused(
    client: Client, top: Path, secret: Path, route: str, path: str
) -> None:
    if path == "\ud800" and route not in ("rename from", "rename to", "folder"):
        pytest.skip("only a JSON body can carry a lone surrogate")
    (top / "mine").write_text("mine")
    refused(call(client, route, path), 422, "bad_path")
    assert untouched(secret)
    assert os.listdir(top) == ["mine"]


@pytest.mark.parametrize(
    "query",
    ["%2e%2e%2fsecret%2fsecret.key", "%2E%2E/secret/secret.key", "a/%2e%2e/%2e%2e/secret", "%00"],
)
def test_percent_encoded_traversal_is_refused(
    client: Client, top: Path, secret: Path, query: str
) -> None:
    for route in (BASE, f"{BASE}/download"):
        refused(client.get(f"{route}?path={query}"), 422, "bad_path")
    refused(client.put(f"{BASE}/upload?path={query}", content=b"x"), 422, "bad_path")
    refused(client.delete(f"{BASE}?path={query}"), 422, "bad_path")
    assert untouched(secret) and os.listdir(top) == []


@pytest.fixture
def links(top: Path, secret: Path) -> Path:
    """What a cell can do: links in the workspace to a folder and a file outside it."""
    (top / "x").symlink_to(secret)
    (top / "k").symlink_to(secret / "secret.key")
    (top / "rel").symlink_to("../../secret")
    return top


@pytest.mark.parametrize("link", ["x", "rel"])
def test_a_link_to_a_folder_outside_is_never_followed(
    client: Client, links: Path, secret: Path, link: str
) -> None:
    kinds = {e["name"]: (e["kind"], e["size"]) for e in listing(client)}
    assert kinds == {"k": ("link", None), "rel": ("link", None), "x": ("link", None)}
    refused(client.get(BASE, params={"path": link}), 422, "is_a_link")
    inside = f"{link}/secret.key"
    refused(client.get(f"{BASE}/download", params={"path": inside}), 422, "is_a_link")
    refused(upload(client, f"{link}/new", b"planted"), 422, "is_a_link")
    refused(upload(client, inside, b"planted", overwrite="true"), 422, "is_a_link")
    refused(client.post(f"{BASE}/folder", json={"path": f"{link}/new"}), 422, "is_a_link")
    refused(client.post(f"{BASE}/rename", json={"path": inside, "to": "got"}), 422, "is_a_link")
    refused(client.delete(BASE, params={"path": inside}), 422, "is_a_link")
    (links / "mine").write_text("mine")
    moved = client.post(f"{BASE}/rename", json={"path": "mine", "to": f"{link}/mine"})
    refused(moved, 422, "is_a_link")
    assert untouched(secret)


def test_a_link_to_a_file_outside_is_never_followed(
    client: Client, links: Path, secret: Path
) -> None:
    refused(client.get(f"{BASE}/download", params={"path": "k"}), 422, "is_a_link")
    refused(client.get(BASE, params={"path": "k"}), 422, "is_a_link")
    refused(upload(client, "k", b"planted"), 409, "already_exists")
    assert untouched(secret)


def test_upload_over_a_link_replaces_the_link(client: Client, links: Path, secret: Path) -> None:
    answer = upload(client, "k", b"mine now", overwrite="true")
    assert answer.status_code == 201 and answer.json()["kind"] == "file"
    assert not (links / "k").is_symlink() and (links / "k").read_bytes() == b"mine now"
    assert untouched(secret)


def test_rename_moves_the_link_itself(client: Client, links: Path, secret: Path) -> None:
    moved = client.post(f"{BASE}/rename", json={"path": "x", "to": "y"})
    assert moved.status_code == 200 and moved.json()["kind"] == "link"
    assert (links / "y").readlink() == secret
    assert untouched(secret)


def test_delete_removes_links_never_their_targets(
    client: Client, links: Path, secret: Path
) -> None:
    for link in ("x", "k"):
        assert client.delete(BASE, params={"path": link}).status_code == 204
    (links / "box").mkdir()
    (links / "box" / "to-secret").symlink_to(secret)
    (links / "box" / "to-key").symlink_to(secret / "secret.key")
    assert client.delete(BASE, params={"path": "box"}).status_code == 204
    assert os.listdir(links) == ["rel"]
    assert untouched(secret)


def test_a_link_swapped_in_mid_upload_is_not_followed(
    workspaces: Workspaces, top: Path, secret: Path
) -> None:
    (top / "a").mkdir()

    async def body() -> AsyncIterator[bytes]:
        yield b"first "
        # The engine renames the folder away and puts a link to the outside in its place.
        (top / "a").rename(top / "a-old")
        (top / "a").symlink_to(secret)
        yield b"second"

    entry = asyncio.run(files.upload(workspaces.get(KEY), "a/f.txt", body()))
    assert entry.path == "a/f.txt"
    assert (top / "a-old" / "f.txt").read_bytes() == b"first second"
    assert untouched(secret)


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can read what the engine cannot")
def test_a_hard_link_to_a_file_of_roots_is_not_given_out(
    client: Client, top: Path, tmp_path: Path
) -> None:
    private = tmp_path / "private.key"
    private.write_bytes(SECRET)
    private.chmod(0o600)
    os.link(private, top / "h")
    refused(client.get(f"{BASE}/download", params={"path": "h"}), 403, "permission_denied")
    assert client.delete(BASE, params={"path": "h"}).status_code == 204
    assert private.read_bytes() == SECRET


# -- ownership ------------------------------------------------------------------------------


@pytest.mark.skipif(os.geteuid() != 0, reason="only root hands files to another identity")
def test_what_the_routes_make_belongs_to_the_workspace(
    client: Client, workspaces: Workspaces, top: Path
) -> None:
    workspace = workspaces.get(KEY)
    assert workspace.uid != 0
    client.post(f"{BASE}/folder", json={"path": "d"})
    upload(client, "d/f", b"x")
    upload(client, "d/f", b"y", overwrite="true")
    for made, mode in ((top / "d", 0o755), (top / "d" / "f", 0o644)):
        info = made.lstat()
        assert (info.st_uid, info.st_gid) == (workspace.uid, workspace.gid)
        assert stat.S_IMODE(info.st_mode) == mode


# -- uploads that do not finish -------------------------------------------------------------


def test_the_size_cap(workspaces: Workspaces, top: Path) -> None:
    with client_of(files_app(workspaces, limit=1000)) as small:
        announced = upload(small, "big", b"x" * 1001)
        refused(announced, 413, "upload_too_large")
        assert "1000 bytes" in announced.json()["message"]
        unannounced = upload(small, "big", (b"x" * 300 for _ in range(4)))
        refused(unannounced, 413, "upload_too_large")
        assert os.listdir(top) == []
        assert upload(small, "fits", b"x" * 1000).status_code == 201
        assert os.listdir(top) == ["fits"]


def test_an_upload_whose_client_goes_away_leaves_nothing(workspaces: Workspaces, top: Path) -> None:
    app = files_app(workspaces)
    sent: list[Message] = []
    arrived = iter([{"type": "http.request", "body": b"x" * 1000, "more_body": True}])

    async def receive() -> Message:
        # One piece of the body, then the client is gone.
        return next(arrived, {"type": "http.disconnect"})

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "method": "PUT",
        "scheme": "http",
        "path": f"{BASE}/upload",
        "raw_path": f"{BASE}/upload".encode(),
        "query_string": b"path=cut.bin",
        "headers": [(b"host", b"test")],
        "server": ("test", 80),
        "client": ("test", 1),
        "root_path": "",
    }
    asyncio.run(app(scope, receive, send))
    assert sent[0]["status"] == 400
    assert b"upload_interrupted" in sent[1]["body"]
    assert os.listdir(top) == []


def test_a_cancelled_upload_leaves_nothing(workspaces: Workspaces, top: Path) -> None:
    async def scenario() -> None:
        started = asyncio.Event()

        async def body() -> AsyncIterator[bytes]:
            yield b"x" * MiB
            started.set()
            await asyncio.Event().wait()  # the rest never comes
            yield b""

        task = asyncio.create_task(files.upload(workspaces.get(KEY), "f", body()))
        await started.wait()
        assert [n for n in os.listdir(top) if n.startswith(files.TEMP_PREFIX)]
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(scenario())
    assert os.listdir(top) == []


def test_a_body_that_fails_midway_leaves_nothing(workspaces: Workspaces, top: Path) -> None:
    async def body() -> AsyncIterator[bytes]:
        yield b"x" * 10
        raise ClientDisconnect()

    with pytest.raises(ClientDisconnect):
        asyncio.run(files.upload(workspaces.get(KEY), "f", body()))
    assert os.listdir(top) == []


# -- the real application and a real backend -------------------------------------------------


def test_the_token_guards_every_file_route(tmp_path: Path) -> None:
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    app = create_app(plugins, TOKEN, Workspaces(tmp_path / "ws"))
    requests: list[tuple[str, str, dict[str, Any]]] = [
        ("GET", BASE, {"params": {"path": ""}}),
        ("GET", f"{BASE}/download", {"params": {"path": "f"}}),
        ("PUT", f"{BASE}/upload", {"params": {"path": "f"}, "content": b"x"}),
        ("POST", f"{BASE}/rename", {"json": {"path": "f", "to": "g"}}),
        ("POST", f"{BASE}/folder", {"json": {"path": "d"}}),
        ("DELETE", BASE, {"params": {"path": "g"}}),
    ]
    with client_of(app) as client:  # no lifespan: the file routes need no engines
        guarded(client, requests, tmp_path)


def guarded(client: Client, requests: list[tuple[str, str, dict[str, Any]]], tmp: Path) -> None:
    """Every request refused without the token, and answered with it."""
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
        for method, url, extra in requests:
            answer = client.request(method, url, headers=headers, **extra)
            refused(answer, 401, "unauthorized")
    assert not (tmp / "ws").exists()

    client.headers["Authorization"] = f"Bearer {TOKEN}"
    statuses = [client.request(method, url, **extra).status_code for method, url, extra in requests]
    assert statuses == [200, 404, 201, 200, 201, 204]
    assert client.get(BASE).json()["entries"][0]["path"] == "d"
    paths = client.get("/openapi.json").json()["paths"]
    assert {f"/workspaces/{{key}}/files{action}" for action in ("", "/download", "/upload")} <= set(
        paths
    )


def high_water(pid: int | str = "self") -> int:
    """A process's peak resident memory so far, in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise LookupError(pid)


def test_200_mb_stream_through_a_real_backend_without_being_held(
    backend: Backend, tmp_path: Path
) -> None:
    size, block = 200 * MiB, bytes(range(256)) * 4096
    sent = hashlib.sha256()

    def body() -> Iterator[bytes]:
        for _ in range(size // len(block)):
            sent.update(block)
            yield block

    server_before, client_before = high_water(backend.process.pid), high_water()
    answer = backend.http.put(f"{BASE}/upload", params={"path": "big.bin"}, content=body())
    assert answer.status_code == 201, answer.text
    assert answer.json()["size"] == size
    received, count = hashlib.sha256(), 0
    with backend.http.stream("GET", f"{BASE}/download", params={"path": "big.bin"}) as got:
        assert got.headers["content-length"] == str(size)
        for chunk in got.iter_bytes():
            received.update(chunk)
            count += len(chunk)
    assert count == size and received.digest() == sent.digest()
    assert high_water(backend.process.pid) - server_before < 64 * MiB
    assert high_water() - client_before < 64 * MiB
    assert (tmp_path / "workspaces" / KEY / "big.bin").stat().st_size == size


def test_a_client_that_hangs_up_mid_upload_leaves_no_temporary_file(
    backend: Backend, tmp_path: Path
) -> None:
    folder = tmp_path / "workspaces" / KEY
    address = urlsplit(backend.url)
    assert address.hostname is not None and address.port is not None
    with socket.create_connection((address.hostname, address.port)) as connection:
        connection.sendall(
            f"PUT {BASE}/upload?path=cut.bin HTTP/1.1\r\nHost: test\r\n"
            f"Authorization: Bearer {TOKEN}\r\nContent-Length: {100 * MiB}\r\n\r\n".encode()
        )
        connection.sendall(b"x" * (4 * MiB))
        deadline = time.monotonic() + 20
        while not (folder.is_dir() and os.listdir(folder)):
            assert time.monotonic() < deadline, "the upload never started"
            time.sleep(0.02)
        assert os.listdir(folder)[0].startswith(files.TEMP_PREFIX)
    deadline = time.monotonic() + 20
    while os.listdir(folder):
        assert time.monotonic() < deadline, os.listdir(folder)
        time.sleep(0.02)
    assert backend.http.get(BASE).json()["entries"] == []
    assert "Traceback" not in (tmp_path / "backend.log").read_text()


def test_a_client_that_hangs_up_mid_download_leaves_no_open_file(backend: Backend) -> None:
    answer = backend.http.put(
        f"{BASE}/upload", params={"path": "big.bin"}, content=(b"x" * MiB for _ in range(64))
    )
    assert answer.status_code == 201
    address = urlsplit(backend.url)
    assert address.hostname is not None and address.port is not None
    with socket.create_connection((address.hostname, address.port)) as connection:
        connection.sendall(
            f"GET {BASE}/download?path=big.bin HTTP/1.1\r\nHost: test\r\n"
            f"Authorization: Bearer {TOKEN}\r\n\r\n".encode()
        )
        assert connection.recv(100).startswith(b"HTTP/1.1 200")
    fds = Path(f"/proc/{backend.process.pid}/fd")

    def open_files() -> list[str]:
        found = []
        for fd in fds.iterdir():
            with contextlib.suppress(OSError):
                found.append(os.readlink(fd))
        return [target for target in found if target.endswith("big.bin")]

    deadline = time.monotonic() + 20
    while open_files():
        assert time.monotonic() < deadline, open_files()
        time.sleep(0.02)
    assert backend.http.get("/health").status_code == 200
