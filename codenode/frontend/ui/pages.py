"""Serving the UI: the page shell (the same for every page; the script draws the page) and the
static files, with a Content-Security-Policy that lets no script run but Codenode's own."""

from __future__ import annotations

import hashlib
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import HTMLResponse
from starlette.staticfiles import StaticFiles

from codenode.frontend.access import Anyone
from codenode.frontend.errors import Unavailable

STATIC = Path(__file__).resolve().parent / "static"
PAGES = ("/", "/login", "/signup", "/password", "/notebooks/{notebook_id}", "/admin", "/settings")

# Scripts: only ours. Styles: ours, plus inline ones (CodeMirror and KaTeX set style
# attributes and inject style sheets; styles cannot run code). Images: ours and data: URIs
# (plots). HTML output runs in sandboxed frames without scripts.
CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob:",
        "font-src 'self'",
        "connect-src 'self'",
        "frame-src 'self' blob: data:",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-cache",
}


def _version() -> str:
    """Changes when the bundle does: browsers never run a stale script with a new page."""
    digest = hashlib.sha256()
    for name in ("app.js", "style.css"):
        path = STATIC / name
        if path.exists():
            digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def shell() -> str:
    version = _version()
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="color-scheme" content="light dark">'
        # No icon yet: an empty one, so that browsers do not ask for /favicon.ico (a 404).
        '<link rel="icon" href="data:,">'
        f'<title>Codenode</title><link rel="stylesheet" href="/static/style.css?v={version}">'
        f'<script type="module" src="/static/app.js?v={version}"></script>'
        '</head><body><div id="app" aria-live="polite">Loading Codenode…</div></body></html>'
    )


router = APIRouter(include_in_schema=False)


async def page(user: Anyone) -> HTMLResponse:
    """The page shell; the script finds out who is signed in and draws the page."""
    if not (STATIC / "app.js").exists():
        raise Unavailable("the browser UI is not built: run `make` (npm run build)")
    return HTMLResponse(shell(), headers=HEADERS)


for _path in PAGES:
    router.add_api_route(_path, page, methods=["GET"], response_class=HTMLResponse)


def static_files() -> StaticFiles:
    STATIC.mkdir(exist_ok=True)
    return StaticFiles(directory=STATIC)
