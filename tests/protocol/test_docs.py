"""The documentation's message tables say what the definitions in codenode/protocol say."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from codenode.frontend.db import CELL_KINDS
from codenode.protocol import backend, browser, engine, schema
from codenode.protocol.schema import Checker

DOCS = Path(__file__).resolve().parents[2] / "docs"


def rows(document: str, header: str) -> list[list[str]]:
    """The cells of the table under a header row that starts with ``| header |``."""
    lines = (DOCS / document).read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"| {header} |"))
    found = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        found.append([cell.strip() for cell in line.strip().strip("|").split("|")])
    return found


def names(cell: str) -> list[str]:
    """The `names` listed in a table cell, in order, what is in parentheses aside."""
    listed = re.findall(r"`([^`]+)`", re.sub(r"\([^)]*\)", "", cell))
    return [name.rstrip("?") for name in listed]


def fields(checker: Checker, tag: str, *without: str) -> set[str]:
    definition = dict(zip(checker.tags, checker.definitions, strict=True))[tag]
    return set(definition.__fields__) - {checker.tag, *without}  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("header", "checker", "without"),
    [("op", engine.REQUESTS, ("id",)), ("type", engine.MESSAGES, ())],
)
def test_the_engine_wire_tables(header: str, checker: Checker, without: tuple[str, ...]) -> None:
    table = rows("engine-protocol.md", header)
    assert [names(row[0])[0] for row in table] == list(checker.tags)
    for row in table:
        assert set(names(row[1])) == fields(checker, names(row[0])[0], *without), row


def test_the_notebook_bus_tables() -> None:
    sent: dict[str, set[str]] = {}
    for row in rows("bus.md", "op"):
        for op in names(row[0]):
            sent[op] = set(names(row[1]))
    assert list(sent) == list(browser.REQUESTS.tags)
    for op, listed in sent.items():
        assert listed == fields(browser.REQUESTS, op, "id"), op
    received = {"notebook"}  # the first message, shown whole above the table
    for row in rows("bus.md", "message"):
        received |= set(re.findall(r'\{"type": "(\w+)"', row[0]))
    received -= {"stream", "display"}  # the outputs an output message holds
    assert received == set(browser.MESSAGES.tags)


def test_every_message_says_who_sends_it_and_when() -> None:
    checkers: list[Any] = [engine.REQUESTS, engine.MESSAGES, backend.REQUESTS]
    checkers += [backend.MESSAGES, browser.REQUESTS]
    for checker in checkers:
        for definition in checker.definitions:
            assert (definition.__doc__ or "").strip(), definition


def test_cell_kinds_are_the_database_s() -> None:
    assert schema.literal_values(browser.UpdateCell, "kind") == CELL_KINDS
