"""Notebooks as standalone HTML pages, to read anywhere without Codenode.

The page needs nothing from outside (styles inline, images as ``data:`` URIs) and runs
nothing: a Content-Security-Policy forbids scripts, every piece of the notebook is escaped,
Markdown is rendered with raw HTML off, SVG is shown as an image (scripts in an image do not
run), and an HTML output is shown in a sandboxed frame (``sandbox=""``: no scripts, no
forms, an origin of its own).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable
from html import escape
from typing import Any

from markdown_it import MarkdownIt

from codenode.frontend.interchange import HEADING_LEVELS, CellData, Snapshot, strip_ansi

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'none'; img-src data:; style-src 'unsafe-inline'; "
    "base-uri 'none'; form-action 'none'"
)
"""Also sent as a header when the frontend serves the page."""

STYLE = """
body { font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto;
       padding: 0 1rem; color: #1d1d1f; line-height: 1.5; }
.notebook-title { font-size: 0.9rem; color: #666; border-bottom: 1px solid #ddd;
                  margin-bottom: 1.5rem; }
.cell { margin: 0.75rem 0; }
.prompt { font: 0.8rem monospace; color: #777; }
pre { margin: 0.25rem 0; padding: 0.5rem 0.75rem; overflow-x: auto; white-space: pre-wrap;
      font: 0.9rem/1.4 ui-monospace, monospace; }
.source { background: #f5f5f7; border-left: 3px solid #8aa4c8; }
.stream.stderr { background: #fff4e5; }
.error { background: #fdecea; color: #8a1c1c; }
.outputs img { max-width: 100%; }
.outputs iframe { width: 100%; height: 20rem; border: 1px solid #ddd; resize: vertical; }
"""

# Raw HTML off: Markdown cells are text, never markup that could run.
_markdown = MarkdownIt("commonmark", {"html": False}).enable(["table", "strikethrough"])
_BASE64 = re.compile(r"[A-Za-z0-9+/=\s]*")


def dumps(snapshot: Snapshot) -> str:
    """The snapshot as a standalone HTML page."""
    title = escape(snapshot["title"] or "Untitled")
    cells = "\n".join(_cell(cell) for cell in snapshot["cells"])
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{CONTENT_SECURITY_POLICY}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="Codenode">
<title>{title}</title>
<style>{STYLE}</style>
</head>
<body>
<header class="notebook-title">{title} · {escape(snapshot["engine_type"])}</header>
<main>
{cells}
</main>
</body>
</html>
"""


def _cell(cell: CellData) -> str:
    kind, source = cell["kind"], cell["source"]
    if kind in HEADING_LEVELS:
        level = HEADING_LEVELS[kind]
        return f'<h{level} class="cell {kind}">{escape(source)}</h{level}>'
    if kind == "markdown":
        return f'<section class="cell markdown">{_markdown.render(source)}</section>'
    count = cell.get("execution_count")
    prompt = f"In [{count}]:" if isinstance(count, int) else "In [ ]:"
    outputs = "\n".join(_output(output) for output in cell.get("outputs") or [])
    return (
        f'<section class="cell code">\n<div class="prompt">{prompt}</div>\n'
        f'<pre class="source"><code>{escape(source)}</code></pre>\n'
        f'<div class="outputs">\n{outputs}\n</div>\n</section>'
    )


def _output(output: dict[str, Any]) -> str:
    kind = output.get("type")
    if kind == "stream":
        name = "stderr" if output.get("name") == "stderr" else "stdout"
        return f'<pre class="stream {name}">{escape(str(output.get("text", "")))}</pre>'
    if kind == "error":
        text = str(output.get("traceback") or "") or (
            f"{output.get('ename', '')}: {output.get('evalue', '')}"
        )
        return f'<pre class="error">{escape(strip_ansi(text))}</pre>'
    if kind == "display":
        return _display(output.get("data") or {})
    return ""


def _display(data: dict[str, Any]) -> str:
    """The richest representation of a rich output that the page can show safely."""
    for mime, show in _SHOWN:
        value = data.get(mime)
        if isinstance(value, str):
            shown = show(mime, value)
            if shown is not None:
                return shown
    return ""


def _image(mime: str, value: str) -> str | None:
    if not _BASE64.fullmatch(value):
        return None
    encoded = "".join(value.split())
    try:
        base64.b64decode(encoded, validate=True)
    except binascii.Error:
        return None
    return f'<img src="data:{mime};base64,{encoded}" alt="">'


def _svg(mime: str, value: str) -> str:
    encoded = base64.b64encode(value.encode("utf-8", "replace")).decode("ascii")
    return f'<img src="data:image/svg+xml;base64,{encoded}" alt="">'


def _html(mime: str, value: str) -> str:
    return f'<iframe sandbox="" srcdoc="{escape(value)}" title="HTML output"></iframe>'


def _markdown_output(mime: str, value: str) -> str:
    return f'<div class="markdown">{_markdown.render(value)}</div>'


def _text(mime: str, value: str) -> str:
    return f'<pre class="display">{escape(value)}</pre>'


_SHOWN: list[tuple[str, Callable[[str, str], str | None]]] = [
    ("image/png", _image),
    ("image/jpeg", _image),
    ("image/gif", _image),
    ("image/svg+xml", _svg),
    ("text/html", _html),
    ("text/markdown", _markdown_output),
    ("text/latex", _text),
    ("text/plain", _text),
]
"""Representations in the order they are preferred."""
