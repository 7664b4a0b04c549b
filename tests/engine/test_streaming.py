"""The coalescer of an evaluation's output, in process: what leaves in which write."""

from __future__ import annotations

import time
from typing import Any

from codenode.engine.streaming import Coalescer


class Writes(list[list[dict[str, Any]]]):
    """Each write the coalescer made: the messages it held, in order."""

    def __call__(self, messages: list[dict[str, Any]]) -> None:
        self.append(list(messages))


def kinds(write: list[dict[str, Any]]) -> list[tuple[str, Any]]:
    return [(m["type"], m.get("text")) for m in write]


def test_a_quick_cells_output_leaves_with_its_result_in_one_write() -> None:
    writes = Writes()
    coalescer = Coalescer(writes, first_delay=0.5)
    coalescer.begin(1)
    coalescer.add("stdout", "4\n")  # the echo of 2+2, just before its result
    coalescer.send_with({"id": 1, "type": "result"})
    assert [kinds(w) for w in writes] == [[("stream", "4\n"), ("result", None)]]


def test_output_on_a_quiet_stream_leaves_after_the_first_delay() -> None:
    writes = Writes()
    coalescer = Coalescer(writes, interval=2.0, first_delay=0.05)
    coalescer.begin(1)
    coalescer.add("stdout", "first\n")
    deadline = time.monotonic() + 5
    while not writes and time.monotonic() < deadline:
        time.sleep(0.01)
    assert [kinds(w) for w in writes] == [[("stream", "first\n")]]  # alone, while the cell runs
    # Text that comes while the stream is busy waits for the interval, gathered.
    coalescer.add("stdout", "a\n")
    coalescer.add("stdout", "b\n")
    coalescer.send_with({"id": 1, "type": "result"})
    assert kinds(writes[-1]) == [("stream", "a\nb\n"), ("result", None)]
    assert len(writes) == 2


def test_a_display_leaves_behind_the_text_before_it() -> None:
    writes = Writes()
    coalescer = Coalescer(writes, first_delay=0.5)
    coalescer.begin(1)
    coalescer.add("stdout", "before\n")
    coalescer.add("display", {"text/plain": "x"})
    assert [kinds(w) for w in writes] == [[("stream", "before\n"), ("display", None)]]
