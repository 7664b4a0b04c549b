"""A user's workspace: the folder on a backend where their engines keep files.

Backends know no users. The frontend names a *workspace key* when it starts an engine for a
notebook, derived from the notebook owner's id and nothing else, so every notebook of one
user shares one folder and no user can name another's. The key is made here, on the server,
from the signed-in user's id: no route takes a key (or a user id) from the client.

Each backend keeps its own folders. The files a user sees in the browser live on their
*home backend*: the healthy backend with the lowest id. With several backends that is one
machine's folder, unless every backend is given the same workspace root on a shared file
system (docs/files.md).
"""

from __future__ import annotations

import hashlib
import hmac

from codenode.frontend.backends.health import BackendState
from codenode.frontend.backends.registry import BackendRegistry
from codenode.frontend.errors import Unavailable

__all__ = ["home_backend", "workspace_key"]


def workspace_key(user_id: int, secret: str) -> str:
    """The opaque key of *user_id*'s workspace, as the frontend names it to backends.

    The site's secret goes into it: two Codenode sites (two databases, each with a user 1)
    sharing a backend never share a folder. Frontends of one site share the secret anyway.
    """
    site = hmac.new(secret.encode(), b"codenode workspace", hashlib.sha256).hexdigest()[:12]
    return f"user-{user_id}-{site}"


def healthy_backends(registry: BackendRegistry) -> list[BackendState]:
    """The backends the registry last found healthy, lowest id first."""
    return sorted(
        (state for state in registry.backends.values() if state.healthy),
        key=lambda state: state.id,
    )


async def home_backend(registry: BackendRegistry) -> BackendState:
    """The backend that holds users' files: the healthy one with the lowest id.

    The lowest id is the backend registered first (``local`` under ``codenode run``), so the
    choice stays put as backends come and go, and every frontend on one database agrees.
    """
    healthy = healthy_backends(registry)
    if not healthy:
        why = "every registered backend is down" if registry.backends else "none is registered"
        raise Unavailable(f"your files are out of reach: no backend is up ({why}); try again soon")
    return healthy[0]
