"""A running cell's outputs as they arrive: merged, capped for storage, ready to flush."""

from __future__ import annotations

from typing import Any

Output = dict[str, Any]


def _size(output: Output) -> int:
    if output["type"] == "stream":
        return len(output["text"])
    if output["type"] == "display":
        return sum(len(str(value)) for value in output["data"].values())
    return len(output.get("traceback", "")) + len(output.get("evalue", ""))


class CellOutputs:
    """The outputs of one evaluation of one cell.

    Consecutive chunks of one stream are merged into one output, as a reader sees them. Past
    *cap* characters the rest is not stored (the live stream to the tabs is not cut): one
    notice says so. ``dirty`` says whether there is anything the database has not seen;
    ``current`` whether these are still the cell's latest evaluation's (a newer evaluation of
    the cell, or its deletion, makes them not: what still comes for them is shown, not kept).
    """

    def __init__(self, cap: int) -> None:
        self.items: list[Output] = []
        self.cap = cap
        self.size = 0
        self.capped = False
        self.execution_count: int | None = None
        self.dirty = False
        self.finished = False  # the evaluation is over: once stored, nothing more will come
        self.current = True

    def add(self, output: Output) -> None:
        if self.capped:
            return
        size = _size(output)
        if self.size + size > self.cap and output["type"] != "error":
            self.capped = True
            room = self.cap - self.size
            if output["type"] == "stream" and room > 0:  # the cap is met exactly, not undershot
                self._append_stream(output["name"], output["text"][:room])
                self.size += room
            self._append_stream(
                "stderr",
                f"\n[Codenode stored the first {self.size:,} characters of this cell's output; "
                "the rest was shown but not stored]\n",
            )
            return
        self.size += size
        if output["type"] == "stream":
            self._append_stream(output["name"], output["text"])
        else:
            self.items.append(output)
        self.dirty = True

    def _append_stream(self, name: str, text: str) -> None:
        last = self.items[-1] if self.items else None
        if last is not None and last["type"] == "stream" and last["name"] == name:
            last["text"] += text
        else:
            self.items.append({"type": "stream", "name": name, "text": text})
        self.dirty = True

    def error(self, ename: str, evalue: str, traceback: str) -> None:
        """The evaluation ended with an exception whose traceback was streamed to stderr last:
        that text becomes an error output (tracebacks are styled apart from stderr)."""
        last = self.items[-1] if self.items else None
        if (
            traceback
            and last is not None
            and last["type"] == "stream"
            and last["name"] == "stderr"
            and last["text"].endswith(traceback)
        ):
            last["text"] = last["text"][: -len(traceback)]
            if not last["text"]:
                self.items.pop()
        self.items.append(
            {"type": "error", "ename": ename, "evalue": evalue, "traceback": traceback}
        )
        self.dirty = True
