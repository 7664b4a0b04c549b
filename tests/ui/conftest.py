"""The browser tests: one `codenode run` and one headless Chromium for the whole session, a
fresh browser context (cookies, storage) for every test.

Every page a test opens is watched: a console error, an uncaught exception or a
Content-Security-Policy violation fails the test (``Watch.allow`` accepts an expected one).
Screenshots go to ``$CODENODE_UI_SCREENSHOTS`` if it is set, else to the test's tmp_path; a
failing test leaves a screenshot of each of its pages there too.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Generator, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    expect,
    sync_playwright,
)

from tests.frontend.live import Client
from tests.ui.editor import open_notebook
from tests.ui.site import SCREENSHOTS, Site, make_notebook, session_cookies

CHROMIUM = "/usr/bin/chromium"
TIMEOUT_MS = 20_000  # engines start on a busy machine too

expect.set_options(timeout=TIMEOUT_MS)


FAILED = pytest.StashKey[bool]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Remember whether the test itself failed, for the screenshots taken at teardown."""
    report = yield
    if report.when == "call":
        item.stash[FAILED] = report.failed
    return report


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """A real `codenode run` with sign-up open, shared by every browser test."""
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (make chromium)")
    running = Site(tmp_path_factory.mktemp("codenode-home"))
    running.start()
    yield running
    running.stop()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Headless Debian Chromium (never a downloaded browser), one for the whole session."""
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (make chromium)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox"]
        )
        yield launched
        launched.close()


class Watch:
    """What went wrong in the pages of one test: console errors, exceptions, CSP violations."""

    def __init__(self) -> None:
        self.problems: list[str] = []
        self.allowed: list[re.Pattern[str]] = []

    def allow(self, pattern: str) -> None:
        """Accept console errors matching *pattern* (an expected 404, say) in this test."""
        self.allowed.append(re.compile(pattern))

    def attach(self, page: Page) -> None:
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.problems.append(f"uncaught: {error}"))

    def _console(self, message: ConsoleMessage) -> None:
        # Chromium reports CSP violations ("Refused to ...") and failed loads as console errors.
        if message.type == "error":
            where = message.location.get("url", "")
            self.problems.append(f"console error: {message.text} ({where})")

    def unexpected(self) -> list[str]:
        return [p for p in self.problems if not any(a.search(p) for a in self.allowed)]


@pytest.fixture
def watch() -> Watch:
    """This test's problems; fails the test at teardown if any page had one not allowed."""
    return Watch()


@pytest.fixture
def shots(tmp_path: Path, request: pytest.FixtureRequest) -> Path:
    """The folder this test's screenshots go to."""
    if not SCREENSHOTS:
        return tmp_path
    folder = Path(SCREENSHOTS) / re.sub(r"[^\w.-]+", "_", request.node.name)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def screenshot(shots: Path) -> Callable[[Page, str], Path]:
    """``screenshot(page, "bookshelf")``: save the whole page as bookshelf.png; its path."""

    def take(page: Page, name: str) -> Path:
        path = shots / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


OpenContext = Callable[..., BrowserContext]


@pytest.fixture
def new_context(
    browser: Browser, site: Site, watch: Watch, shots: Path, request: pytest.FixtureRequest
) -> Iterator[OpenContext]:
    """``new_context(client=None, **options)``: a fresh browser context, signed in as *client*.

    Every page opened in it is watched. At teardown: screenshots if the test failed, the
    contexts closed, then the test fails if a page had an unexpected problem.
    """
    contexts: list[BrowserContext] = []

    def open_context(client: Client | None = None, **options: object) -> BrowserContext:
        options = {"viewport": {"width": 1280, "height": 800}, **options}
        context = browser.new_context(base_url=site.url, **options)  # type: ignore[arg-type]
        context.set_default_timeout(TIMEOUT_MS)
        context.on("page", watch.attach)
        if client is not None:
            context.add_cookies(session_cookies(client))  # type: ignore[arg-type]
        contexts.append(context)
        return context

    yield open_context
    if request.node.stash.get(FAILED, False):
        for i, context in enumerate(contexts):
            for j, page in enumerate(context.pages):
                with contextlib.suppress(Exception):  # a crashed page has nothing to show
                    page.screenshot(path=str(shots / f"failed-{i}-{j}.png"), full_page=True)
    for context in contexts:
        context.close()
    problems = watch.unexpected()
    if problems:
        pytest.fail("problems in the browser:\n" + "\n".join(problems), pytrace=False)


@pytest.fixture
def user(site: Site) -> Client:
    """A new account, signed in over HTTP."""
    return site.sign_up()


@pytest.fixture
def page(new_context: OpenContext, user: Client) -> Page:
    """A page in a fresh context signed in as ``user``."""
    return new_context(user).new_page()


OpenNotebook = Callable[..., dict[str, object]]


@pytest.fixture
def opened(page: Page, user: Client) -> OpenNotebook:
    """``opened([(kind, source), ...], title=...)``: a notebook of ``user``'s, open on ``page``."""

    def make_and_open(cells: list[tuple[str, str]], title: str = "Test") -> dict[str, object]:
        notebook = make_notebook(user, cells, title)
        open_notebook(page, str(notebook["id"]))
        return notebook

    return make_and_open
