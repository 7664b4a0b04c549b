"""What one evaluation wrote: stdout and stderr text and rich displays, capped in size.

A Transcript keeps the text for the evaluate dict and passes every piece on to an optional
listener, which the engine server uses to stream output while the code still runs.
"""

from __future__ import annotations

import io
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable, Dict, List, Optional

    MimeBundle = Dict[str, Any]
    Listener = Callable[[str, Any], None]

DEFAULT_OUTPUT_LIMIT = 20_000_000


class Transcript:
    """Output of one evaluation. Past ``limit`` characters, output is dropped with one notice."""

    def __init__(self, limit: int = DEFAULT_OUTPUT_LIMIT, listener: Optional[Listener] = None):
        self.limit = limit
        self.listener = listener
        self.written = 0
        self.truncated = False
        self._chunks: Dict[str, List[str]] = {"stdout": [], "stderr": []}
        self.displays: List[MimeBundle] = []

    def write(self, name: str, text: str) -> None:
        """Add text to stream ``name`` ('stdout' or 'stderr'), or drop it past the limit."""
        if not text:
            return
        room = self.limit - self.written
        if room <= 0:
            self._overflow()
            return
        if len(text) > room:
            text = text[:room]
            self._overflow()
        self.written += len(text)
        self._chunks[name].append(text)
        if self.listener is not None:
            self.listener(name, text)

    def display(self, bundle: MimeBundle) -> None:
        """Add one rich output (a MIME bundle); counted against the limit by its size."""
        size = sum(len(value) for value in bundle.values() if isinstance(value, str))
        if self.written + size > self.limit:
            self._overflow()
            return
        self.written += size
        self.displays.append(bundle)
        if self.listener is not None:
            self.listener("display", bundle)

    def notice(self, text: str) -> None:
        """Write to stderr even past the limit: tracebacks and the truncation notice."""
        self._chunks["stderr"].append(text)
        if self.listener is not None:
            self.listener("stderr", text)

    def _overflow(self) -> None:
        # The notice is written once, by finish(), so that it is the last line of err.
        self.truncated = True

    def finish(self) -> None:
        """Close the transcript: add the truncation notice if output was dropped."""
        if self.truncated:
            self.notice(
                "\n[output limit of %d characters reached: the rest of this cell's output "
                "was dropped]\n" % self.limit
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
