"""Marketing's day in headless Chromium against a real `teller serve`: log in, open the dashboard, click a row to
filter, change the period, export a report as CSV, switch to Dutch; screenshots of each page go to
test-artifacts/."""

from __future__ import annotations

import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

from tests.conftest import CHROME_UA
from tests.server import TellerServer
from tests.test_breakdowns import FIREFOX_UA, IPHONE_UA

pytestmark = pytest.mark.browser
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
PASSWORD = "een lang wachtwoord voor marketing"
HITS = [  # (visitor, user agent, page, extra parameters)
    ("1" * 16, CHROME_UA, "/", {"urlref": "https://www.google.com/"}),
    ("1" * 16, CHROME_UA, "/prijzen", {}),
    ("2" * 16, IPHONE_UA, "/", {"urlref": "https://www.facebook.com/"}),
    ("2" * 16, IPHONE_UA, "/blog", {}),
    ("3" * 16, FIREFOX_UA, "/prijzen", {"e_c": "Video", "e_a": "Play"}),
    ("4" * 16, IPHONE_UA, "/?utm_source=nieuwsbrief&utm_campaign=winter", {}),
]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[TellerServer]:
    server = TellerServer(tmp_path / "teller").start()
    server.cli("site", "add", "--name", "Fietsen", "--domain", "fietsen.example")
    server.add_user("marketing@fietsen.example", PASSWORD)
    server.cli("user", "grant", "marketing@fietsen.example", "--site", "1", "--role", "viewer")
    for visitor, agent, path, extra in HITS:
        query = urllib.parse.urlencode({"idsite": "1", "rec": "1", "url": f"https://fietsen.example{path}",
                                        "_id": visitor, **extra})
        request = urllib.request.Request(f"{server.url}matomo.php?{query}", headers={"User-Agent": agent})
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status in (200, 204)
    yield server
    server.stop()


def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)


def test_log_in_filter_change_period_export_and_switch_language(browser: Browser, server: TellerServer) -> None:
    context = browser.new_context(user_agent=CHROME_UA, locale="en-GB", accept_downloads=True)
    outside: list[str] = []
    page = context.new_page()
    page.on("request", lambda request: outside.append(request.url)
            if not request.url.startswith(server.url) else None)
    page.goto(server.url + "sites/1?period=7d")
    page.fill("input[name=email]", "marketing@fietsen.example")
    page.fill("input[name=password]", PASSWORD)
    page.click("form.login button")
    page.wait_for_url("**/sites/1?period=7d")
    page.wait_for_function("document.querySelector('#pageviews').innerText !== '0'", timeout=15000)
    # The spool ships about once a second: reload until every hit is in.
    for _ in range(50):
        if page.locator("#visits").inner_text() == "4":
            break
        page.wait_for_timeout(300)
        page.reload()
    assert page.locator("#visits").inner_text() == "4"
    assert page.locator("#pageviews").inner_text() == "5"
    shot(page, "dashboard.png")

    # Click a row: the whole dashboard is filtered, and the filter is in the URL.
    page.locator("#panel-device a", has_text="smartphone").click()
    page.wait_for_url("**filter=device%3D%3Dsmartphone**")
    assert page.locator("#filters").is_visible()
    assert page.locator("#visits").inner_text() == "2"
    assert "/prijzen" not in page.locator("#panel-page").inner_text()
    shot(page, "dashboard-filtered.png")

    # Change the period: the filter stays.
    page.click("nav.periods a:has-text('Last 30 days')")
    page.wait_for_url("**period=30d**")
    assert "filter=device%3D%3Dsmartphone" in page.url and page.locator("#visits").inner_text() == "2"

    # Export a report as CSV: the filtered rows only.
    with page.expect_download() as download_info:
        page.locator("#panel-page a", has_text="Export CSV").click()
    csv_text = Path(download_info.value.path()).read_text()
    assert csv_text.startswith("value,visitors,visits,actions") and "/blog" in csv_text and "/prijzen" not in csv_text

    # A panel's tab shows a related report in its place (browser versions beside browsers), filtered alike.
    page.locator("#panel-browser nav.tabs a", has_text="Browser versions").click()
    page.wait_for_url("**tab=browser_version**")
    browser_panel = page.locator("#panel-browser")
    assert browser_panel.get_attribute("data-dimension") == "browser_version"
    assert browser_panel.locator("h2").inner_text() == "Browser versions"
    assert browser_panel.locator("tbody a").count() >= 1 and "filter=device%3D%3Dsmartphone" in page.url

    # Switch to Dutch: labels and numbers follow, the view is kept.
    page.click("nav.languages a[hreflang=nl]")
    page.wait_for_url("**lang=nl**")
    assert page.locator("html").get_attribute("lang") == "nl"
    assert "Unieke bezoekers" in page.content() and "Gefilterd op" in page.content()
    assert "filter=device%3D%3Dsmartphone" in page.url and "tab=browser_version" in page.url
    assert page.locator("#panel-browser h2").inner_text() == "Browserversies"
    shot(page, "dashboard-nl.png")

    page.goto(server.url)
    shot(page, "sites.png")
    assert outside == []  # no request to anyone but Teller
    context.close()
