"""Notebooks as Python files in the "percent" format: cells start with ``# %%`` lines.

The format is the one editors (VS Code, Spyder, PyCharm) and jupytext read::

    # codenode: {"title": "Orbits", "engine_type": "python"}

    # %% [markdown] codenode="title"
    # # Orbits

    # %% [markdown]
    # Kepler's *third* law.

    # %%
    period = 2 * pi * sqrt(a**3 / mu)

- The first line carries the notebook's title and engine type as JSON.
- A code cell is its source after a ``# %%`` line; a Markdown cell is ``# %% [markdown]``
  with each line of its source commented (``# ``; an empty line is ``#``, a line starting
  with ``%%`` is ``#%%...`` so that it does not read as a marker).
- A heading cell is a Markdown cell ``# # text`` .. ``# #### text`` whose marker names its
  kind: ``# %% [markdown] codenode="section"`` (jupytext reads this as cell metadata).
- Cells are separated by one empty line, which is not part of either cell.

Kind and source come back exactly, except that a code cell must not hold a line starting
with ``# %%`` (it would start a new cell). Outputs are not kept: a .py file has no place for
them. A .py file without any ``# %%`` line is one code cell.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from codenode.frontend.interchange import (
    DEFAULT_ENGINE_TYPE,
    HEADING_LEVELS,
    CellData,
    Imported,
    Snapshot,
    checked,
    heading_markdown,
    heading_source,
    title_from_name,
)

HEADER = "# codenode: "
MARKER = re.compile(r"^# %%(?P<rest>.*)$", re.MULTILINE)
_CELL_TYPE = re.compile(r"\[(?P<type>[A-Za-z]+)\]")
_KIND = re.compile(r"""\bcodenode=["']?(?P<kind>[a-z]+)["']?""")


# --- export -----------------------------------------------------------------------------------


def dumps(snapshot: Snapshot) -> str:
    """The snapshot as a percent-format .py file (outputs left out)."""
    header = HEADER + json.dumps(
        {"title": snapshot["title"], "engine_type": snapshot["engine_type"]}, ensure_ascii=False
    )
    blocks = [header + "\n"] + [_block(cell) for cell in snapshot["cells"]]
    return "\n".join(blocks)


def _block(cell: CellData) -> str:
    kind, source = cell["kind"], cell["source"]
    if kind == "code":
        return f"# %%\n{source}\n"
    if kind in HEADING_LEVELS:
        return f'# %% [markdown] codenode="{kind}"\n{_commented(heading_markdown(kind, source))}\n'
    return f"# %% [markdown]\n{_commented(source)}\n"


def _commented(text: str) -> str:
    return "\n".join(_comment(line) for line in text.split("\n"))


def _comment(line: str) -> str:
    if not line:
        return "#"
    # "# %%" would start a cell: such a line goes without the space.
    return "#" + line if line.startswith("%%") else "# " + line


# --- import -----------------------------------------------------------------------------------


def read(text: str, name: str, default_engine_type: str = DEFAULT_ENGINE_TYPE) -> Imported:
    """The notebook in percent-format *text* (from a file called *name*)."""
    if text.count("\r\n") == text.count("\n"):
        text = text.replace("\r\n", "\n")  # written on Windows
    own, text = _header(text)
    title = own.get("title")
    engine_type = own.get("engine_type")
    cells = list(_cells(text))
    return checked(
        Imported(
            title=title if isinstance(title, str) else title_from_name(name),
            engine_type=engine_type
            if isinstance(engine_type, str) and engine_type
            else default_engine_type,
            cells=cells,
        )
    )


def _header(text: str) -> tuple[dict[str, Any], str]:
    """The header's fields (none if the first line is not a valid header) and the rest."""
    first, _, rest = text.partition("\n")
    if not first.startswith(HEADER):
        return {}, text
    try:
        fields = json.loads(first[len(HEADER) :])
    except json.JSONDecodeError:
        return {}, text
    return (fields, rest) if isinstance(fields, dict) else ({}, text)


def _cells(text: str) -> Iterator[CellData]:
    markers = list(MARKER.finditer(text))
    if not markers:
        if text.strip():
            yield {"kind": "code", "source": text.removesuffix("\n")}
        return
    before = text[: markers[0].start()]
    if before.strip():
        yield {"kind": "code", "source": _chunk(before, last=False)}
    for index, marker in enumerate(markers):
        last = index == len(markers) - 1
        end = len(text) if last else markers[index + 1].start()
        body = _chunk(text[marker.end() + 1 : end], last)
        yield _cell(marker.group("rest"), body)


def _chunk(text: str, last: bool) -> str:
    """A cell's source from the text between its marker and the next: without the end of its
    last line and, unless it is the last cell, without the empty line that separates cells."""
    text = text.removesuffix("\n")
    return text if last else text.removesuffix("\n")


def _cell(rest: str, body: str) -> CellData:
    cell_type = _CELL_TYPE.search(rest)
    if cell_type is None or cell_type.group("type").lower() not in ("markdown", "md", "raw"):
        return {"kind": "code", "source": body}
    markdown = "\n".join(_uncommented(line) for line in body.split("\n"))
    kind = _KIND.search(rest[cell_type.end() :])
    if kind is not None and kind.group("kind") in HEADING_LEVELS:
        return {"kind": kind.group("kind"), "source": heading_source(kind.group("kind"), markdown)}
    return {"kind": "markdown", "source": markdown}


def _uncommented(line: str) -> str:
    if line.startswith("# "):
        return line[2:]
    return line[1:] if line.startswith("#") else line
