"""The converters of codenode.frontend.interchange, in-process: .ipynb, percent .py, HTML."""

from __future__ import annotations

import base64
import json
import re
import struct
import zlib
from pathlib import Path
from typing import Any

import nbformat
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from codenode.frontend.interchange import HEADING_LEVELS, files, html, ipynb, percent

DATA = Path(__file__).parent / "data"
KINDS = ("code", "markdown", *HEADING_LEVELS)


def png() -> str:
    """A real 2x2 PNG, base64-encoded as the engine sends images."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    rows = b"".join(b"\x00" + b"\x00\x80\xff" * 2 for _ in range(2))
    image = (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )
    return base64.b64encode(image).decode()


def rich_snapshot() -> dict[str, Any]:
    """A notebook with every kind of cell and every stored output shape."""
    return {
        "title": "Orbits <of> planets",
        "engine_type": "python",
        "cells": [
            {"id": "c0", "kind": "title", "source": "Orbits", "outputs": []},
            {"id": "c1", "kind": "subtitle", "source": "Kepler", "outputs": []},
            {"id": "c2", "kind": "section", "source": "Data", "outputs": []},
            {"id": "c3", "kind": "subsection", "source": "", "outputs": []},
            {"id": "c4", "kind": "markdown", "source": "Some *text*\n\n- a\n- b", "outputs": []},
            {
                "id": "c5",
                "kind": "code",
                "source": "print('hi')\nimport sys; print('oops', file=sys.stderr)\n2 + 2",
                "execution_count": 3,
                "outputs": [
                    {"type": "stream", "name": "stdout", "text": "hi\n"},
                    {"type": "stream", "name": "stderr", "text": "oops\n"},
                    {"type": "display", "data": {"text/plain": "4"}},
                ],
            },
            {
                "id": "c6",
                "kind": "code",
                "source": "plot()",
                "execution_count": 4,
                "outputs": [
                    {"type": "display", "data": {"image/png": png(), "text/plain": "<Figure>"}}
                ],
            },
            {
                "id": "c7",
                "kind": "code",
                "source": "1/0",
                "execution_count": 5,
                "outputs": [
                    {
                        "type": "error",
                        "ename": "ZeroDivisionError",
                        "evalue": "division by zero",
                        "traceback": "Traceback (most recent call last):\n"
                        '  File "<input>", line 1, in <module>\n'
                        "ZeroDivisionError: division by zero",
                    }
                ],
            },
            {"id": "c8", "kind": "code", "source": "", "execution_count": None, "outputs": []},
        ],
    }


def essentials(cells: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """What an export and import must keep of each cell."""
    return [
        (c["kind"], c["source"], c.get("outputs") or [], c.get("execution_count")) for c in cells
    ]


# --- .ipynb -----------------------------------------------------------------------------------


def test_ipynb_export_is_valid_nbformat_4_with_outputs_and_headings() -> None:
    text = ipynb.dumps(rich_snapshot())
    notebook = nbformat.reads(text, as_version=4)
    nbformat.validate(notebook)
    assert notebook.nbformat == 4
    assert notebook.metadata.kernelspec.name == "python3"
    assert notebook.metadata.codenode == {"title": "Orbits <of> planets", "engine_type": "python"}
    title, subtitle, section, subsection, markdown, code = notebook.cells[:6]
    assert (title.cell_type, title.source, title.metadata.codenode.kind) == (
        "markdown",
        "# Orbits",
        "title",
    )
    assert subtitle.source == "## Kepler"
    assert section.source == "### Data"
    assert subsection.source == "#### "
    assert "codenode" not in markdown.metadata
    assert code.execution_count == 3
    assert [o.output_type for o in code.outputs] == ["stream", "stream", "display_data"]
    error = notebook.cells[7].outputs[0]
    assert error.output_type == "error"
    assert error.traceback[-1] == "ZeroDivisionError: division by zero"
    assert notebook.cells[6].outputs[0].data["image/png"] == png()


def test_ipynb_round_trip_keeps_kinds_sources_and_outputs() -> None:
    snapshot = rich_snapshot()
    imported = ipynb.read(ipynb.dumps(snapshot), "whatever.ipynb")
    assert imported.title == "Orbits <of> planets"
    assert imported.engine_type == "python"
    assert essentials(imported.cells) == essentials(snapshot["cells"])


def test_ipynb_reads_a_notebook_written_by_jupyter() -> None:
    imported = ipynb.read((DATA / "jupyter.ipynb").read_text(), "Kepler laws.ipynb")
    assert imported.title == "Kepler laws"  # no title of its own: the file's name
    assert imported.engine_type == "python"  # from the kernelspec python3
    kinds = [cell["kind"] for cell in imported.cells]
    assert kinds == ["markdown", "code", "code", "code", "code", "markdown"]
    # A plain Markdown heading stays Markdown: only Codenode's own are heading cells.
    assert imported.cells[0]["source"] == "# Orbits\n\nKepler's *third* law."
    assert imported.cells[1]["outputs"] == [
        {"type": "stream", "name": "stdout", "text": "a = 1.0\nb = 2.0\n"}
    ]
    assert imported.cells[1]["execution_count"] == 1
    # execute_result becomes a display with its data.
    assert imported.cells[2]["outputs"] == [{"type": "display", "data": {"text/plain": "3.0"}}]
    image = imported.cells[3]["outputs"][0]["data"]["image/png"]
    assert base64.b64decode(image).startswith(b"\x89PNG")
    error = imported.cells[4]["outputs"][0]
    assert error["ename"] == "ZeroDivisionError"
    assert "\x1b" not in error["traceback"]
    assert error["traceback"].endswith("ZeroDivisionError: float division by zero")
    assert "----> 1 a/0" in error["traceback"]
    assert imported.cells[5]["source"] == "raw text"


def test_ipynb_upgrades_nbformat_3() -> None:
    imported = ipynb.read((DATA / "legacy-v3.ipynb").read_text(), "legacy.ipynb")
    assert [cell["kind"] for cell in imported.cells] == ["markdown", "code"]
    assert imported.cells[0]["source"] == "## Old heading"
    assert imported.cells[1]["source"] == "print(1)"
    assert imported.cells[1]["outputs"] == [
        {"type": "stream", "name": "stdout", "text": "1\n"},
        {"type": "display", "data": {"text/plain": "1"}},
    ]


def test_ipynb_engine_type_from_metadata_kernelspec_or_default() -> None:
    def with_metadata(metadata: dict[str, Any]) -> str:
        return json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": metadata, "cells": []})

    own = {"codenode": {"engine_type": "sage", "title": "T"}}
    assert ipynb.read(with_metadata(own), "x.ipynb").engine_type == "sage"
    kernel = {"kernelspec": {"name": "sagemath", "display_name": "SageMath"}}
    assert ipynb.read(with_metadata(kernel), "x.ipynb").engine_type == "sage"
    other = {"kernelspec": {"name": "ir", "display_name": "R"}}
    assert ipynb.read(with_metadata(other), "x.ipynb", "julia").engine_type == "julia"
    assert ipynb.read(with_metadata({"codenode": "junk"}), "x.ipynb").title == "x"


def test_ipynb_json_data_travels_as_text() -> None:
    notebook = {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {},
        "cells": [
            {
                "id": "a",
                "cell_type": "code",
                "metadata": {},
                "source": "",
                "execution_count": None,
                "outputs": [
                    {
                        "output_type": "display_data",
                        "metadata": {},
                        "data": {"application/json": {"a": [1, 2]}},
                    }
                ],
            }
        ],
    }
    imported = ipynb.read(json.dumps(notebook), "x.ipynb")
    data = imported.cells[0]["outputs"][0]["data"]
    assert json.loads(data["application/json"]) == {"a": [1, 2]}
    nbformat.validate(nbformat.reads(ipynb.dumps(_snapshot(imported.cells)), as_version=4))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "not JSON"),
        ("[1, 2]", "no nbformat field"),
        ('{"nbformat": 5, "cells": []}', "nbformat 5 is not supported"),
        ('{"nbformat": 2}', "nbformat 2 is not supported"),
        ('{"nbformat": 4, "nbformat_minor": 5, "metadata": {}}', "not a valid Jupyter notebook"),
        (
            '{"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": '
            '[{"cell_type": "code", "id": "x", "source": 3, "metadata": {}}]}',
            "not a valid Jupyter notebook",
        ),
        (
            '{"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": '
            '[{"cell_type": "markdown", "id": "x", "source": "a\\u0000b", "metadata": {}}]}',
            "NUL",
        ),
    ],
)
def test_ipynb_refuses_broken_files_with_a_message(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ipynb.read(text, "broken.ipynb")


def test_ipynb_validation_message_is_short() -> None:
    cells = [{"cell_type": "code", "id": "x", "source": ["a"] * 5000, "metadata": {}}]
    text = json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": cells})
    with pytest.raises(ValueError) as caught:
        ipynb.read(text, "broken.ipynb")
    assert len(str(caught.value)) < 400


def _snapshot(cells: list[dict[str, Any]], title: str = "T") -> dict[str, Any]:
    return {"title": title, "engine_type": "python", "cells": cells}


# --- percent .py ------------------------------------------------------------------------------


def test_percent_export_reads_as_documented() -> None:
    text = percent.dumps(rich_snapshot())
    assert text.startswith('# codenode: {"title": "Orbits <of> planets", "engine_type": "python"}')
    assert '# %% [markdown] codenode="title"\n# # Orbits\n' in text
    assert '# %% [markdown] codenode="subsection"\n# #### \n' in text
    assert "# %% [markdown]\n# Some *text*\n#\n# - a\n# - b\n" in text
    assert "# %%\nprint('hi')\n" in text
    assert "hi\n" not in text.replace("print('hi')", "")  # outputs are not kept


def test_percent_round_trip_of_a_rich_notebook() -> None:
    snapshot = rich_snapshot()
    imported = percent.read(percent.dumps(snapshot), "x.py")
    assert (imported.title, imported.engine_type) == ("Orbits <of> planets", "python")
    assert [(c["kind"], c["source"]) for c in imported.cells] == [
        (c["kind"], c["source"]) for c in snapshot["cells"]
    ]


def test_percent_plain_python_is_one_code_cell() -> None:
    source = "import math\n\n\ndef f(x):\n    return math.sqrt(x)\n"
    imported = percent.read(source, "tools.py", "python")
    assert imported.title == "tools"
    assert imported.cells == [{"kind": "code", "source": source.removesuffix("\n")}]
    assert percent.read("  \n", "empty.py").cells == []


def test_percent_reads_a_file_written_in_an_editor() -> None:
    imported = percent.read((DATA / "editor.py").read_text(), "editor.py", "python")
    assert [(c["kind"], c["source"]) for c in imported.cells] == [
        (
            "code",
            '"""A script written in an editor with cell markers (VS Code, Spyder, jupytext)."""\n'
            "import math",
        ),
        ("markdown", "# Circles\n\nThe area of a circle of radius *r*."),
        ("code", "def area(r):\n    return math.pi * r**2"),
        ("code", "area(2)"),
    ]


def test_percent_reads_windows_line_ends() -> None:
    text = percent.dumps(_snapshot([{"kind": "markdown", "source": "a\nb"}]))
    imported = percent.read(text.replace("\n", "\r\n"), "x.py")
    assert imported.cells == [{"kind": "markdown", "source": "a\nb"}]


# Lines made to look like what the format uses itself: hashes, markers, blanks.
_piece = st.one_of(
    st.sampled_from(["#", "# ", " ", "%%", "# %%", "[markdown]", 'codenode="title"', "\r", "\t"]),
    st.text(st.characters(codec="utf-8", exclude_characters="\n\r\x00"), max_size=6),
)
_line = st.lists(_piece, max_size=4).map("".join)
_source = st.lists(_line, max_size=5).map("\n".join)
_code = _source.filter(lambda s: not any(line.startswith("# %%") for line in s.split("\n")))


@st.composite
def _cells(draw: st.DrawFn) -> list[dict[str, Any]]:
    kinds = draw(st.lists(st.sampled_from(KINDS), max_size=8))
    return [{"kind": kind, "source": draw(_code if kind == "code" else _source)} for kind in kinds]


@settings(max_examples=300, deadline=None)
@given(cells=_cells(), title=_line)
def test_percent_round_trip_is_exact(cells: list[dict[str, Any]], title: str) -> None:
    """Any cells come back with their kind and source, whatever blank lines, hashes or
    %% they hold; only a code line starting with "# %%" cannot (it starts a cell)."""
    imported = percent.read(percent.dumps(_snapshot(cells, title)), "x.py")
    assert imported.title == title
    assert imported.cells == cells


@settings(max_examples=200, deadline=None)
@given(cells=_cells(), title=_line)
def test_ipynb_round_trip_is_exact(cells: list[dict[str, Any]], title: str) -> None:
    imported = ipynb.read(ipynb.dumps(_snapshot(cells, title)), "x.ipynb")
    assert imported.title == title
    assert [(c["kind"], c["source"]) for c in imported.cells] == [
        (c["kind"], c["source"]) for c in cells
    ]


# --- HTML -------------------------------------------------------------------------------------


def test_html_escapes_everything_and_runs_nothing() -> None:
    attack = "<script>alert(1)</script>"
    snapshot = _snapshot(
        [
            {"kind": "title", "source": attack},
            {"kind": "markdown", "source": f"{attack}\n\n[x](javascript:alert(1))"},
            {
                "kind": "code",
                "source": f"print('{attack}')",
                "outputs": [
                    {"type": "stream", "name": "stdout", "text": attack},
                    {"type": "display", "data": {"text/plain": attack}},
                    {"type": "error", "ename": "E", "evalue": attack, "traceback": ""},
                    {"type": "display", "data": {"text/html": f"<b>bold</b>{attack}"}},
                    {"type": "display", "data": {"image/svg+xml": f"<svg>{attack}</svg>"}},
                ],
            },
        ],
        title=attack,
    )
    page = html.dumps(snapshot)
    assert "<script" not in page
    assert 'href="javascript' not in page  # markdown-it refuses the link
    assert page.count("&lt;script&gt;") >= 6
    assert 'http-equiv="Content-Security-Policy"' in page
    assert "script-src 'none'" in page
    # HTML output only in a sandboxed frame, escaped into its srcdoc.
    assert '<iframe sandbox="" srcdoc="&lt;b&gt;bold&lt;/b&gt;&lt;script&gt;' in page
    # SVG as an image, never inline.
    assert "<svg" not in page
    assert re.search(r'<img src="data:image/svg\+xml;base64,[A-Za-z0-9+/=]+"', page)


def test_html_shows_headings_markdown_images_and_no_external_assets() -> None:
    page = html.dumps(rich_snapshot())
    assert "<title>Orbits &lt;of&gt; planets</title>" in page
    assert '<h1 class="cell title">Orbits</h1>' in page
    assert '<h4 class="cell subsection"></h4>' in page
    assert "<em>text</em>" in page and "<li>a</li>" in page
    assert f'<img src="data:image/png;base64,{png()}"' in page
    assert '<pre class="stream stderr">oops\n</pre>' in page
    assert "ZeroDivisionError: division by zero" in page
    assert "In [3]:" in page
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)


def test_html_skips_an_image_that_is_not_base64() -> None:
    data = {"image/png": 'x" onerror="alert(1)', "text/plain": "fallback"}
    page = html.dumps(
        _snapshot([{"kind": "code", "source": "", "outputs": [{"type": "display", "data": data}]}])
    )
    assert "onerror" not in page
    assert '<pre class="display">fallback</pre>' in page


# --- file names -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("title", "name"),
    [
        ("Orbits", "Orbits.ipynb"),
        ('../../etc/passwd"; x', "etc_passwd_ x.ipynb"),
        ("Ümlaut café", "Umlaut cafe.ipynb"),
        ("日本語", "notebook.ipynb"),
        ("", "notebook.ipynb"),
        ("a\r\nContent-Type: text/html", "a_Content-Type_ text_html.ipynb"),
    ],
)
def test_file_names_are_safe(title: str, name: str) -> None:
    assert files.filename(title, "ipynb") == name
    header = files.content_disposition(title, "ipynb")
    assert "\r" not in header and "\n" not in header
    assert header.startswith(f"attachment; filename=\"{name}\"; filename*=UTF-8''")


def test_format_from_a_file_name() -> None:
    assert files.format_of("out.HTML") == "html"
    assert files.format_of("out.htm") == "html"
    assert files.format_of("x.py") == "py"
    assert files.format_of("x.ipynb") == "ipynb"
    assert files.format_of("x.txt") is None
    assert files.format_of("noext") is None


def test_read_file_checks_suffix_encoding_and_engine_type() -> None:
    with pytest.raises(ValueError, match=r"\.ipynb or \.py"):
        files.read_file("notes.txt", b"")
    with pytest.raises(ValueError, match="UTF-8"):
        files.read_file("x.py", b"\xff\xfe\x00")
    with pytest.raises(ValueError, match="engine type"):
        files.read_file("x.py", b"1", "a" * 201)
    assert files.read_file("x.py", b"\xef\xbb\xbf1", "sage").engine_type == "sage"
    assert files.read_file("x.py", b"\xef\xbb\xbf1").cells == [{"kind": "code", "source": "1"}]
