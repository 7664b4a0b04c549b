"""The Codenode environment folder: config, database, plug-ins and secrets in one place.

``$CODENODE_HOME``, else ``~/.codenode``. ``codenode init`` makes it; running it again adds
only what is missing and changes nothing that is there.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import codenode
from codenode import settings

SECRET_FILE = "secret.key"  # signs session cookies
TOKEN_FILE = "backend.token"  # the local backend's token


def default_home() -> Path:
    """The environment folder: CODENODE_HOME, else ~/.codenode."""
    return Path(os.environ.get("CODENODE_HOME", "~/.codenode")).expanduser()


def shipped_plugins() -> Path:
    """The folder of the plug-in files that ship with Codenode."""
    inside = Path(codenode.__file__).parent / "default_plugins"  # in a wheel
    return inside if inside.is_dir() else Path(codenode.__file__).parent.parent / "plugins"


def prepare_plugins(folder: Path) -> bool:
    """Create a missing plug-in folder with the default plug-ins; whether it was created."""
    if folder.exists():
        return False
    folder.mkdir(parents=True)
    for source in sorted(shipped_plugins().glob("*.py")):
        shutil.copy(source, folder / source.name)
    return True


def write_secret(path: Path) -> bool:
    """A new random secret in a file only its owner can read, unless the file exists."""
    if path.exists():
        return False
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(secrets.token_urlsafe(32) + "\n")
    return True


def database_url(home: Path, values: Mapping[str, Any] | None = None) -> str:
    """The one place that says which database a command uses: the ``database-url`` setting
    (from *values* if already resolved, else from the command line's absence, the environment
    and the config file), or SQLite in the environment folder."""
    from codenode.frontend.db.database import default_url

    if values is None:
        values = settings.resolve(home, {})
    return values["database-url"] or default_url(home)


def init(home: Path) -> list[str]:
    """Make or complete the environment folder; what was done, one line each."""
    from codenode.frontend.db.database import describe, upgrade

    done = []
    if not home.exists():
        home.mkdir(parents=True, mode=0o700)
        done.append(f"created {home}")
    config = home / settings.CONFIG_FILE
    if not config.exists():
        config.write_text(settings.default_config())
        done.append(f"wrote {config}")
    if prepare_plugins(home / "plugins"):
        done.append(f"created {home / 'plugins'} with the default plug-ins")
    for name in (SECRET_FILE, TOKEN_FILE):
        if write_secret(home / name):
            done.append(f"wrote {home / name} (readable only by you)")
    url = database_url(home)
    upgrade(url)
    done.append(f"database at the newest schema: {describe(url)}")
    return done
