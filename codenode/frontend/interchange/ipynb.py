"""Jupyter notebooks (.ipynb, nbformat 4): a snapshot to a notebook and a notebook back.

Outputs travel both ways: a stream is a stream; a rich output (``display``) is
``display_data``, and an ``execute_result`` read from a file becomes a ``display`` with its
data; an error keeps its name, value and traceback (one line per list item in the file,
terminal colours dropped on the way in). Heading cells are Markdown cells ``# text`` ..
``#### text`` marked with ``metadata.codenode.kind``, so they come back as headings; the
notebook's title and engine type ride in ``metadata.codenode``.
"""

from __future__ import annotations

import json
import re
import uuid
import warnings
from collections.abc import Callable
from typing import Any

import nbformat

from codenode.frontend.interchange import (
    DEFAULT_ENGINE_TYPE,
    HEADING_LEVELS,
    CellData,
    Imported,
    Snapshot,
    checked,
    heading_markdown,
    heading_source,
    strip_ansi,
    title_from_name,
)

KERNELS = {
    "python": {"name": "python3", "display_name": "Python 3", "language": "python"},
    "sage": {"name": "sagemath", "display_name": "SageMath", "language": "sage"},
}
"""The Jupyter kernel written for an engine type, so that Jupyter opens the file with it."""

ENGINE_TYPES = {"python3": "python", "python": "python", "sagemath": "sage"}
"""The engine type for a Jupyter kernel name, for files that Codenode did not write."""

# nbformat's functions carry no type hints: typed names for the three used here.
_from_dict: Callable[[dict[str, Any]], nbformat.NotebookNode] = nbformat.from_dict
_writes: Callable[[nbformat.NotebookNode], str] = nbformat.writes
_reads: Callable[..., nbformat.NotebookNode] = nbformat.reads

_CELL_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_JSON_MIME = re.compile(r"application/(.*\+)?json")
_MESSAGE_LENGTH = 300


# --- export -----------------------------------------------------------------------------------


def to_notebook(snapshot: Snapshot) -> nbformat.NotebookNode:
    """The snapshot as an nbformat 4 notebook, validated."""
    engine_type = snapshot["engine_type"]
    metadata: dict[str, Any] = {
        "codenode": {"title": snapshot["title"], "engine_type": engine_type},
        "kernelspec": KERNELS.get(engine_type, {"name": engine_type, "display_name": engine_type}),
    }
    language = metadata["kernelspec"].get("language")
    if language:
        metadata["language_info"] = {"name": language}
    seen: set[str] = set()
    notebook = _from_dict(
        {
            "nbformat": 4,
            "nbformat_minor": 5,
            "metadata": metadata,
            "cells": [_cell_out(cell, seen) for cell in snapshot["cells"]],
        }
    )
    nbformat.validate(notebook)
    return notebook


def dumps(snapshot: Snapshot) -> str:
    """The snapshot as .ipynb text."""
    return _writes(to_notebook(snapshot)) + "\n"


def _cell_out(cell: CellData, seen: set[str]) -> dict[str, Any]:
    kind = cell["kind"]
    out: dict[str, Any] = {"id": _cell_id(cell.get("id"), seen), "metadata": {}}
    if kind == "code":
        count = cell.get("execution_count")
        out.update(
            cell_type="code",
            source=cell["source"],
            execution_count=count if isinstance(count, int) and count >= 0 else None,
            outputs=[o for o in map(_output_out, cell.get("outputs") or []) if o is not None],
        )
    elif kind in HEADING_LEVELS:
        out.update(
            cell_type="markdown",
            source=heading_markdown(kind, cell["source"]),
            metadata={"codenode": {"kind": kind}},
        )
    else:
        # Markdown; outputs of non-code cells have no place in a Jupyter notebook.
        out.update(cell_type="markdown", source=cell["source"])
    return out


def _cell_id(given: Any, seen: set[str]) -> str:
    """The cell's own id where Jupyter accepts it, else a fresh one; never a duplicate."""
    cell_id = given if isinstance(given, str) and _CELL_ID.fullmatch(given) else ""
    if not cell_id or cell_id in seen:
        cell_id = uuid.uuid4().hex
    seen.add(cell_id)
    return cell_id


def _output_out(output: dict[str, Any]) -> dict[str, Any] | None:
    kind = output.get("type")
    if kind == "stream":
        return {
            "output_type": "stream",
            "name": str(output.get("name", "stdout")),
            "text": str(output.get("text", "")),
        }
    if kind == "display":
        data = {
            str(mime): _mime_value(str(mime), value)
            for mime, value in (output.get("data") or {}).items()
        }
        return {"output_type": "display_data", "data": data, "metadata": {}}
    if kind == "error":
        return {
            "output_type": "error",
            "ename": str(output.get("ename", "")),
            "evalue": str(output.get("evalue", "")),
            "traceback": str(output.get("traceback", "")).split("\n"),
        }
    return None


def _mime_value(mime: str, value: Any) -> Any:
    # Only JSON types may hold other values than text.
    return value if isinstance(value, str) or _JSON_MIME.fullmatch(mime) else json.dumps(value)


# --- import -----------------------------------------------------------------------------------


def read(text: str, name: str, default_engine_type: str = DEFAULT_ENGINE_TYPE) -> Imported:
    """The notebook in .ipynb *text* (from a file called *name*); ValueError saying what is
    wrong with a file that is not a valid nbformat 3 or 4 notebook."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not a Jupyter notebook: the file is not JSON ({exc})") from None
    if not isinstance(data, dict) or "nbformat" not in data:
        raise ValueError("not a Jupyter notebook: no nbformat field at the top")
    version = data["nbformat"]
    if version not in (3, 4) or isinstance(version, bool):
        raise ValueError(f"nbformat {version!r} is not supported: only nbformat 4 (and 3)")
    try:
        with warnings.catch_warnings():
            # nbformat warns about files it mends (missing cell ids, say); they are fine.
            warnings.simplefilter("ignore")
            notebook = _reads(text, as_version=4)
            nbformat.validate(notebook)
    except Exception as exc:  # nbformat raises many kinds for malformed files
        raise ValueError(f"not a valid Jupyter notebook: {_short(exc)}") from None
    metadata = notebook.get("metadata") or {}
    own = _own(metadata)
    title = own.get("title")
    if not isinstance(title, str):
        title = title_from_name(name)
    engine_type = own.get("engine_type")
    if not isinstance(engine_type, str) or not engine_type:
        kernel = (metadata.get("kernelspec") or {}).get("name")
        engine_type = ENGINE_TYPES.get(str(kernel), default_engine_type)
    cells = [_cell_in(cell) for cell in notebook.cells]
    return checked(Imported(title=title, engine_type=engine_type, cells=cells))


def _own(metadata: dict[str, Any]) -> dict[str, Any]:
    """Codenode's part of a notebook's or a cell's metadata (anything may be in a file)."""
    own = metadata.get("codenode")
    return own if isinstance(own, dict) else {}


def _short(exc: Exception) -> str:
    """A validation error's own message, without the schema and document it quotes."""
    message = str(getattr(exc, "message", "") or exc).strip().splitlines()
    first = message[0] if message else type(exc).__name__
    return first if len(first) <= _MESSAGE_LENGTH else first[: _MESSAGE_LENGTH - 3] + "..."


def _cell_in(cell: nbformat.NotebookNode) -> CellData:
    source = cell.get("source", "")
    if cell.cell_type == "code":
        count = cell.get("execution_count")
        return {
            "kind": "code",
            "source": source,
            "outputs": _outputs_in(cell.get("outputs", [])),
            "execution_count": count if isinstance(count, int) else None,
        }
    kind = _own(cell.get("metadata") or {}).get("kind")
    if cell.cell_type == "markdown" and isinstance(kind, str) and kind in HEADING_LEVELS:
        return {"kind": kind, "source": heading_source(kind, source)}
    # Markdown, and raw cells too: their text is kept, shown as Markdown.
    return {"kind": "markdown", "source": source}


def _outputs_in(outputs: list[Any]) -> list[dict[str, Any]]:
    stored: list[dict[str, Any]] = []
    for output in outputs:
        kind = output.get("output_type")
        if kind == "stream":
            last = stored[-1] if stored else None
            if last and last["type"] == "stream" and last["name"] == output.name:
                last["text"] += output.text  # stored streams are merged, as the bus merges
            else:
                stored.append({"type": "stream", "name": output.name, "text": output.text})
        elif kind in ("display_data", "execute_result"):
            data = {
                mime: value if isinstance(value, str) else json.dumps(value)
                for mime, value in output.get("data", {}).items()
            }
            stored.append({"type": "display", "data": data})
        elif kind == "error":
            stored.append(
                {
                    "type": "error",
                    "ename": strip_ansi(output.ename),
                    "evalue": strip_ansi(output.evalue),
                    "traceback": strip_ansi("\n".join(output.traceback)),
                }
            )
    return stored
