"""Notebooks in and out of files: Jupyter's .ipynb, the "percent" .py format, and HTML.

The converters (``ipynb``, ``percent``, ``html``) are pure: they turn a notebook snapshot
(``codenode.frontend.notebooks.snapshot``: title, engine type, cells) into file text, and file
text back into an ``Imported`` notebook, raising ``ValueError`` with a message for the user
when a file cannot be read. ``files`` ties them to the database. See docs/import-export.md.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from codenode.frontend.db import CELL_KINDS

Snapshot = dict[str, Any]
CellData = dict[str, Any]

HEADING_LEVELS = {"title": 1, "subtitle": 2, "section": 3, "subsection": 4}
"""Heading kinds and the Markdown level they are written as."""

DEFAULT_ENGINE_TYPE = "python"
TITLE_LENGTH = 500
"""As long as the database keeps a title; a longer one is cut."""

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)")
_LEADING_HASHES = re.compile(r"#{1,6}(?: |$)")


@dataclass
class Imported:
    """A notebook read from a file, ready for ``notebooks.create``."""

    title: str
    engine_type: str
    cells: list[CellData] = field(default_factory=list)


def heading_markdown(kind: str, source: str) -> str:
    """A heading cell as Markdown: ``# text`` for a title .. ``#### text`` for a subsection."""
    return "#" * HEADING_LEVELS[kind] + " " + source


def heading_source(kind: str, markdown: str) -> str:
    """The source of a heading cell written as *markdown* (the inverse of
    ``heading_markdown``; leading hashes of another depth are dropped too)."""
    prefix = "#" * HEADING_LEVELS[kind] + " "
    if markdown.startswith(prefix):
        return markdown[len(prefix) :]
    match = _LEADING_HASHES.match(markdown)
    return markdown[match.end() :] if match else markdown


def strip_ansi(text: str) -> str:
    """*text* without terminal colour and cursor escapes (Jupyter tracebacks are coloured)."""
    return _ANSI.sub("", text)


def title_from_name(name: str) -> str:
    """A title for a file called *name* that says nothing of its own title."""
    stem = name.replace("\\", "/").rsplit("/", 1)[-1]
    if "." in stem.lstrip("."):
        stem = stem.rsplit(".", 1)[0]
    return stem.strip() or "Untitled"


def check_engine_type(engine_type: str) -> str:
    """*engine_type*, if the database can keep it as one; ValueError otherwise."""
    if not engine_type.strip() or len(engine_type) > 200 or not engine_type.isprintable():
        raise ValueError("an engine type is a name of 1 to 200 printable characters")
    return engine_type


def checked(imported: Imported) -> Imported:
    """*imported*, if the database can store it; ValueError otherwise.

    PostgreSQL refuses NUL characters in text and lone surrogates are no UTF-8: both would
    fail deep in a write, so they are refused here with a message.
    """
    for cell in imported.cells:
        if cell["kind"] not in CELL_KINDS:
            raise ValueError(f"unknown cell kind {cell['kind']!r}")
    for text in _strings([imported.title, imported.engine_type, imported.cells]):
        if "\x00" in text:
            raise ValueError("the file contains NUL characters, which a notebook cannot hold")
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError("the file contains characters that are not valid Unicode") from None
    check_engine_type(imported.engine_type)
    imported.title = imported.title[:TITLE_LENGTH]
    return imported


def _strings(value: Any) -> Iterator[str]:
    """Every string in *value* (JSON-like data), keys included."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(key)
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)
