"""Step 3 of the quick start, in a real browser: paste the printed snippet into a local page, open it, and the
page view is counted, with matomo.js-compatible cookies."""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser

from tests.browser import static_site
from tests.conftest import CHROME_UA
from tests.helpers import counts
from tests.server import TellerServer

pytestmark = pytest.mark.browser
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>Hello from a local page</title>
{snippet}
</head><body><h1>A page of my own</h1><a id="out" href="https://example.org/">elsewhere</a></body></html>
"""


@pytest.fixture
def server(tmp_path: Path) -> Iterator[TellerServer]:
    server = TellerServer(tmp_path / "teller").start()
    yield server
    server.stop()


@pytest.fixture
def page_host(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """A plain static web server on localhost, like a developer's own test page."""
    root = tmp_path / "site"
    root.mkdir()
    with static_site(root) as base:
        yield root, base


def cookie_hash(domain_and_path: str) -> str:
    return hashlib.sha1(domain_and_path.encode()).hexdigest()[:4]  # noqa: S324 - matomo.js's cookie-name hash


def test_pasted_snippet_counts_the_pageview_and_sets_matomo_cookies(
        browser: Browser, server: TellerServer, page_host: tuple[Path, str]) -> None:
    server.cli("site", "add", "--name", "My local page", "--domain", "localhost", "--domain", "127.0.0.1")
    snippet = server.cli("snippet", "--site", "1")
    root, base = page_host
    (root / "index.html").write_text(PAGE.format(snippet=snippet))

    # Headless Chromium says "HeadlessChrome" and Teller drops it as a bot; a person's browser does not.
    context = browser.new_context(user_agent=CHROME_UA)
    tab = context.new_page()
    outside: list[str] = []
    tab.on("request", lambda request: outside.append(request.url)
           if not request.url.startswith((base, server.url)) else None)
    started = int(time.time())
    tab.goto(base + "index.html")
    assert server.wait_for_pageviews(1, 1), "the page view did not arrive"

    summary = server.summary(1)
    assert summary["top_pages"] == [{"page": "/index.html", "visitors": 1, "pageviews": 1}]
    assert counts(summary) == (1, 1, 1)
    assert outside == []  # no request to anyone but the page's host and Teller

    cookies = {cookie["name"]: cookie for cookie in context.cookies(base)}
    suffix = f".1.{cookie_hash('localhost/')}"
    visitor_cookie = cookies[f"_pk_id{suffix}"]
    match = re.fullmatch(r"([0-9a-f]{16})\.(\d{10})\.", visitor_cookie["value"])
    assert match, visitor_cookie["value"]
    created = int(match.group(2))
    assert abs(created - started) < 60
    assert abs(visitor_cookie["expires"] - (created + 33_955_200)) < 60  # 393 days from creation, as matomo.js
    assert visitor_cookie["sameSite"] == "Lax" and visitor_cookie["path"] == "/"
    assert not visitor_cookie["httpOnly"]
    session_cookie = cookies[f"_pk_ses{suffix}"]
    assert session_cookie["value"] == "1"
    assert abs(session_cookie["expires"] - (time.time() + 1800)) < 60

    # A reload is the same visitor and the same visit.
    tab.reload()
    assert server.wait_for_pageviews(1, 2)
    assert counts(server.summary(1)) == (1, 1, 2)

    # Step 2 of the quick start: the dashboard shows it, after logging in.
    server.add_user("owner@local.example", "the owner's passphrase")
    server.cli("user", "grant", "owner@local.example", "--site", "1", "--role", "admin")
    dashboard = context.new_page()
    dashboard.goto(server.url + "sites/1?period=30d")
    assert dashboard.url.startswith(server.url + "login?next=")
    ARTIFACTS.mkdir(exist_ok=True)
    dashboard.screenshot(path=str(ARTIFACTS / "login.png"), full_page=True)
    dashboard.fill("input[name=email]", "owner@local.example")
    dashboard.fill("input[name=password]", "the owner's passphrase")
    dashboard.click("form.login button")
    dashboard.wait_for_url(server.url + "sites/1?period=30d")
    session = next(cookie for cookie in context.cookies(server.url) if cookie["name"] == "teller_session")
    assert session["httpOnly"] and session["sameSite"] == "Lax"
    assert dashboard.locator("#pageviews").inner_text() == "2"
    assert "/index.html" in dashboard.locator("#panel-page").inner_text()
    dashboard.screenshot(path=str(ARTIFACTS / "dashboard-local-page.png"), full_page=True)
    dashboard.click("form.account button")  # log out
    dashboard.wait_for_url(server.url + "login")
    dashboard.goto(server.url + "sites/1?period=30d")
    assert dashboard.url.startswith(server.url + "login?next=")
    context.close()


def test_a_local_file_counts_too(browser: Browser, server: TellerServer, tmp_path: Path) -> None:
    server.cli("site", "add", "--name", "Files", "--domain", "localhost")
    page = tmp_path / "page.html"
    page.write_text(PAGE.format(snippet=server.cli("snippet", "--site", "1")))
    context = browser.new_context(user_agent=CHROME_UA)
    context.new_page().goto(page.as_uri())
    assert server.wait_for_pageviews(1, 1), "a page opened from a file was not counted"
    assert server.summary(1)["top_pages"][0]["page"] == str(page)
    context.close()


def test_cookie_lifetimes_and_do_not_track_follow_the_sites_settings(
        browser: Browser, server: TellerServer, page_host: tuple[Path, str]) -> None:
    # One customer's policy: _pk_id 14 days, _pk_ref 30 minutes, and no tracking under Do Not Track.
    server.cli("site", "add", "--name", "Strict", "--domain", "localhost", "--visitor-cookie", "14d",
               "--referral-cookie", "30m", "--respect-dnt")
    root, base = page_host
    (root / "index.html").write_text(PAGE.format(snippet=server.cli("snippet", "--site", "1")))

    context = browser.new_context(user_agent=CHROME_UA)
    tab = context.new_page()
    tab.goto(base + "index.html?mtm_campaign=lente")  # a campaign, so _pk_ref is written
    assert server.wait_for_pageviews(1, 1)
    cookies = {cookie["name"]: cookie for cookie in context.cookies(base)}
    suffix = f".1.{cookie_hash('localhost/')}"
    created = int(cookies[f"_pk_id{suffix}"]["value"].split(".")[1])
    assert abs(cookies[f"_pk_id{suffix}"]["expires"] - (created + 14 * 86400)) < 60
    assert abs(cookies[f"_pk_ref{suffix}"]["expires"] - (time.time() + 1800)) < 60
    context.close()

    private = browser.new_context(user_agent=CHROME_UA)
    private.add_init_script("Object.defineProperty(navigator, 'doNotTrack', {get: () => '1'})")
    sent: list[str] = []
    page = private.new_page()
    page.on("request", lambda request: sent.append(request.url) if "matomo.php" in request.url else None)
    page.goto(base + "index.html")
    page.wait_for_timeout(1500)
    assert sent == []
    assert counts(server.summary(1)) == (1, 1, 1)
    private.close()
