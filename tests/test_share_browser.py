"""A shared link in headless Chromium, embedded in an iframe of a page from another origin (the site owner's
intranet, played by a static server on localhost) against a real `teller serve`: the numbers render inside the
frame, nothing is fetched from anyone else, and the logged-in pages still refuse to be framed. The screenshot
goes to test-artifacts/shared-link.png."""

from __future__ import annotations

import re
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser

from tests.browser import static_site
from tests.conftest import CHROME_UA
from tests.server import TellerServer
from tests.test_breakdowns import IPHONE_UA

pytestmark = pytest.mark.browser
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
HITS = [  # (visitor, user agent, page)
    ("1" * 16, CHROME_UA, "/"), ("1" * 16, CHROME_UA, "/prijzen"), ("2" * 16, IPHONE_UA, "/"),
    ("3" * 16, IPHONE_UA, "/blog"),
]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[TellerServer]:
    server = TellerServer(tmp_path / "teller").start()
    server.cli("site", "add", "--name", "Fietsen", "--domain", "fietsen.example")
    server.cli("site", "add", "--name", "Andere Klant", "--domain", "andere.example")
    for site, (visitor, agent, path) in [(1, hit) for hit in HITS] + [(2, ("9" * 16, CHROME_UA, "/andere-geheim"))]:
        domain = "fietsen.example" if site == 1 else "andere.example"
        query = urllib.parse.urlencode({"idsite": str(site), "rec": "1", "url": f"https://{domain}{path}",
                                        "_id": visitor})
        request = urllib.request.Request(f"{server.url}matomo.php?{query}", headers={"User-Agent": agent})
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status in (200, 204)
    yield server
    server.stop()


def test_a_shared_link_renders_inside_another_sites_iframe(browser: Browser, server: TellerServer,
                                                           tmp_path: Path) -> None:
    # Through the running server's admin API, as an operator would while Teller runs.
    output = server.cli("share", "add", "--site", "1", "--label", "intranet")
    found = re.search(r"(http://\S+/share/[A-Za-z0-9_-]+)", output)
    assert found, output
    share_url = found.group(1)
    intranet = tmp_path / "intranet"
    intranet.mkdir()
    (intranet / "index.html").write_text(
        "<!doctype html><title>Intranet</title><h1>Onze cijfers</h1>"
        f'<iframe id="stats" src="{share_url}?embed=1&period=7d&lang=nl" width="1000" height="1500"></iframe>'
        f'<iframe id="dashboard" name="dashboard" src="{server.url}sites/1" width="400" height="200"></iframe>')

    with static_site(intranet) as intranet_url:
        assert not intranet_url.startswith(server.url)  # another origin: localhost vs 127.0.0.1
        context = browser.new_context(user_agent=CHROME_UA, locale="nl-NL", viewport={"width": 1100, "height": 900})
        page = context.new_page()
        outside: list[str] = []
        page.on("request", lambda request: outside.append(request.url)
                if not request.url.startswith((server.url, intranet_url)) else None)
        frame = page.frame_locator("#stats")
        # The spool ships about once a second: reload until every hit is in.
        for _ in range(50):
            page.goto(intranet_url)
            frame.locator("#pageviews").wait_for(timeout=15000)
            if frame.locator("#pageviews").inner_text() == "4":
                break
            page.wait_for_timeout(300)
        assert frame.locator("#pageviews").inner_text() == "4"
        assert frame.locator("#visits").inner_text() == "3"
        assert "/prijzen" in frame.locator("#panel-page").inner_text()
        text = frame.locator("body").inner_text().lower()  # (labels are upper-cased by the stylesheet)
        assert "unieke bezoekers" in text and "andere klant" not in text and "andere-geheim" not in text
        assert frame.locator("header").count() == 0  # ?embed=1: no page chrome
        # The logged-in dashboard (here: its login page) refuses the frame; Chromium shows its error page there.
        dashboard_frame = page.frame(name="dashboard")
        assert dashboard_frame is not None and dashboard_frame.url.startswith("chrome-error://"), \
            dashboard_frame and dashboard_frame.url
        assert page.frame_locator("#dashboard").locator("form").count() == 0
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "shared-link.png"), full_page=True)

        # Clicking a row filters within the frame, under the shared link.
        frame.locator("#panel-device a", has_text="smartphone").click()
        frame.locator("#filters").wait_for(timeout=15000)
        assert frame.locator("#visits").inner_text() == "2"
        shared_frame = next(item for item in page.frames if "/share/" in item.url)
        assert shared_frame.url.startswith(share_url) and "embed=1" in shared_frame.url
        assert outside == []
        context.close()
