"""Failed logins counted in a sliding window: per username and client address together, and,
with more room, per username and per client address.

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

    def unhit(self, key: str) -> None:
        """Take back *key*'s newest event (one counted ahead that turned out not to count)."""
        events = self._events.get(key)
        if events:
            events.pop()
            if not events:
                del self._events[key]

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
    """The counters of failed sign-ins.

    - per (username, address): the lock that matters, at ``attempts`` failures in the window:
      a guesser at one account from one address is stopped, and the account's owner elsewhere
      is not locked out by them;
    - per username, from every address: a slower back-off, at ``attempts`` x
      ``SPREAD`` failures, for guesses spread over many addresses;
    - per address, whatever the username: at ``attempts`` x ``SPREAD`` too, for one address
      guessing at many accounts.

    An attempt is counted *before* its password is checked (``begin``), so that requests sent
    together cannot all be checked past the limit; a right password takes its own count back.
    """

    SPREAD = 10

    def __init__(
        self, attempts: int, window: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.by_pair = SlidingWindow(attempts, window, clock=clock)
        self.by_name = SlidingWindow(attempts * self.SPREAD, window, clock=clock)
        self.by_address = SlidingWindow(attempts * self.SPREAD, window, clock=clock)

    @staticmethod
    def _name(username: str) -> str:
        # Case folded so that "Ada" and "ada" share an allowance.
        return username.casefold()

    def _keys(self, username: str, address: str) -> list[tuple[SlidingWindow, str]]:
        name = self._name(username)
        return [
            (self.by_pair, f"{name}\0{address}"),
            (self.by_name, name),
            (self.by_address, address),
        ]

    def retry_after(self, username: str, address: str) -> int:
        """Seconds before this username from this address may try again (0: now)."""
        return max(window.retry_after(key) for window, key in self._keys(username, address))

    def begin(self, username: str, address: str) -> int:
        """Count an attempt now, ahead of its password check; or, past a limit, the seconds to
        wait (and nothing counted)."""
        wait = self.retry_after(username, address)
        if wait:
            return wait
        for window, key in self._keys(username, address):
            window.hit(key)
        return 0

    def failed(self, username: str, address: str) -> None:
        """Count a failure after the fact (begin counts ahead, and is what sign-in uses)."""
        for window, key in self._keys(username, address):
            window.hit(key)

    def succeeded(self, username: str, address: str | None = None) -> None:
        """A right password: the pair's count is cleared, and this attempt's own count (counted
        by begin) is taken back from the others; their earlier failures stay, so that an
        attacker's own account cannot reset the count of their guesses at others. Without
        address (a caller that did not begin): the username's count is cleared."""
        if address is None:
            self.by_name.clear(self._name(username))
            return
        pair, name, by_address = self._keys(username, address)
        pair[0].clear(pair[1])
        name[0].unhit(name[1])
        by_address[0].unhit(by_address[1])
