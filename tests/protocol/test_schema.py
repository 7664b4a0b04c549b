"""Checks generated from definitions: what they accept, and how they say what is wrong."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from codenode.protocol import schema
from codenode.protocol.schema import Checker

if TYPE_CHECKING:
    from typing import Literal, NotRequired, TypeAlias, TypedDict
else:
    from codenode.protocol.schema import TypedDict

ROOT = Path(__file__).resolve().parents[2]
Shade: TypeAlias = 'Literal["light", "dark"]'


class Point(TypedDict):
    x: int
    y: float


class Draw(TypedDict):
    """A test definition touching every kind a Checker knows."""

    op: Literal["draw"]
    id: int | str
    points: list[Point]
    labels: dict[str, str | None]
    shade: NotRequired[Shade | None]
    closed: NotRequired[bool]
    extra: NotRequired[Any]


class Erase(TypedDict):
    op: Literal["erase"]
    id: int | str
    count: NotRequired[Literal[1, 2]]


DRAW = {"op": "draw", "id": 1, "points": [{"x": 1, "y": 2}], "labels": {"a": None}}
OPEN = Checker((Draw, Erase), tag="op")
CLOSED = Checker((Draw, Erase), tag="op", closed=True)


@pytest.mark.parametrize(
    "message",
    [
        DRAW,
        {**DRAW, "id": "x", "shade": "dark", "closed": False, "extra": [1]},
        {**DRAW, "points": [{"x": 0, "y": 2.5}], "shade": None},
        {"op": "erase", "id": 7},
        {"op": "erase", "id": 7, "count": 2},
    ],
)
def test_what_the_definitions_allow_passes(message: dict[str, Any]) -> None:
    assert OPEN.problem(message) is None
    assert CLOSED.problem(message) is None


@pytest.mark.parametrize(
    ("message", "said"),
    [
        ([1], "a message must be a JSON object"),
        ({"op": "fly"}, "unknown op 'fly': expected one of draw, erase"),
        ({"op": ["draw"]}, "unknown op ['draw']: expected one of draw, erase"),
        ({"op": "erase"}, "erase needs 'id' (an integer or a string)"),
        ({"op": "erase", "id": True}, "erase: 'id' must be an integer or a string, not a boolean"),
        ({"op": "erase", "id": 1, "count": 3}, "erase: 'count' must be 1 or 2, not 3"),
        ({"op": "erase", "id": 1, "count": True}, "erase: 'count' must be 1 or 2, not True"),
        ({**DRAW, "points": {}}, "draw: 'points' must be a list, not an object"),
        ({**DRAW, "points": [{"x": 1}]}, "draw needs 'points[0].y' (a number)"),
        (
            {**DRAW, "points": [{"x": 1.5, "y": 1}]},
            "draw: 'points[0].x' must be an integer, not a number",
        ),
        (
            {**DRAW, "labels": {"a b": 3}},
            "draw: 'labels[\"a b\"]' must be a string or null, not an integer",
        ),
        ({**DRAW, "shade": "pink"}, "draw: 'shade' must be 'light' or 'dark', not 'pink'"),
        ({**DRAW, "shade": 5}, "draw: 'shade' must be 'light', 'dark' or null, not an integer"),
        ({**DRAW, "closed": "yes"}, "draw: 'closed' must be a boolean, not a string"),
    ],
)  # fmt: skip
def test_what_is_wrong_is_said(message: Any, said: str) -> None:
    assert OPEN.problem(message) == said


def test_a_closed_checker_refuses_fields_no_definition_names() -> None:
    message = {"op": "erase", "id": 1, "shell": "rm -rf /"}
    assert OPEN.problem(message) is None
    assert CLOSED.problem(message) == "erase: unexpected fields ['shell']"


def test_tags_and_literal_values_are_read_off_the_definitions() -> None:
    assert OPEN.tags == ("draw", "erase")
    assert schema.literal_values(Draw, "shade") == ("light", "dark")
    assert Draw(op="draw") == {"op": "draw"}  # a plain dict at run time, as a TypedDict


def test_a_definition_the_checker_cannot_read_is_refused_at_once() -> None:
    class Odd(TypedDict):
        op: Literal["odd"]
        when: set[int]

    with pytest.raises(TypeError, match=r"cannot check set\[...\]"):
        Checker((Odd,), tag="op").problem({})


def test_the_engine_wire_checks_on_python_3_9_without_typing() -> None:
    python39 = Path("/root/.pyenv/versions/3.9.18/bin/python")
    if not python39.exists():
        pytest.skip("no Python 3.9 here")
    code = (
        "import sys\n"
        "from codenode.protocol import engine\n"
        "print(engine.REQUESTS.problem({'id': 1, 'op': 'complete', 'text': 1}))\n"
        "print(engine.MESSAGES.problem({'id': None, 'type': 'stream', 'name': 'x', 'text': ''}))\n"
        "print('typing' in sys.modules)\n"
    )
    done = subprocess.run(
        [str(python39), "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=30
    )
    assert done.stdout.splitlines() == [
        "complete: 'text' must be a string, not an integer",
        "stream: 'name' must be 'stdout' or 'stderr', not 'x'",
        "False",
    ], done.stderr
