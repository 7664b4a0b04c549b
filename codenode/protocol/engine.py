"""The engine wire: a parent (the backend) and one engine process, frames over a socket pair.

Every message of the wire is defined here, once; ``REQUESTS`` and ``MESSAGES`` check them
(generated from the definitions, see schema.py) and frames.py carries them.
docs/engine-protocol.md tells the story.

Requests (parent -> engine) carry an ``op`` and an ``id`` (a string or an integer) that the
engine echoes in every message about them; messages (engine -> parent) carry a ``type``. The
engine speaks first, with one ``Ready`` that says which ``PROTOCOL_VERSION`` it speaks: a
backend refuses an engine that speaks another.

Standard library only: the engine process imports this module, and it must run on any
Python >= 3.9 that hosts the engine (so Optional and Union, never ``X | None``, in the
definitions: a Checker reads them at run time).
"""

from __future__ import annotations

from codenode.protocol.frames import (
    HEADER_BYTES,
    MAX_FRAME_BYTES,
    AsyncFrameReader,
    FrameDecoder,
    FrameError,
    FrameReader,
    FrameTooLarge,
    decode,
    encode,
)
from codenode.protocol.schema import Checker

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import (
        Any,
        Dict,
        List,
        Literal,
        NotRequired,
        Optional,
        TypeAlias,
        TypedDict,
        Union,
    )
else:
    from codenode.protocol.schema import TypedDict

__all__ = [
    "CLOSED_ITS_DESCRIPTORS",
    "HEADER_BYTES",
    "MAX_FRAME_BYTES",
    "MESSAGES",
    "PROTOCOL_VERSION",
    "REQUESTS",
    "AsyncFrameReader",
    "FrameDecoder",
    "FrameError",
    "FrameReader",
    "FrameTooLarge",
    "decode",
    "encode",
]

PROTOCOL_VERSION = 2
"""1: the first. 2: a ``Result`` no longer repeats the cell's source and output."""

CLOSED_ITS_DESCRIPTORS = 71
"""The exit code of an engine whose own code closed the engine's descriptors (its socket to the
backend, its output pipes) with os.close or os.closerange: the backend says so in words."""


RequestId: TypeAlias = "Union[str, int]"
"""A request's id, chosen by the parent; echoed in every message about the request."""
MessageId: TypeAlias = "Optional[RequestId]"
"""The id of the request a message is about; null for none (output between evaluations)."""


# -- requests (parent -> engine) ----------------------------------------------------------


class _Request(TypedDict):
    id: RequestId


class Evaluate(_Request):
    """Run ``code``: answered by ``Stream``, ``Display`` and ``InputRequest`` while it runs,
    then one ``Result``. Evaluations run one at a time, in the order they arrive."""

    op: Literal["evaluate"]
    code: str


class Complete(_Request):
    """Completions of ``text`` at ``cursor`` (default: its end): a ``Reply`` holding a
    ``Completion``, at once, also while code runs."""

    op: Literal["complete"]
    text: str
    cursor: NotRequired[Optional[int]]


class Introspect(_Request):
    """What ``expr`` names, with its source if ``detail`` is 1: a ``Reply`` holding an
    ``Introspection``, at once, also while code runs."""

    op: Literal["introspect"]
    expr: str
    detail: NotRequired[Optional[int]]


class InputReply(_Request):
    """The line typed for the pending ``InputRequest`` (no newline); nothing answers it:
    ``input()`` in the cell returns ``value``."""

    op: Literal["input_reply"]
    value: str


class Info(_Request):
    """What the engine is: a ``Reply`` holding an ``EngineInfo``."""

    op: Literal["info"]


class Interrupt(_Request):
    """Sent right after a SIGINT, naming the ``evaluation`` it meant: a SIGINT alone stops
    only the evaluation under way, so one that came while that evaluation was queued or not
    yet read is raised again for it (one that reached it is not). Answered by a ``Reply``
    with empty content (docs/engine-protocol.md, Interrupt)."""

    op: Literal["interrupt"]
    evaluation: RequestId


class Shutdown(_Request):
    """Exit: a ``Reply`` with empty content, then the engine exits with code 0."""

    op: Literal["shutdown"]


REQUESTS = Checker(
    (Evaluate, Complete, Introspect, InputReply, Info, Interrupt, Shutdown), tag="op"
)
"""The engine's check of what it is sent (fields it does not know are ignored)."""


# -- messages (engine -> parent) ----------------------------------------------------------


class Ready(TypedDict):
    """Sent once, first, when the engine can take requests."""

    type: Literal["ready"]
    pid: int
    protocol: int
    language: str
    language_version: str


class Stream(TypedDict):
    """Output of a running evaluation (``id: null`` between evaluations: a background
    thread, a subprocess left running), coalesced to at most ~50 frames a second per stream.
    Every character an evaluation writes comes in these, up to the output limits."""

    type: Literal["stream"]
    id: MessageId
    name: Literal["stdout", "stderr"]
    text: str


class Display(TypedDict):
    """Rich output of a running evaluation: MIME type -> text, base64 (images) or a JSON
    document (application/json and the like)."""

    type: Literal["display"]
    id: MessageId
    data: Dict[str, Union[str, Dict[str, Any], List[Any]]]


class InputRequest(TypedDict):
    """``input()`` or ``getpass()`` in the cell waits for an ``InputReply``."""

    type: Literal["input_request"]
    id: MessageId
    prompt: str
    password: bool


class ErrorInfo(TypedDict):
    """The exception that ended an evaluation; ``traceback`` as it was written to stderr."""

    ename: str
    evalue: str
    traceback: NotRequired[str]


class Result(TypedDict):
    """The evaluation finished. ``Interpreter.evaluate``'s dict without what the parent has
    already: its ``in`` (the request's code), ``out`` and ``err`` (the ``Stream`` messages)
    and ``display`` (the ``Display`` messages). ``error`` when an exception ended it."""

    type: Literal["result"]
    id: MessageId
    input_count: int
    cmd_count: int
    error: NotRequired[Optional[ErrorInfo]]


class Reply(TypedDict):
    """The answer to ``complete``, ``introspect``, ``info``, ``interrupt`` or ``shutdown``:
    the request's ``op`` and its answer, nested (an introspection has a "type" of its own)."""

    type: Literal["reply"]
    id: MessageId
    op: str
    content: Dict[str, Any]


class Error(TypedDict):
    """A request that could not be understood or answered; the engine carries on.
    ``id`` is null when the frame could not be read."""

    type: Literal["error"]
    id: MessageId
    message: str


MESSAGES = Checker((Ready, Stream, Display, InputRequest, Result, Reply, Error), tag="type")
"""The check of what an engine sends (fields it does not know are ignored)."""


# -- what replies hold ----------------------------------------------------------------------


class Completion(TypedDict):
    """A ``complete`` reply's content: ``text[cursor_start:cursor_end]`` is what each
    match replaces."""

    matches: List[str]
    cursor_start: int
    cursor_end: int


class Introspection(TypedDict):
    """An ``introspect`` reply's content; null where unknown, ``source`` only with detail 1."""

    found: bool
    name: str
    type: Optional[str]
    signature: Optional[str]
    doc: Optional[str]
    file: Optional[str]
    source: Optional[str]


class EngineInfo(TypedDict):
    """An ``info`` reply's content."""

    language: str
    language_version: str
    implementation: str
    pid: int
    protocol: int
    codenode_version: str
    executable: str
