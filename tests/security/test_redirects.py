"""Open redirects: ``/login?next=...`` and ``/signup?next=...`` send the browser on after
signing in; only to a path of this site, whatever the text of ``next`` (issue 13, item 2).

In a real browser (Debian's Chromium, as the browser tests): what leaves the site is how the
browser reads the URL (``/<tab>/evil`` is ``//evil``), not how a test would. Playwright runs
in a thread of its own here, so that this module and tests/ui (whose session-wide browser
may be open in the main thread) each have their own.
"""

from __future__ import annotations

import concurrent.futures
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from tests.frontend.live import PASSWORD
from tests.ui.conftest import CHROMIUM, TIMEOUT_MS
from tests.ui.site import Site

pytestmark = pytest.mark.slow  # a real `codenode run` and Chromium

ELSEWHERE = [
    "/\t/evil.example/",
    "/\n/evil.example/",
    "/\r/evil.example/",
    "//evil.example/",
    "/\\evil.example/",
    "/\\/evil.example/",
    "https://evil.example/",
    "http:evil.example",
    "javascript:alert(1)",
    "/./\t/evil.example",
    "/.//evil.example/",
    "\t//evil.example/",
    " //evil.example/",
    "evil.example",
]
WITHIN = [("/settings", "/settings"), ("/settings?tab=1#top", "/settings?tab=1#top"), ("/", "/")]
HOW = ("login", "signup")


@dataclass
class Outcome:
    """Where the browser ended up after signing in, and what it asked of other sites."""

    url: str = ""
    bookshelf: bool = False
    elsewhere: list[str] = field(default_factory=list)
    problem: str = ""


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (make chromium)")
    running = Site(tmp_path_factory.mktemp("codenode-home"))
    running.start()
    yield running
    running.stop()


def _sign_in(page: Page, site: Site, how: str, next_value: str) -> None:
    query = "?next=" + quote(next_value, safe="")
    if how == "signup":
        page.goto("/signup" + query)
        page.fill("input[name=username]", f"redirected{secrets.token_hex(3)}")
        page.fill("input[name=password]", PASSWORD)
        page.fill("input[name=password2]", PASSWORD)
        page.get_by_role("button", name="Sign up").click()
    else:
        name = site.sign_up().user["username"]  # type: ignore[index]
        page.goto("/login" + query)
        page.fill("input[name=username]", name)
        page.fill("input[name=password]", PASSWORD)
        page.get_by_role("button", name="Sign in").click()


def _run_all(site: Site, cases: list[tuple[str, str, str]]) -> dict[tuple[str, str], Outcome]:
    """Each (how, next, landing) case in a fresh browser context; landing "" waits for the
    bookshelf, else for that path."""
    outcomes = {}
    own = urlsplit(site.url).netloc
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox"]
        )
        try:
            for how, next_value, landing in cases:
                outcome = Outcome()
                context = browser.new_context(base_url=site.url)
                context.set_default_timeout(TIMEOUT_MS)
                page = context.new_page()
                page.on(
                    "request",
                    lambda r, o=outcome: (
                        None  # type: ignore[misc]
                        if urlsplit(r.url).netloc == own or r.url.startswith("data:")
                        else o.elsewhere.append(r.url)
                    ),
                )
                try:
                    _sign_in(page, site, how, next_value)
                    if landing:
                        expect(page).to_have_url(site.url + landing)
                    else:
                        button = page.get_by_role("button", name="New notebook")
                        expect(button).to_be_visible()
                        outcome.bookshelf = True
                    outcome.url = page.url
                except Exception as exc:  # the outcome says what went wrong
                    outcome.problem = f"{type(exc).__name__}: {exc}"[:500]
                    outcome.url = page.url
                context.close()
                outcomes[(how, next_value)] = outcome
        finally:
            browser.close()
    return outcomes


@pytest.fixture(scope="module")
def outcomes(site: Site) -> dict[tuple[str, str], Outcome]:
    cases = [(how, value, "") for how in HOW for value in ELSEWHERE]
    cases += [("login", value, landing) for value, landing in WITHIN]
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(_run_all, site, cases).result()


@pytest.mark.timeout(300)  # the first test waits for every case to run
@pytest.mark.parametrize("how", HOW)
@pytest.mark.parametrize("elsewhere", ELSEWHERE)
def test_next_never_leaves_the_site(
    outcomes: dict[tuple[str, str], Outcome], site: Site, how: str, elsewhere: str
) -> None:
    outcome = outcomes[(how, elsewhere)]
    assert not outcome.problem, outcome
    assert outcome.bookshelf and outcome.url == site.url + "/", outcome
    assert outcome.elsewhere == [], outcome


@pytest.mark.timeout(300)
@pytest.mark.parametrize(("next_value", "landing"), WITHIN)
def test_next_within_the_site_is_followed(
    outcomes: dict[tuple[str, str], Outcome], site: Site, next_value: str, landing: str
) -> None:
    outcome = outcomes[("login", next_value)]
    assert not outcome.problem, outcome
    assert outcome.url == site.url + landing
