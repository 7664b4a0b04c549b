"""Workspace size limits (limits.workspace_mb), on a real backend run as root, both ways.

A limited workspace is an ext4 image loop-mounted in the backend's own mount namespace
(codenode/backend/images.py): a cell or an upload that writes past it fails with a full disk,
told as the workspace's limit, and nothing else fills up.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from codenode.backend.enginetype import Limits
from codenode.backend.workspaces import Workspaces
from tests.backend.conftest import Backend, python_plugin, start_backend
from tests.backend.test_backend import declare, how_engines_start
from tests.backend.test_sandbox import start
from tests.backend.test_templates import evaluate, value

__all__ = ["how_engines_start"]  # the fixture: every test both ways

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux") or os.geteuid() != 0,
    reason="workspace images are loop-mounted: a backend run as root on Linux",
)
MIB = 1 << 20
FILL = (
    "chunk = b'x' * (1 << 20)\n"
    "with open('big', 'wb') as out:\n"
    "    for _ in range({mb}):\n"
    "        out.write(chunk)\n"
    "        out.flush()\n"
)


@pytest.fixture
def limited(tmp_path: Path) -> Iterator[Backend]:
    """A backend whose python type gives each workspace 16 MiB, each private /tmp 8."""
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "python.py").write_text(python_plugin(limits=Limits(workspace_mb=16, tmp_mb=8)))
    running = start_backend(plugins, tmp_path)
    yield running
    running.close()


def size_of(backend: Backend, engine_id: str) -> int:
    """The size of an engine's workspace, as its file system tells it."""
    return int(
        value(
            backend, engine_id, "(lambda s: s.f_blocks * s.f_frsize)(__import__('os').statvfs('.'))"
        )
    )


def test_a_cell_that_fills_its_workspace_is_told_its_limit(limited: Backend) -> None:
    alice = start(limited, "alice")
    size = size_of(limited, alice["id"])
    assert 12 * MIB < size <= 16 * MIB, size  # the image's file system, less ext4's own
    result = evaluate(limited, alice["id"], FILL.format(mb=32))
    assert "No space left on device" in result["err"], result
    assert "The workspace is full" in result["err"] and "workspace_mb" in result["err"]
    # The engine lives on, and deleting makes room again.
    assert value(limited, alice["id"], "__import__('os').remove('big') or 1 + 1") == 2
    result = evaluate(limited, alice["id"], FILL.format(mb=4))
    assert result["err"] == "", result
    # Another workspace has its own 16 MiB: alice's full one takes nothing of bob's.
    evaluate(limited, alice["id"], FILL.format(mb=32))
    bob = start(limited, "bob")
    assert evaluate(limited, bob["id"], FILL.format(mb=8))["err"] == ""
    # A full private /tmp is told as such.
    result = evaluate(limited, bob["id"], "import os\nos.chdir('/tmp')\n" + FILL.format(mb=16))
    assert "The private /tmp is full: 8 MiB" in result["err"] and "tmp_mb" in result["err"], result


def test_an_upload_past_the_limit_is_refused_and_kept_nowhere(limited: Backend) -> None:
    listing = limited.http.get("/workspaces/carol/files").json()
    assert listing["space"]["size"] == 16 * MIB and 0 < listing["space"]["used"] < 4 * MIB, listing
    response = limited.http.put(
        "/workspaces/carol/files/upload", params={"path": "huge.bin"}, content=b"y" * 24 * MIB
    )
    assert response.status_code == 507 and response.json()["error"] == "no_space", response.text
    assert "the workspace is full (its size limit is 16 MiB)" in response.json()["message"]
    assert limited.http.get("/workspaces/carol/files").json()["entries"] == []
    small = limited.http.put(
        "/workspaces/carol/files/upload", params={"path": "small.bin"}, content=b"z" * MIB
    )
    assert small.status_code == 201, small.text
    carol = start(limited, "carol")  # the engine sees what was uploaded, in the same image
    assert value(limited, carol["id"], "len(open('small.bin', 'rb').read())") == MIB


def test_files_from_before_the_limit_move_into_the_image(tmp_path: Path) -> None:
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "python.py").write_text(python_plugin())  # no limit yet
    backend = start_backend(plugins, tmp_path)
    try:
        dave = start(backend, "dave")
        code = (
            "open('notes.txt', 'w').write('kept')\nopen('data.bin', 'wb').write(b'd' * (24 << 20))"
        )
        assert evaluate(backend, dave["id"], code)["err"] == ""
        # The admin gives the type a limit smaller than what dave holds; then a type with more.
        (backend.plugins / "python.py").write_text(python_plugin(limits=Limits(workspace_mb=16)))
        backend.wait_for_types(lambda t: t["types"][0]["workspace_mb"] == 16)
        backend.wait_for_templates()
        again = start(backend, "dave")
        assert value(backend, again["id"], "open('notes.txt').read()") == "kept"
        assert value(backend, again["id"], "len(open('data.bin', 'rb').read())") == 24 << 20
        image = tmp_path / "workspaces" / ".images" / "dave.ext4"
        assert image.stat().st_size > 24 * MIB  # made to hold it: full, but nothing lost
        declare(backend, "big.py", python_plugin("big", limits=Limits(workspace_mb=64)))
        # While an engine works in it, a workspace keeps its size (ext4 grows unmounted) ...
        busy = start(backend, "dave", "big")
        assert size_of(backend, busy["id"]) < 48 * MIB
        for engine in (dave, again, busy):
            assert backend.http.delete(f"/engines/{engine['id']}").status_code == 204
        # ... and grows at the next start with none.
        big = start(backend, "dave", "big")
        assert size_of(backend, big["id"]) > 52 * MIB
        assert value(backend, big["id"], "open('notes.txt').read()") == "kept"
        assert evaluate(backend, big["id"], FILL.format(mb=16))["err"] == ""
    finally:
        backend.close()


def test_a_stopped_backend_leaves_no_mount_and_no_loop_device(tmp_path: Path) -> None:
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "python.py").write_text(python_plugin(limits=Limits(workspace_mb=16)))
    backend = start_backend(plugins, tmp_path)
    erin = start(backend, "erin")
    assert value(backend, erin["id"], "open('a.txt', 'w').write('x')") == 1
    images = str(tmp_path / "workspaces" / ".images")
    assert images in loop_devices()
    backend.process.kill()  # however it ends: its mount namespace goes with its processes
    backend.close()
    deadline = time.monotonic() + 10
    while images in loop_devices() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert images not in loop_devices()
    assert str(tmp_path) not in Path("/proc/self/mountinfo").read_text()
    # The files are in the image, for the next run.
    again = start_backend(plugins, tmp_path)
    try:
        erin = start(again, "erin")
        assert value(again, erin["id"], "open('a.txt').read()") == "x"
    finally:
        again.close()


def loop_devices() -> str:
    return subprocess.run(["losetup", "-a"], capture_output=True, text=True).stdout


def test_a_backend_that_cannot_mount_says_the_limit_is_not_enforced(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    workspaces = Workspaces(tmp_path / "ws", range(4_200_000, 4_200_010))  # limits=False
    workspace = workspaces.get("frank")
    with caplog.at_level(logging.WARNING, logger="codenode.backend"):
        workspaces.limit(workspace, 16, "engine type python")
        workspaces.limit(workspace, 16, "engine type python")
    warnings = [r.getMessage() for r in caplog.records if "not enforced" in r.getMessage()]
    assert warnings == [
        "engine type python: workspace_mb=16 is not enforced: workspace limits need a backend"
        " run as root by `codenode backend`"
    ]
    assert workspaces.usage(workspace) is None and not os.path.ismount(workspace.path)


def test_two_backends_sharing_a_root_never_both_mount_one_image(tmp_path: Path) -> None:
    shared = tmp_path / "shared-workspaces"
    backends = []
    try:
        for name in ("one", "two"):
            folder = tmp_path / name
            (folder / "plugins").mkdir(parents=True)
            source = python_plugin(limits=Limits(workspace_mb=16))
            (folder / "plugins" / "python.py").write_text(source)
            backends.append(
                start_backend(folder / "plugins", folder, extra=["--workspaces", str(shared)])
            )
        one, two = backends
        grace = start(one, "grace")
        assert value(one, grace["id"], "open('a.txt', 'w').write('one')") == 3
        refused = two.http.post("/engines", json={"type": "python", "workspace": "grace"})
        assert refused.status_code == 409 and refused.json()["error"] == "workspace_in_use"
        assert "mounted by one backend at a time" in refused.json()["message"]
        files = two.http.get("/workspaces/grace/files")
        assert files.status_code == 409, files.text
        # Other workspaces on the shared root work from either backend.
        heidi = start(two, "heidi")
        assert value(two, heidi["id"], "1 + 1") == 2
        # Once the first backend is gone, the second may take the workspace, files and all.
        one.close()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            again = two.http.post("/engines", json={"type": "python", "workspace": "grace"})
            if again.status_code == 201:
                break
            time.sleep(0.2)
        assert again.status_code == 201, again.text
        assert value(two, again.json()["id"], "open('a.txt').read()") == "one"
    finally:
        for backend in backends:
            backend.close()
