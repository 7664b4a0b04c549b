"""Failed logins counted in a sliding window, per username and per client address.

In memory, per frontend process: several frontends behind a load balancer each count on their
own, which at worst multiplies the allowance by the number of processes. Memory stays bounded:
each key keeps at most ``limit`` timestamps, keys whose failures have all left the window are
pruned, and past ``max_keys`` the keys that failed longest ago are dropped first.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict, deque
from collections.abc import Callable


class SlidingWindow:
    """Events per key within the last ``window`` seconds; a key is *blocked* at ``limit``."""

    def __init__(
        self,
        limit: int,
        window: float,
        max_keys: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit = limit
        self.window = window
        self.max_keys = max_keys
        self.clock = clock
        # Least recently hit first, so that pruning and eviction look at the front only.
        self._events: OrderedDict[str, deque[float]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._events)

    def hit(self, key: str) -> None:
        """Count one event for *key* now."""
        now = self.clock()
        self._prune(now)
        events = self._events.pop(key, None)
        if events is None:
            # Only the newest `limit` events decide whether the key is blocked.
            events = deque(maxlen=max(self.limit, 1))
        events.append(now)
        self._events[key] = events
        while len(self._events) > self.max_keys:
            self._events.popitem(last=False)

    def retry_after(self, key: str) -> int:
        """Seconds until *key* may try again (0: it may now)."""
        events = self._events.get(key)
        if not events:
            return 0
        now = self.clock()
        recent = [moment for moment in events if now - moment < self.window]
        if len(recent) < self.limit:
            return 0
        # Blocked until enough of the counted events have left the window.
        opens = recent[len(recent) - self.limit] + self.window
        return max(1, math.ceil(opens - now))

    def clear(self, key: str) -> None:
        """Forget *key*'s events (its owner proved who they are)."""
        self._events.pop(key, None)

    def _prune(self, now: float) -> None:
        """Drop keys whose newest event has left the window."""
        while self._events:
            key, events = next(iter(self._events.items()))
            if now - events[-1] < self.window:
                return
            del self._events[key]


class LoginLimits:
    """The two counters of failed logins: one per username, one per client address."""

    def __init__(
        self, attempts: int, window: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.by_name = SlidingWindow(attempts, window, clock=clock)
        self.by_address = SlidingWindow(attempts, window, clock=clock)

    @staticmethod
    def _name(username: str) -> str:
        # Case folded so that "Ada" and "ada" share an allowance.
        return username.casefold()

    def retry_after(self, username: str, address: str) -> int:
        """Seconds before this username from this address may try again (0: now)."""
        return max(
            self.by_name.retry_after(self._name(username)), self.by_address.retry_after(address)
        )

    def failed(self, username: str, address: str) -> None:
        self.by_name.hit(self._name(username))
        self.by_address.hit(address)

    def succeeded(self, username: str) -> None:
        """A right password clears the username's count; the address's stays, so that one
        account of an attacker's own cannot reset the count of their guesses at others."""
        self.by_name.clear(self._name(username))
