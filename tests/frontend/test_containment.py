"""The attacks of the sandbox issue, from an ordinary user's notebook, through the frontend.

A real frontend and backend; a user signs in, opens a notebook and tries, from a cell, what a
cell could do before engines were sandboxed: read the site's secrets and database, find the
backend's token in another process, write a plug-in, kill the backend, read another user's
files. Each must fail, and the site must stay up for everyone.
"""

from __future__ import annotations

import json
from typing import Any

from tests.frontend.live import Client, LiveFrontend
from tests.frontend.test_bus import opened, run, text_of


def cell_says(client: Client, code: str) -> str:
    """What a new notebook's first cell prints when it runs code."""
    notebook = client.new_notebook()
    cell = notebook["cells"][0]["id"]
    with opened(client, notebook["id"]) as (bus, _):
        messages = run(bus, cell, code)
    errors = [m for m in messages if m.get("type") == "output" and m["output"]["type"] == "error"]
    assert not errors, errors
    return text_of(messages, cell)


ATTEMPT = """
import os, signal
tried = {}
for path in PATHS:
    try:
        open(path, "rb").read(1)
        tried[path] = "read"
    except OSError as exc:
        tried[path] = type(exc).__name__
cmdlines = []
for pid in filter(str.isdigit, os.listdir("/proc")):
    try:
        cmdlines.append(open(f"/proc/{pid}/cmdline").read())
    except OSError:
        pass
try:
    os.kill(BACKEND, signal.SIGKILL)
    killed = "killed"
except OSError as exc:
    killed = type(exc).__name__
try:
    open(PLUGIN, "w").write("import os; os._exit(1)")
    plugin = "written"
except OSError as exc:
    plugin = type(exc).__name__
print(json.dumps({"tried": tried, "cmdlines": cmdlines, "killed": killed, "plugin": plugin}))
"""


def test_an_ordinary_users_cell_reaches_nothing_of_codenode(
    frontend: LiveFrontend, live_backend: Any
) -> None:
    mallory = frontend.user()
    paths = [
        str(frontend.home / "secret.key"),
        str(frontend.home / "codenode.db"),
        str(live_backend.plugins.parent / "backend.log"),
        str(live_backend.plugins / "python.py"),
    ]
    plugin = str(live_backend.plugins / "evil.py")
    code = (
        f"import json\nPATHS = {paths!r}\nBACKEND = {live_backend.process.pid}\n"
        f"PLUGIN = {plugin!r}\n" + ATTEMPT
    )
    found = json.loads(cell_says(mallory, code))
    assert set(found["tried"].values()) <= {"FileNotFoundError", "PermissionError"}, found
    assert not any("--token-file" in line or ("codenode" in line and "backend" in line)
                   for line in found["cmdlines"]), found  # fmt: skip
    assert found["killed"] in ("ProcessLookupError", "PermissionError")
    assert found["plugin"] in ("FileNotFoundError", "PermissionError", "OSError")
    assert not (live_backend.plugins / "evil.py").exists()
    # The backend lives, and serves everyone.
    assert live_backend.process.poll() is None
    assert cell_says(frontend.user(), "print(6 * 7)") == "42\n"


def test_a_users_files_follow_her_notebooks_and_no_one_else(frontend: LiveFrontend) -> None:
    ada, bob = frontend.user(), frontend.user()
    cell_says(ada, "open('notes.txt', 'w').write('ada was here')")
    assert cell_says(ada, "print(open('notes.txt').read())") == "ada was here\n"
    assert cell_says(bob, "import os; print(os.listdir('.'))") == "[]\n"
