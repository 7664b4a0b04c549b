"""Open redirects: ``/login?next=...`` and ``/signup?next=...`` send the browser on after
signing in; only to a path of this site, whatever the text of ``next`` (issue 13, item 2).

In a real browser (Debian's Chromium, the browser tests' fixtures): what leaves the site is
how the browser reads the URL (``/<tab>/evil`` is ``//evil``), not how a test would.
"""

from __future__ import annotations

import secrets
from urllib.parse import quote, urlsplit

import pytest
from playwright.sync_api import Page, expect

from tests.frontend.live import PASSWORD
from tests.ui.conftest import (  # the browser tests' fixtures, for these tests too
    OpenContext,
    browser,
    new_context,
    shots,
    site,
    watch,
)
from tests.ui.site import Site

__all__ = ["browser", "new_context", "shots", "site", "watch"]

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


def sign_up_through(page: Page, next_value: str) -> None:
    page.goto("/signup?next=" + quote(next_value, safe=""))
    page.fill("input[name=username]", f"redirected{secrets.token_hex(3)}")
    page.fill("input[name=password]", PASSWORD)
    page.fill("input[name=password2]", PASSWORD)
    page.get_by_role("button", name="Sign up").click()


def sign_in_through(page: Page, site: Site, next_value: str) -> None:
    name = site.sign_up().user["username"]  # type: ignore[index]
    page.goto("/login?next=" + quote(next_value, safe=""))
    page.fill("input[name=username]", name)
    page.fill("input[name=password]", PASSWORD)
    page.get_by_role("button", name="Sign in").click()


@pytest.mark.parametrize("how", ["login", "signup"])
@pytest.mark.parametrize("elsewhere", ELSEWHERE)
def test_next_never_leaves_the_site(
    new_context: OpenContext, site: Site, how: str, elsewhere: str
) -> None:
    page = new_context().new_page()
    left: list[str] = []
    own = urlsplit(site.url).netloc
    page.on("request", lambda r: None if urlsplit(r.url).netloc == own else left.append(r.url))
    if how == "login":
        sign_in_through(page, site, elsewhere)
    else:
        sign_up_through(page, elsewhere)
    expect(page.get_by_role("button", name="New notebook")).to_be_visible()
    assert page.url == site.url + "/"
    assert left == []


@pytest.mark.parametrize(
    ("next_value", "landing"),
    [("/settings", "/settings"), ("/settings?tab=1#top", "/settings?tab=1#top"), ("/", "/")],
)
def test_next_within_the_site_is_followed(
    new_context: OpenContext, site: Site, next_value: str, landing: str
) -> None:
    page = new_context().new_page()
    sign_in_through(page, site, next_value)
    expect(page).to_have_url(site.url + landing)
