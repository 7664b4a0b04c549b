"""Import and export through a real frontend: REST routes and the `codenode export` /
`codenode import` commands, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbformat import v4

from tests.frontend.live import Client, LiveFrontend
from tests.frontend.test_formats import DATA, png

SCRIPT = "<script>alert('x')</script>"


def jupyter_notebook() -> nbformat.NotebookNode:
    """A notebook as Jupyter writes it, with every kind of output, and Codenode headings."""
    notebook = v4.new_notebook()
    notebook.metadata.kernelspec = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    notebook.cells = [
        v4.new_markdown_cell("# Orbits", metadata={"codenode": {"kind": "title"}}),
        v4.new_markdown_cell("### Data", metadata={"codenode": {"kind": "section"}}),
        v4.new_markdown_cell("Kepler's *third* law, with `code`."),
        v4.new_code_cell(
            "print('a')\nprint('b', file=sys.stderr)",
            execution_count=1,
            outputs=[
                v4.new_output("stream", name="stdout", text="a\n"),
                v4.new_output("stream", name="stderr", text="b\n"),
            ],
        ),
        v4.new_code_cell(
            "2 + 2",
            execution_count=2,
            outputs=[v4.new_output("execute_result", {"text/plain": "4"}, execution_count=2)],
        ),
        v4.new_code_cell(
            "plot()",
            execution_count=3,
            outputs=[
                v4.new_output(
                    "display_data", {"image/png": png(), "text/plain": "<Figure size 2x2>"}
                )
            ],
        ),
        v4.new_code_cell(
            "1/0",
            execution_count=4,
            outputs=[
                v4.new_output(
                    "error",
                    ename="ZeroDivisionError",
                    evalue="division by zero",
                    traceback=[
                        "\x1b[0;31m----\x1b[0m",
                        "\x1b[0;31mZeroDivisionError\x1b[0m: division by zero",
                    ],
                )
            ],
        ),
        v4.new_code_cell(f"print({SCRIPT!r})", outputs=[]),
    ]
    nbformat.validate(notebook)
    return notebook


def upload(
    client: Client, name: str, content: bytes | str, status: int = 201, **fields: str
) -> Any:
    """POST a file to /api/notebooks/import; the JSON answer, which must have *status*."""
    data = content.encode() if isinstance(content, str) else content
    response = client.post("/api/notebooks/import", files={"file": (name, data)}, data=fields)
    assert response.status_code == status, response.text
    return response.json()


def export(client: Client, notebook_id: str, format: str, status: int = 200) -> Any:
    response = client.get(f"/api/notebooks/{notebook_id}/export", params={"format": format})
    assert response.status_code == status, response.text
    return response


# --- .ipynb -----------------------------------------------------------------------------------


def test_ipynb_round_trip_keeps_kinds_sources_and_outputs(frontend: LiveFrontend) -> None:
    owner = frontend.user()
    original = jupyter_notebook()
    made = upload(owner, "Kepler laws.ipynb", nbformat.writes(original))
    assert made["title"] == "Kepler laws"
    assert made["engine_type"] == "python"
    assert made["role"] == "owner"
    kinds = [cell["kind"] for cell in made["cells"]]
    assert kinds == ["title", "section", "markdown", "code", "code", "code", "code", "code"]
    assert made["cells"][0]["source"] == "Orbits"
    assert made["cells"][4]["outputs"] == [{"type": "display", "data": {"text/plain": "4"}}]
    error = made["cells"][6]["outputs"][0]
    assert error["traceback"] == "----\nZeroDivisionError: division by zero"

    # The stored notebook is what the API gives readers.
    stored = owner.ok("GET", f"/api/notebooks/{made['id']}")
    assert stored["cells"] == made["cells"]
    revisions = owner.ok("GET", f"/api/notebooks/{made['id']}/revisions")["revisions"]
    assert [r["summary"] for r in revisions] == ["imported from Kepler laws.ipynb"]

    response = export(owner, made["id"], "ipynb")
    assert response.headers["content-type"] == "application/x-ipynb+json"
    assert response.headers["content-disposition"].startswith(
        'attachment; filename="Kepler laws.ipynb"'
    )
    exported = nbformat.reads(response.text, as_version=4)
    nbformat.validate(exported)
    assert exported.metadata.codenode == {"title": "Kepler laws", "engine_type": "python"}
    assert [c.cell_type for c in exported.cells] == [c.cell_type for c in original.cells]
    assert [c.source for c in exported.cells] == [c.source for c in original.cells]
    assert [c.metadata.get("codenode") for c in exported.cells] == [
        c.metadata.get("codenode") for c in original.cells
    ]
    code = [(c, e) for c, e in zip(original.cells, exported.cells, strict=True) if "outputs" in c]
    for before, after in code:
        assert after.execution_count == before.execution_count
        assert [_comparable(o) for o in after.outputs] == [_comparable(o) for o in before.outputs]


def _comparable(output: nbformat.NotebookNode) -> dict[str, Any]:
    """An output as the round trip keeps it: results come back as display data, without
    colours in tracebacks."""
    if output.output_type in ("execute_result", "display_data"):
        return {"output_type": "display_data", "data": dict(output.data)}
    if output.output_type == "error":
        traceback = [
            line.replace("\x1b[0;31m", "").replace("\x1b[0m", "") for line in output.traceback
        ]
        return {"output_type": "error", "ename": output.ename, "traceback": traceback}
    return dict(output)


def test_imports_a_notebook_written_by_jupyter_and_an_old_one(frontend: LiveFrontend) -> None:
    owner = frontend.user()
    made = upload(owner, "jupyter.ipynb", (DATA / "jupyter.ipynb").read_bytes())
    assert len(made["cells"]) == 6
    assert made["cells"][3]["outputs"][0]["data"]["image/png"].startswith("iVBOR")
    legacy = upload(owner, "legacy-v3.ipynb", (DATA / "legacy-v3.ipynb").read_bytes())
    assert [c["source"] for c in legacy["cells"]] == ["## Old heading", "print(1)"]


def test_import_takes_engine_type_and_location(frontend: LiveFrontend) -> None:
    owner = frontend.user()
    made = upload(owner, "x.py", "1 + 1\n", engine_type="sage", location="Physics")
    assert (made["engine_type"], made["location"]) == ("sage", "Physics")
    assert made["cells"] == [{**made["cells"][0], "kind": "code", "source": "1 + 1", "outputs": []}]
    upload(owner, "x.py", "1", status=400, location="a/b")
    upload(owner, "x.py", "1", status=400, engine_type="e" * 201)


# --- .py and HTML -----------------------------------------------------------------------------


def test_percent_round_trip(frontend: LiveFrontend) -> None:
    owner = frontend.user()
    made = upload(owner, "orbits.ipynb", nbformat.writes(jupyter_notebook()))
    response = export(owner, made["id"], "py")
    assert response.headers["content-type"] == "text/x-python; charset=utf-8"
    assert 'filename="orbits.py"' in response.headers["content-disposition"]
    assert '# %% [markdown] codenode="title"\n# # Orbits\n' in response.text
    again = upload(owner, "orbits.py", response.text)
    assert again["title"] == "orbits"
    assert [(c["kind"], c["source"]) for c in again["cells"]] == [
        (c["kind"], c["source"]) for c in made["cells"]
    ]
    assert all(c["outputs"] == [] for c in again["cells"])  # .py keeps no outputs


def test_html_export_escapes_and_embeds(frontend: LiveFrontend) -> None:
    owner = frontend.user()
    notebook = jupyter_notebook()
    notebook.cells[-1].outputs = [v4.new_output("stream", name="stdout", text=SCRIPT)]
    notebook.cells.append(
        v4.new_code_cell(
            "show()",
            outputs=[v4.new_output("display_data", {"text/plain": SCRIPT})],
        )
    )
    # A file name cannot hold "/": the title will be what precedes it.
    made = upload(owner, "<script>alert('x').ipynb", nbformat.writes(notebook))
    response = export(owner, made["id"], "html")
    page = response.text
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert "script-src 'none'" in response.headers["content-security-policy"]
    assert "sandbox" in response.headers["content-security-policy"]
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "<script" not in page
    assert "<title>&lt;script&gt;alert(&#x27;x&#x27;)</title>" in page
    assert "print(&quot;&lt;script&gt;" in page  # a source
    assert '<pre class="stream stdout">&lt;script&gt;' in page  # a stream
    assert '<pre class="display">&lt;script&gt;' in page  # text/plain
    assert f'<img src="data:image/png;base64,{png()}"' in page
    assert '<h1 class="cell title">Orbits</h1>' in page
    disposition = response.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="script_alert_x.html"')


# --- broken files and limits ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("broken.ipynb", "{not json", "not JSON"),
        ("v5.ipynb", '{"nbformat": 5}', "nbformat 5 is not supported"),
        ("cells.ipynb", '{"nbformat": 4, "nbformat_minor": 5, "metadata": {}}', "not a valid"),
        ("notes.txt", "hello", ".ipynb or .py"),
        ("binary.py", b"\xff\xfe\x00\x01", "not UTF-8"),
        ("nul.py", "a\x00b", "NUL"),
        ("", "1", "field 'file'"),  # a browser's form with no file chosen
    ],
)
def test_broken_files_get_400_and_make_nothing(
    frontend: LiveFrontend, name: str, content: str | bytes, message: str
) -> None:
    owner = frontend.user()
    error = upload(owner, name, content, status=400)
    assert error["error"] == "bad_request"
    assert message in error["message"]
    assert owner.ok("GET", "/api/notebooks")["notebooks"] == []


def test_import_needs_a_file_a_user_and_the_csrf_token(frontend: LiveFrontend) -> None:
    owner = frontend.user()
    response = owner.post("/api/notebooks/import", data={"engine_type": "python"})
    assert response.status_code == 400
    assert "'file'" in response.json()["message"]
    response = owner.post("/api/notebooks/import", json={"file": "x"})
    assert response.status_code == 400
    response = owner.post("/api/notebooks/import", files={"engine_type": ("x.py", b"1")})
    assert response.status_code == 400
    anonymous = frontend.client()
    response = anonymous.post("/api/notebooks/import", files={"file": ("x.py", b"1")})
    assert response.status_code == 401
    response = owner.http.post("/api/notebooks/import", files={"file": ("x.py", b"1")})
    assert response.status_code == 403  # no X-CSRF-Token


def test_too_large_a_file_gets_413(frontend: LiveFrontend) -> None:
    owner = frontend.user()
    large = b"#" * (20 * 1024 * 1024 + 1)
    error = upload(owner, "large.py", large, status=413)
    assert error == {"error": "too_large", "message": "the file is larger than 20 MB"}
    assert owner.ok("GET", "/api/notebooks")["notebooks"] == []


def test_too_large_a_file_sent_without_a_length_gets_413(frontend: LiveFrontend) -> None:
    """A chunked upload says nothing of its size up front: the file itself is measured."""
    owner = frontend.user()
    boundary = "codenode-test-boundary"

    def body() -> Iterator[bytes]:
        yield (
            f"--{boundary}\r\n"
            'Content-Disposition: form-data; name="file"; filename="large.py"\r\n\r\n'
        ).encode()
        for _ in range(21):
            yield b"#" * (1024 * 1024)
        yield f"\r\n--{boundary}--\r\n".encode()

    response = owner.post(
        "/api/notebooks/import",
        content=body(),
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    assert response.status_code == 413, response.text
    assert owner.ok("GET", "/api/notebooks")["notebooks"] == []


def test_unknown_export_format_is_refused(frontend: LiveFrontend) -> None:
    owner = frontend.user()
    made = upload(owner, "x.py", "1")
    response = owner.get(f"/api/notebooks/{made['id']}/export", params={"format": "docx"})
    assert response.status_code == 422
    assert response.json()["error"] == "bad_request"


# --- who may export ---------------------------------------------------------------------------


def test_readers_may_export_others_may_not(frontend: LiveFrontend) -> None:
    owner = frontend.user()
    made = upload(owner, "secret.py", "password = 'hunter2'")
    path = f"/api/notebooks/{made['id']}/export"
    stranger = frontend.user()
    assert stranger.get(path).status_code == 404
    assert frontend.client().get(path).status_code == 401
    viewer = frontend.user()
    assert viewer.user is not None
    owner.ok(
        "PUT",
        f"/api/notebooks/{made['id']}/shares/{viewer.user['username']}",
        json={"role": "viewer"},
    )
    for format in ("ipynb", "py", "html"):
        assert "hunter2" in export(viewer, made["id"], format).text
    owner.ok("PUT", f"/api/notebooks/{made['id']}/public", json={"enabled": True})
    assert "hunter2" in export(frontend.client(), made["id"], "py").text


# --- the commands -----------------------------------------------------------------------------


def test_cli_export_and_import_round_trip(frontend: LiveFrontend, tmp_path: Path) -> None:
    owner = frontend.user()
    assert owner.user is not None
    made = upload(owner, "Orbits.ipynb", nbformat.writes(jupyter_notebook()))

    target = tmp_path / "out.ipynb"
    done = frontend.cli("export", made["id"], "-o", str(target))
    assert done.returncode == 0, done.stderr
    nbformat.validate(nbformat.read(target, as_version=4))

    stdout = frontend.cli("export", made["id"])  # .ipynb on stdout
    assert json.loads(stdout.stdout)["metadata"]["codenode"]["title"] == "Orbits"
    as_py = frontend.cli("export", made["id"], "--format", "py")
    assert as_py.stdout.startswith("# codenode: ")
    page = tmp_path / "page.html"
    assert frontend.cli("export", made["id"], "-o", str(page)).returncode == 0
    assert page.read_text().startswith("<!DOCTYPE html>")

    done = frontend.cli("import", str(target), "--owner", owner.user["username"])
    assert done.returncode == 0, done.stderr
    new_id = done.stdout.strip()
    again = owner.ok("GET", f"/api/notebooks/{new_id}")
    assert again["title"] == "Orbits"
    assert [(c["kind"], c["source"], c["outputs"]) for c in again["cells"]] == [
        (c["kind"], c["source"], c["outputs"]) for c in made["cells"]
    ]
    revisions = owner.ok("GET", f"/api/notebooks/{new_id}/revisions")["revisions"]
    assert revisions[0]["summary"] == "imported from out.ipynb"

    done = frontend.cli("import", str(page.with_suffix(".py")), "--owner", owner.user["username"])
    assert done.returncode == 1


def test_cli_errors_are_one_clear_line(frontend: LiveFrontend, tmp_path: Path) -> None:
    owner_name = frontend.add_user()
    broken = tmp_path / "broken.ipynb"
    broken.write_text("{oops")
    cases = [
        (("export", "no-such-id"), "no notebook 'no-such-id'"),
        (("import", str(tmp_path / "missing.py"), "--owner", owner_name), "No such file"),
        (("import", str(broken), "--owner", owner_name), "not JSON"),
        (("import", str(broken), "--owner", "nobody-here"), "no user 'nobody-here'"),
    ]
    for args, message in cases:
        done = frontend.cli(*args)
        assert done.returncode == 1, (args, done.stdout, done.stderr)
        assert message in done.stderr, (args, done.stderr)
        assert "Traceback" not in done.stderr
