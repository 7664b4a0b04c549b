"""What the frontend knows of one backend: healthy or not and why, its load, its engine types."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

NOT_CHECKED = "not checked yet"


@dataclass
class BackendState:
    """One registered backend as the last health check (or a failed call since) left it.

    ``engines`` is the count the backend reported; ``started`` counts the engines this frontend
    started (minus those it stopped) there since, so that a burst of starts spreads across
    backends before the next check brings a fresh count.
    """

    id: int
    name: str
    url: str
    token: str = field(repr=False)
    healthy: bool = False
    reason: str = NOT_CHECKED
    engines: int = 0
    started: int = 0
    types: dict[str, str] = field(default_factory=dict)  # available: name -> description
    unavailable: dict[str, str] = field(default_factory=dict)  # name -> why not
    unsandboxed: set[str] = field(default_factory=set)  # types declared sandbox=False
    version: str | None = None
    checked: datetime | None = None

    @property
    def load(self) -> int:
        """Engines running there, as far as this frontend can tell."""
        return max(0, self.engines + self.started)

    def offers(self, engine_type: str) -> bool:
        return self.healthy and engine_type in self.types

    def passed(self, health: dict[str, Any], listing: dict[str, Any], started_before: int) -> None:
        """A check succeeded with these answers to GET /health and GET /engine-types.

        *started_before* is ``started`` when the check began: those starts are in the
        backend's count now; starts since are not yet.
        """
        self.healthy = True
        self.reason = ""
        engines = health.get("engines")
        self.engines = engines if isinstance(engines, int) else 0
        self.started -= started_before
        version = health.get("version")
        self.version = version if isinstance(version, str) else None
        self.types, self.unavailable, self.unsandboxed = {}, {}, set()
        for entry in listing.get("types") or []:
            if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
                continue
            if entry.get("sandbox") is False:
                self.unsandboxed.add(entry["name"])
            if entry.get("available", True):
                self.types[entry["name"]] = str(entry.get("description") or "")
            else:
                self.unavailable[entry["name"]] = str(entry.get("reason") or "unavailable")
        self.checked = datetime.now(UTC)

    def failed(self, reason: str) -> None:
        """A check or a call found the backend down (or refusing the token)."""
        self.healthy = False
        self.reason = reason
        self.checked = datetime.now(UTC)

    def describe(self) -> dict[str, Any]:
        """For the admin API and the CLI: everything but the token."""
        return {
            "name": self.name,
            "url": self.url,
            "healthy": self.healthy,
            "reason": self.reason or None,
            "engines": self.load,
            "engine_types": sorted(self.types),
            "unavailable_types": [
                {"name": name, "reason": reason}
                for name, reason in sorted(self.unavailable.items())
            ],
            "unsandboxed_types": sorted(self.unsandboxed),
            "version": self.version,
            "checked": self.checked.isoformat() if self.checked else None,
        }
