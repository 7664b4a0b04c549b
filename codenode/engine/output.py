"""What one evaluation wrote: stdout and stderr text and rich displays, capped in size.

A Transcript keeps the text for the evaluate dict and passes every piece on to an optional
listener, which the engine server uses to stream output while the code still runs.

Two caps hold: ``limit`` characters (the engine type's ``output_chars``), and
``byte_limit`` bytes of the JSON that carries the output on the wire, whatever it holds
(an emoji is one character and four bytes, a control character six: ``\\u0001``). The byte
cap keeps every message under the frame limit: ``fit`` is the last resort for those that
would not (a huge traceback, a huge cell repeated in its result).
"""

from __future__ import annotations

import io
import json
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable, Dict, List, Optional, Tuple

    MimeBundle = Dict[str, Any]
    Listener = Callable[[str, Any], None]

DEFAULT_OUTPUT_LIMIT = 20_000_000
# Half a frame (codenode.protocol.engine.MAX_FRAME_BYTES, 64 MiB): a result holds the output
# once, with room to spare for the cell's own text and its traceback.
DEFAULT_OUTPUT_BYTES = 32 * 1024 * 1024
MIB = 1024 * 1024
_BLOCK = 65536  # characters measured at a time


def json_bytes(text: str) -> int:
    """The bytes text takes inside a frame: JSON-escaped, UTF-8 (a lone surrogate as "?")."""
    return len(json.dumps(text, ensure_ascii=False).encode("utf-8", "replace")) - 2


def clip(text: str, room: int) -> Tuple[str, int]:
    """The longest start of text that takes at most room bytes in a frame, and its bytes."""
    used = end = 0
    while end < len(text):
        block = text[end : end + _BLOCK]
        cost = json_bytes(block)
        if used + cost > room:
            low, high = 0, len(block)  # the longest start of block that fits in what is left
            while low < high:
                middle = (low + high + 1) // 2
                if json_bytes(block[:middle]) <= room - used:
                    low = middle
                else:
                    high = middle - 1
            return text[: end + low], used + json_bytes(block[:low])
        used += cost
        end += len(block)
    return text, used


class Transcript:
    """Output of one evaluation. Past ``limit`` characters or ``byte_limit`` bytes (as JSON),
    output is dropped with one notice."""

    def __init__(
        self,
        limit: int = DEFAULT_OUTPUT_LIMIT,
        listener: Optional[Listener] = None,
        byte_limit: int = DEFAULT_OUTPUT_BYTES,
    ):
        self.limit = limit
        self.byte_limit = byte_limit
        self.listener = listener
        self.written = 0
        self.written_bytes = 0
        self.truncated = False
        self._bytes_ran_out = False
        self._chunks: Dict[str, List[str]] = {"stdout": [], "stderr": []}
        self.displays: List[MimeBundle] = []

    def write(self, name: str, text: str) -> None:
        """Add text to stream ``name`` ('stdout' or 'stderr'), or drop it past the limit."""
        if not text:
            return
        room = self.limit - self.written
        if room <= 0 or self._bytes_ran_out:
            self._overflow()
            return
        if len(text) > room:
            text = text[:room]
            self._overflow()
        kept, cost = clip(text, self.byte_limit - self.written_bytes)
        if len(kept) < len(text):
            text = kept
            self._overflow(bytes_ran_out=True)
            if not text:
                return
        self.written += len(text)
        self.written_bytes += cost
        self._chunks[name].append(text)
        if self.listener is not None:
            self.listener(name, text)

    def display(self, bundle: MimeBundle) -> None:
        """Add one rich output (a MIME bundle); counted against the limit by its size."""
        size = sum(len(value) for value in bundle.values() if isinstance(value, str))
        if self.written + size > self.limit:
            self._overflow()
            return
        cost = len(json.dumps(bundle, ensure_ascii=False, default=repr).encode("utf-8", "replace"))
        if self.written_bytes + cost > self.byte_limit:
            self._overflow(bytes_ran_out=True)
            return
        self.written += size
        self.written_bytes += cost
        self.displays.append(bundle)
        if self.listener is not None:
            self.listener("display", bundle)

    def notice(self, text: str) -> None:
        """Write to stderr even past the limit: tracebacks and the truncation notice."""
        self._chunks["stderr"].append(text)
        if self.listener is not None:
            self.listener("stderr", text)

    def _overflow(self, bytes_ran_out: bool = False) -> None:
        # The notice is written once, by finish(), so that it is the last line of err.
        self.truncated = True
        self._bytes_ran_out = self._bytes_ran_out or bytes_ran_out

    def finish(self) -> None:
        """Close the transcript: add the truncation notice if output was dropped."""
        if self.truncated:
            if self._bytes_ran_out:
                limit = "%d bytes" % self.byte_limit
                if self.byte_limit % MIB == 0:
                    limit = "%d MiB" % (self.byte_limit // MIB)
            else:
                limit = "%d characters" % self.limit
            self.notice(
                "\n[output limit of %s reached: the rest of this cell's output "
                "was dropped]\n" % limit
            )

    @property
    def out(self) -> str:
        """Everything written to stdout."""
        return "".join(self._chunks["stdout"])

    @property
    def err(self) -> str:
        """Everything written to stderr, tracebacks included."""
        return "".join(self._chunks["stderr"])


class TranscriptStream(io.TextIOBase):
    """A text stream (for sys.stdout/sys.stderr) that writes into a Transcript."""

    def __init__(self, transcript: Transcript, name: str):
        self._transcript = transcript
        self._name = name

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return "utf-8"

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        if not isinstance(text, str):
            raise TypeError("write() argument must be str, not %s" % type(text).__name__)
        self._transcript.write(self._name, text)
        return len(text)

    def isatty(self) -> bool:
        return False


class PythonCapture:
    """Captures Python-level output (sys.stdout, sys.stderr) of an in-process evaluation."""

    def __init__(self) -> None:
        self._saved: Any = None

    def start(self, transcript: Transcript) -> None:
        """Point sys.stdout and sys.stderr at the transcript."""
        self._saved = (sys.stdout, sys.stderr)
        sys.stdout = TranscriptStream(transcript, "stdout")
        sys.stderr = TranscriptStream(transcript, "stderr")

    def flush(self) -> None:
        """Nothing is buffered: writes reach the transcript at once."""

    def stop(self) -> None:
        """Give back the streams that were there before."""
        sys.stdout, sys.stderr = self._saved


_FIT_NOTE = "\n[%d bytes dropped here: the message was over the %d MiB frame limit]\n"


def fit(message: Dict[str, Any], limit: int) -> Dict[str, Any]:
    """message if its frame holds at most limit bytes, else a copy that does: its longest
    strings cut short, each with a note saying so (the last resort: Transcript's byte limit
    keeps output itself well under a frame)."""
    from codenode.protocol import engine as wire

    def excess(candidate: Dict[str, Any]) -> int:
        return len(wire.encode(candidate)) - wire.HEADER_BYTES - limit

    over = excess(message)
    if over <= 0:
        return message
    copy: Dict[str, Any] = _copy(message)
    for _ in range(16):
        leaves = list(_strings(copy))
        if not leaves:
            break
        holder, key, text = max(leaves, key=lambda leaf: len(leaf[2]))
        cost = json_bytes(text)
        note = _FIT_NOTE % (cost, limit // MIB)
        kept, kept_cost = clip(text, max(0, cost - over - json_bytes(note) - 64))
        holder[key] = kept + _FIT_NOTE % (cost - kept_cost, limit // MIB)
        # A string's escapes do not depend on what is around it: the frame shrinks by as
        # much as the string did.
        over -= cost - json_bytes(holder[key])
        if over <= 0 and excess(copy) <= 0:
            return copy
    # Nothing left to cut: say what was dropped.
    note = _FIT_NOTE % (len(wire.encode(message)), limit // MIB)
    request_id, kind = message.get("id"), message.get("type")
    if kind == "result":
        counts = {k: message.get(k) for k in ("input_count", "cmd_count")}
        error = {"ename": "EngineError", "evalue": note.strip(), "traceback": note}
        return {"id": request_id, "type": kind, **counts, "error": error}
    if kind == "reply":
        return {"id": request_id, "type": "error", "message": note.strip()}
    return {"id": request_id, "type": "stream", "name": "stderr", "text": note}


def _copy(value: Any) -> Any:
    """Dicts and lists copied, everything else shared."""
    if isinstance(value, dict):
        return {key: _copy(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_copy(item) for item in value]
    return value


def _strings(value: Any) -> Any:
    """(holder, key, text) for every string in dicts and lists, at any depth."""
    items = value.items() if isinstance(value, dict) else enumerate(value)
    for key, item in items:
        if isinstance(item, str):
            yield value, key, item
        elif isinstance(item, (dict, list)):
            yield from _strings(item)
