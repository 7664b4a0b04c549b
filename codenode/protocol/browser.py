"""The notebook bus: a browser tab and the frontend, JSON over a WebSocket (docs/bus.md).

``WS /api/notebooks/{notebook_id}/bus`` with the session cookie. A tab's requests carry an
``op`` and may carry an integer ``id``, echoed in what they cause; everything the frontend
sends carries a ``type``. The first message on a new connection is ``Notebook``, with
``protocol``: ``VERSION``. A tab may say which version it speaks when it connects
(``?protocol=N``): a frontend that speaks another closes the bus at once with code 4400 and
a reason naming both. A tab that connects with ``?batches=1`` (the browser UI does) gets
every frame as a JSON array of messages (batches.py).

``REQUESTS`` checks what a tab sends (the frontend adds its size limits); ``MESSAGES``, what
the frontend sends (the tests check what it really sends with it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal, NotRequired, TypeAlias

from codenode.protocol import engine
from codenode.protocol.schema import Checker

if TYPE_CHECKING:
    from typing import TypedDict
else:
    from codenode.protocol.schema import TypedDict

VERSION = 1
"""1: the first versioned notebook bus."""

MAX_MESSAGE_BYTES = 16 * 1024 * 1024
"""The most a tab's message may hold: the frontend's server (uvicorn's WebSocket limit, its
default) closes a bus that sends more with code 1009. A tab reads messages of any size."""

CellKind: TypeAlias = 'Literal["code", "markdown", "title", "subtitle", "section", "subsection"]'
EngineState: TypeAlias = 'Literal["none", "starting", "idle", "busy", "dead"]'
TabId: TypeAlias = "int | None"
"""A request's id, chosen by the tab; echoed in the answer or event the request causes."""


# -- requests (tab -> frontend) -------------------------------------------------------------


class _Request(TypedDict):
    id: NotRequired[TabId]


class Evaluate(_Request):
    """Store the source (recorded as an edit) if it changed, then run it: ``Queued``, then
    ``Output`` and ``InputRequest`` as it runs, then ``Result``. Starts an engine first if the
    notebook has none, or a new one if it died."""

    op: Literal["evaluate"]
    cell_id: str
    source: str


class Complete(_Request):
    """The engine's completions of text at cursor, in a ``Reply`` (starting an engine if the
    notebook has none)."""

    op: Literal["complete"]
    text: str
    cursor: NotRequired[int | None]


class Introspect(_Request):
    """What the engine knows of ``expr`` (its source too with detail 1), in a ``Reply``."""

    op: Literal["introspect"]
    expr: str
    detail: NotRequired[int | None]


class InputReply(_Request):
    """Answers the running cell's pending ``input()``."""

    op: Literal["input_reply"]
    value: str


class Interrupt(_Request):
    """KeyboardInterrupt in the running cell of the notebook's engine."""

    op: Literal["interrupt"]


class Restart(_Request):
    """A fresh engine process for the notebook; what was waiting fails."""

    op: Literal["restart"]


class Stop(_Request):
    """Stop the notebook's engine; the next evaluate starts a new one."""

    op: Literal["stop"]


class InsertCell(_Request):
    """A new cell (at the end without ``position``): ``CellInserted`` to every tab."""

    op: Literal["insert_cell"]
    position: NotRequired[int | None]
    kind: NotRequired[CellKind | None]
    source: NotRequired[str | None]
    cell_id: NotRequired[str | None]


class UpdateCell(_Request):
    """A cell's source or kind, saved as typed: ``CellUpdated`` to every tab."""

    op: Literal["update_cell"]
    cell_id: str
    source: NotRequired[str | None]
    kind: NotRequired[CellKind | None]


class MoveCell(_Request):
    """A cell to another position: ``CellMoved`` to every tab."""

    op: Literal["move_cell"]
    cell_id: str
    position: int


class DeleteCell(_Request):
    """Delete a cell: ``CellDeleted`` to every tab."""

    op: Literal["delete_cell"]
    cell_id: str


class Rename(_Request):
    """A new title: ``NotebookUpdated`` to every tab."""

    op: Literal["rename"]
    title: str


class Ping(_Request):
    """Answered by ``Pong``; the only request a reader (a viewer) may send."""

    op: Literal["ping"]


REQUESTS = Checker(
    (
        Evaluate,
        Complete,
        Introspect,
        InputReply,
        Interrupt,
        Restart,
        Stop,
        InsertCell,
        UpdateCell,
        MoveCell,
        DeleteCell,
        Rename,
        Ping,
    ),
    tag="op",
)
"""The frontend's check of what a tab sends (fields it does not know are ignored)."""

READ_ONLY = frozenset({"ping"})
"""The ops a tab that may only read the notebook may send."""


# -- messages (frontend -> tab) -------------------------------------------------------------


class Cell(TypedDict):
    """A cell as the bus and the REST API show it."""

    id: str
    kind: CellKind
    source: str
    outputs: list[dict[str, Any]]
    execution_count: int | None


class _Event(TypedDict):
    # On the events a tab's own request caused: the tab's number and the request's id.
    origin: NotRequired[int]
    id: NotRequired[TabId]


class Engine(TypedDict):
    """The engine changed state (``none``: no engine bound). A dead one says why."""

    type: Literal["engine"]
    state: EngineState
    reason: NotRequired[str]
    backend: NotRequired[str]


class Notebook(TypedDict):
    """The first message on a new bus, and again after ``NotebookReplaced``: the notebook as it
    is now, the output of running cells so far included; ``you`` is this tab's number. The
    first carries the notebook bus protocol the frontend speaks."""

    type: Literal["notebook"]
    protocol: NotRequired[int]
    notebook: dict[str, Any]
    cells: list[Cell]
    engine: Engine
    running: list[str]
    you: int


class Notice(TypedDict):
    """Something the user should know ("a new engine was started (the engine died: ...)")."""

    type: Literal["notice"]
    message: str


class Queued(TypedDict):
    """A cell was sent to run; its old outputs are cleared."""

    type: Literal["queued"]
    cell_id: str


class StreamOutput(TypedDict):
    type: Literal["stream"]
    name: Literal["stdout", "stderr"]
    text: str


class DisplayOutput(TypedDict):
    type: Literal["display"]
    data: dict[str, Any]


class Output(TypedDict):
    """Output as it comes; ``cell_id`` null for output between evaluations."""

    type: Literal["output"]
    cell_id: str | None
    output: StreamOutput | DisplayOutput


class InputRequest(TypedDict):
    """The cell called ``input()``: an ``InputReply`` answers it."""

    type: Literal["input_request"]
    cell_id: str
    prompt: str
    password: bool


class Result(TypedDict):
    """The cell finished; ``error`` when an exception ended it (stored as an error output)."""

    type: Literal["result"]
    cell_id: str
    execution_count: int | None
    error: NotRequired[engine.ErrorInfo]


class Reply(TypedDict):
    """The answer to this tab's ``complete`` or ``introspect``: the engine's content."""

    type: Literal["reply"]
    id: TabId
    op: str
    content: dict[str, Any]


class CellInserted(_Event):
    type: Literal["cell_inserted"]
    cell: Cell
    position: int


class CellUpdated(_Event):
    type: Literal["cell_updated"]
    cell_id: str
    kind: CellKind
    source: str


class CellMoved(_Event):
    type: Literal["cell_moved"]
    cell_id: str
    position: int


class CellDeleted(_Event):
    type: Literal["cell_deleted"]
    cell_id: str


class NotebookUpdated(_Event):
    """Title, engine type, location or public link changed."""

    type: Literal["notebook_updated"]
    notebook: dict[str, Any]


class NotebookReplaced(TypedDict):
    """The notebook changed wholesale (a revision was restored); a ``Notebook`` follows."""

    type: Literal["notebook_replaced"]


class Error(TypedDict):
    """This tab's request could not be done (malformed, read-only, unknown cell...); the bus
    stays open."""

    type: Literal["error"]
    id: TabId
    message: str


class Role(TypedDict):
    """The owner changed this user's role on the notebook. Access withdrawn altogether closes
    the bus with code 4403."""

    type: Literal["role"]
    role: str


class Pong(TypedDict):
    """The answer to ``Ping``."""

    type: Literal["pong"]
    id: TabId


MESSAGES = Checker(
    (
        Notebook,
        Engine,
        Notice,
        Queued,
        Output,
        InputRequest,
        Result,
        Reply,
        CellInserted,
        CellUpdated,
        CellMoved,
        CellDeleted,
        NotebookUpdated,
        NotebookReplaced,
        Error,
        Role,
        Pong,
    ),
    tag="type",
)
"""What the frontend sends a tab, in the order docs/bus.md lists them (its check, for tests)."""
