"""The sliding-window counter behind the login rate limit, on a clock the tests move."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from codenode.frontend.ratelimit import LoginLimits, SlidingWindow


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_key_is_blocked_at_the_limit_until_its_oldest_counted_event_leaves() -> None:
    clock = Clock()
    window = SlidingWindow(limit=3, window=60, clock=clock)
    for step in (0, 10, 20):
        clock.now = 100 + step
        assert window.retry_after("ada") == 0
        window.hit("ada")
    assert window.retry_after("ada") == 40  # the hit at 100 leaves at 160; now is 120
    assert window.retry_after("bob") == 0
    clock.now = 159.5
    assert window.retry_after("ada") == 1  # never 0 while blocked
    clock.now = 160
    assert window.retry_after("ada") == 0  # sliding: two hits still count
    window.hit("ada")
    assert window.retry_after("ada") == 10  # now the hit at 110 decides: it leaves at 170


def test_clear_forgets_a_key() -> None:
    window = SlidingWindow(limit=1, window=60, clock=Clock())
    window.hit("ada")
    assert window.retry_after("ada") > 0
    window.clear("ada")
    assert window.retry_after("ada") == 0


def test_keys_whose_events_left_the_window_are_pruned() -> None:
    clock = Clock()
    window = SlidingWindow(limit=5, window=60, clock=clock)
    for number in range(1000):
        window.hit(f"name{number}")
    assert len(window) == 1000
    clock.now += 61
    window.hit("fresh")
    assert len(window) == 1


def test_past_max_keys_the_keys_that_failed_longest_ago_go_first() -> None:
    clock = Clock()
    window = SlidingWindow(limit=1, window=60, max_keys=3, clock=clock)
    for name in ("a", "b", "c"):
        window.hit(name)
        clock.now += 1
    window.hit("a")  # a is now the most recent
    window.hit("d")
    assert len(window) == 3
    assert window.retry_after("b") == 0  # evicted
    assert all(window.retry_after(name) > 0 for name in ("a", "c", "d"))


@given(
    limit=st.integers(1, 5),
    # Quarter seconds add up exactly, so the model below needs no tolerance.
    steps=st.lists(st.tuples(st.integers(0, 120).map(lambda q: q / 4), st.booleans()), max_size=60),
)
def test_blocked_exactly_when_limit_events_fall_in_the_window(
    limit: int, steps: list[tuple[float, bool]]
) -> None:
    clock = Clock()
    window = SlidingWindow(limit=limit, window=60, clock=clock)
    hits: list[float] = []
    for advance, hit in steps:
        clock.now += advance
        if hit:
            window.hit("key")
            hits.append(clock.now)
        recent = [moment for moment in hits if clock.now - moment < 60]
        wait = window.retry_after("key")
        assert (wait > 0) == (len(recent) >= limit)
        if wait:
            # Waiting that long is enough: the block has lifted by then.
            clock.now += wait
            assert window.retry_after("key") == 0
            clock.now -= wait


def test_login_limits_count_by_name_and_by_address() -> None:
    limits = LoginLimits(attempts=2, window=60, clock=Clock())
    limits.failed("Ada", "10.0.0.1")
    limits.failed("ada", "10.0.0.2")  # names are counted case-folded
    assert limits.retry_after("ADA", "10.0.0.3") > 0
    assert limits.retry_after("bob", "10.0.0.1") == 0
    limits.failed("carl", "10.0.0.1")
    assert limits.retry_after("bob", "10.0.0.1") > 0  # the address has failed twice


def test_a_right_password_clears_the_name_but_not_the_address() -> None:
    limits = LoginLimits(attempts=2, window=60, clock=Clock())
    limits.failed("ada", "10.0.0.1")
    limits.failed("ada", "10.0.0.2")
    limits.succeeded("ada")
    assert limits.retry_after("ada", "10.0.0.3") == 0
    limits.failed("eve", "10.0.0.1")
    assert limits.retry_after("ada", "10.0.0.1") > 0
