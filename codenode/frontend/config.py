"""What a running frontend needs to know, gathered once from the settings and the environment."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FrontendConfig:
    """The frontend's configuration. ``secret`` signs session cookies and CSRF tokens."""

    database_url: str
    secret: str
    signup: str = "closed"  # open | closed | admin
    idle_engine_seconds: float = 3600.0
    engine_on_open: bool = False
    # How often the frontend asks each backend whether it is alive, and what it offers.
    health_interval: float = 5.0
    # Outputs of a running cell are written to the database at least this often.
    output_flush_seconds: float = 0.5
    # A stored cell keeps at most this much output text; the live stream is not cut.
    stored_output_chars: int = 2_000_000
    # Edits by one author within this window extend the same revision.
    revision_window_seconds: float = 60.0
    # Failed logins per username (and per client address) within the window before 429.
    login_attempts: int = 10
    login_window_seconds: float = 300.0
    session_days: int = 14
    # Host names the site answers to besides localhost, loopback addresses and the address a
    # request reached (DNS rebinding: codenode.frontend.guards); ".example.org" takes every
    # name under it too, "*" any Host. CODENODE_ALLOWED_HOSTS (serve.load_config).
    allowed_hosts: tuple[str, ...] = ()
