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


def fail(limits: LoginLimits, username: str, address: str) -> None:
    """A sign-in whose password was wrong: counted as it began."""
    assert limits.begin(username, address) == 0


def test_a_guesser_is_locked_out_per_account_and_address_not_the_owner() -> None:
    limits = LoginLimits(attempts=2, window=60, clock=Clock())
    fail(limits, "Ada", "10.0.0.1")
    fail(limits, "ada", "10.0.0.1")  # names are counted case-folded
    assert limits.retry_after("ADA", "10.0.0.1") > 0
    assert limits.begin("ada", "10.0.0.1") > 0  # refused, and not counted
    # The owner, from elsewhere, still gets in; the guesser's address may try other names.
    assert limits.retry_after("ada", "10.0.0.9") == 0
    assert limits.retry_after("bob", "10.0.0.1") == 0


def test_guesses_spread_over_addresses_or_names_meet_the_slower_back_off() -> None:
    limits = LoginLimits(attempts=2, window=60, clock=Clock())
    for number in range(2 * LoginLimits.SPREAD):  # 20 addresses, one guess each
        fail(limits, "ada", f"10.0.1.{number}")
    assert limits.retry_after("ada", "10.0.0.9") > 0  # the account, from anywhere
    for number in range(2 * LoginLimits.SPREAD):  # one address, 20 names
        fail(limits, f"user{number}", "10.0.2.1")
    assert limits.retry_after("someone-else", "10.0.2.1") > 0  # the address, for any name


def test_attempts_at_once_are_counted_before_any_password_is_checked() -> None:
    limits = LoginLimits(attempts=10, window=300, clock=Clock())
    began = [limits.begin("ada", "10.0.0.1") for _ in range(30)]  # 30 sent together
    assert began.count(0) == 10 and all(wait > 0 for wait in began[10:])


def test_a_right_password_takes_back_its_own_count_and_clears_the_pair() -> None:
    limits = LoginLimits(attempts=2, window=60, clock=Clock())
    fail(limits, "ada", "10.0.0.1")
    assert limits.begin("ada", "10.0.0.1") == 0
    limits.succeeded("ada", "10.0.0.1")
    assert limits.retry_after("ada", "10.0.0.1") == 0
    # Successes from one address (an office behind one NAT) never add up to a block.
    for _ in range(100):
        assert limits.begin("bob", "10.0.0.1") == 0
        limits.succeeded("bob", "10.0.0.1")
    # The address's earlier failure stays counted: one account of an attacker's own cannot
    # reset the count of their guesses at others.
    assert limits.by_address.retry_after("10.0.0.1") == 0 and len(limits.by_address) == 1
