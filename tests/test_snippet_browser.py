"""The tracker's `_paq` API in a real browser: cookies, the requests each call sends, heartbeat, single-page apps,
consent, Do Not Track / Global Privacy Control and the opt-out. Pages come from a local web server on `localhost`
and load the minified build (collector/static/teller.min.js), the script Teller serves; hits go to a real
`teller serve`. Events, searches, goals and links are checked on the requests the browser sends; page views also
in the Stats API."""

from __future__ import annotations

import hashlib
import itertools
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser

from tests.browser import CollectorTab, add_localhost_site, static_site
from tests.conftest import CHROME_UA
from tests.server import TellerServer

pytestmark = pytest.mark.browser
STATIC = Path(__file__).resolve().parent.parent / "collector" / "static"
VISITOR_TTL = 33_955_200  # 393 days, matomo.js
THIRTY_YEARS = 946_080_000  # s, the consent cookies' default lifetime
CHROMIUM_CAP = 400 * 86_400  # Chromium stores no cookie for longer than 400 days
HASH = hashlib.sha1(b"localhost/").hexdigest()[:4]  # noqa: S324 - matomo.js's cookie-name hash
PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>{title}</title>
<script>
  {config}
  var _paq = window._paq = window._paq || [];
  {calls}
  _paq.push(['setTrackerUrl', '{tracker}matomo.php']);
  _paq.push(['setSiteId', '{site}']);
</script>
<script async src="/teller.min.js"></script>
</head><body><h1>{title}</h1>
<a id="out" href="https://example.org/page">elsewhere</a>
<a id="dl" href="/files/report.pdf">report</a>
<a id="alias" href="https://shop.example.net/cart">our shop</a>
<a id="inside" href="/other.html">inside</a>
<script>document.addEventListener('click', function (e) {{ e.preventDefault(); }});</script>
</body></html>
"""
_site_names = itertools.count(1)


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    """A plain static web server on localhost serving the pages and the minified tracker."""
    root = tmp_path_factory.mktemp("site")
    shutil.copy(STATIC / "teller.min.js", root / "teller.min.js")
    with static_site(root) as base:
        yield root, base


class Tab(CollectorTab):
    def __init__(self, browser: Browser, server: TellerServer, init_script: str = "") -> None:
        super().__init__(browser, server.url + "matomo.php", CHROME_UA, init_script=init_script)

    def open(self, url: str) -> None:
        self.page.goto(url)
        self.page.wait_for_function("window._paq && !(window._paq instanceof Array)")  # the tracker ran

    def push(self, *call: Any) -> None:
        self.page.evaluate("call => _paq.push(call)", list(call))


@pytest.fixture
def site(server: TellerServer) -> int:
    return add_localhost_site(server, f"Snippet test {next(_site_names)}")


@pytest.fixture
def tabs(browser: Browser, server: TellerServer) -> Iterator[list[Tab]]:
    opened: list[Tab] = []
    yield opened
    for tab in opened:
        tab.close()


def page(host: tuple[Path, str], server: TellerServer, site: int, name: str, calls: str = "",
         config: str = "", title: str = "A page") -> str:
    root, base = host
    default = "_paq.push(['trackPageView']);\n  _paq.push(['enableLinkTracking']);"
    (root / f"{name}.html").write_text(PAGE.format(title=title, config=config, calls=calls or default,
                                                   tracker=server.url, site=site))
    return f"{base}{name}.html"


def new_tab(tabs: list[Tab], browser: Browser, server: TellerServer, init_script: str = "") -> Tab:
    tab = Tab(browser, server, init_script)
    tabs.append(tab)
    return tab


def pk_cookies(tab: Tab) -> list[str]:
    return [name for name in tab.cookies() if name.startswith("_pk_")]


def test_cookies_are_matomos_and_lifetimes_follow_teller_config(
        browser: Browser, server: TellerServer, host: tuple[Path, str], site: int, tabs: list[Tab]) -> None:
    tab = new_tab(tabs, browser, server)
    started = int(time.time())
    tab.open(page(host, server, site, "cookies"))
    hit = tab.wait_hits(1)[0]
    cookies = tab.cookies()
    visitor = cookies[f"_pk_id.{site}.{HASH}"]
    match = re.fullmatch(r"([0-9a-f]{16})\.(\d{10})\.", visitor["value"])
    assert match, visitor["value"]
    assert hit["_id"] == match.group(1) and hit["_idn"] == "1" and hit["cookie"] == "1"
    created = int(match.group(2))
    assert abs(created - started) < 60
    assert abs(visitor["expires"] - (created + VISITOR_TTL)) < 60
    session = cookies[f"_pk_ses.{site}.{HASH}"]
    assert session["value"] == "1" and abs(session["expires"] - (time.time() + 1800)) < 60
    for cookie in (visitor, session):
        assert cookie["sameSite"] == "Lax" and cookie["path"] == "/" and not cookie["httpOnly"]
    assert server.wait_for_pageviews(site, 1)

    # The per-site config the server bakes in: a 14-day visitor cookie.
    short = new_tab(tabs, browser, server)
    short.open(page(host, server, site, "cookies-14d", config="var tellerConfig = {visitorCookieTimeout: 1209600};"))
    short.wait_hits(1)
    visitor = short.cookies()[f"_pk_id.{site}.{HASH}"]
    created = int(visitor["value"].split(".")[1])
    assert abs(visitor["expires"] - (created + 1_209_600)) < 60
    assert server.wait_for_pageviews(site, 2)


def test_each_call_sends_its_request(
        browser: Browser, server: TellerServer, host: tuple[Path, str], site: int, tabs: list[Tab]) -> None:
    tab = new_tab(tabs, browser, server)
    url = page(host, server, site, "calls", title="Calls", calls="""
  _paq.push(['setDomains', ['*.example.net']]);
  _paq.push(['trackPageView']);
  _paq.push(['enableLinkTracking']);""")
    tab.open(url)
    view = tab.wait_hits(1)[0]
    assert view["action_name"] == "Calls" and view["url"] == url and len(view["pv_id"]) == 6
    assert "ca" not in view and "consent" not in view and "ping" not in view

    tab.page.click("#out")
    tab.page.click("#alias")  # a setDomains host: internal, not an outlink
    tab.page.click("#inside")
    tab.page.click("#dl")
    tab.push("setCustomDimension", 1, "blue")
    tab.push("trackEvent", "Video", "Play", "Intro", 3)
    tab.push("trackSiteSearch", "red shoes", "Shop", 12)
    tab.push("trackGoal", 2, 9.5)
    tab.push("trackLink", "https://example.com/doc.pdf", "download")
    hits = tab.wait_hits(7)
    tab.quiet(7)
    outlink, download, event, search, goal, manual = hits[1:]
    assert outlink["link"] == "https://example.org/page"
    assert download["download"] == host[1] + "files/report.pdf"
    assert {key: event[key] for key in ("e_c", "e_a", "e_n", "e_v", "ca")} == {
        "e_c": "Video", "e_a": "Play", "e_n": "Intro", "e_v": "3", "ca": "1"}
    assert (search["search"], search["search_cat"], search["search_count"]) == ("red shoes", "Shop", "12")
    assert (goal["idgoal"], goal["revenue"]) == ("2", "9.5")
    assert manual["download"] == "https://example.com/doc.pdf"
    for hit in hits:
        assert hit["idsite"] == str(site) and hit["rec"] == "1" and hit["url"] == url
        assert hit["pv_id"] == view["pv_id"] and hit["_id"] == view["_id"]
    # A custom dimension goes with the requests after it.
    assert "dimension1" not in outlink and "dimension1" not in download
    assert event["dimension1"] == search["dimension1"] == goal["dimension1"] == "blue"
    assert server.wait_for_pageviews(site, 1)


def test_heartbeat_pings_after_activity_while_visible(
        browser: Browser, server: TellerServer, host: tuple[Path, str], site: int, tabs: list[Tab]) -> None:
    tab = new_tab(tabs, browser, server)
    tab.page.clock.install()
    tab.open(page(host, server, site, "heartbeat", calls="""
  _paq.push(['enableHeartBeatTimer', 5]);
  _paq.push(['trackPageView']);"""))
    view = tab.wait_hits(1)[0]
    tab.page.clock.run_for(6000)
    tab.quiet(1, 0.3)  # no activity, no ping
    tab.page.mouse.move(20, 20)
    tab.page.mouse.move(60, 80)
    tab.page.clock.run_for(5500)
    ping = tab.wait_hits(2)[1]
    assert ping["ping"] == "1" and ping["pv_id"] == view["pv_id"] and "action_name" not in ping
    tab.page.clock.run_for(6000)
    tab.quiet(2, 0.3)  # one ping per period with activity
    assert server.wait_for_pageviews(site, 1)


def test_single_page_app_page_views(
        browser: Browser, server: TellerServer, host: tuple[Path, str], site: int, tabs: list[Tab]) -> None:
    tab = new_tab(tabs, browser, server)
    url = page(host, server, site, "spa", title="Home", calls="""
  _paq.push(['enableHistoryTracking']);
  _paq.push(['trackPageView']);""")
    tab.open(url)
    first = tab.wait_hits(1)[0]
    tab.page.evaluate("document.title = 'Route two'; history.pushState({}, '', '/spa/two?tab=1')")
    second = tab.wait_hits(2)[1]
    assert second["action_name"] == "Route two" and second["url"] == host[1] + "spa/two?tab=1"
    assert second["urlref"] == url and second["pv_id"] != first["pv_id"] and second["_id"] == first["_id"]
    tab.page.evaluate("history.replaceState({scroll: 1}, '')")  # same URL: not a page view
    tab.quiet(2, 0.3)
    tab.page.go_back()
    third = tab.wait_hits(3)[2]
    assert third["url"] == url and third["urlref"] == second["url"]

    # What Matomo users do on a route change: setCustomUrl + trackPageView.
    tab.push("setCustomUrl", "/spa/manual")
    tab.push("setDocumentTitle", "Manual")
    tab.push("trackPageView")
    fourth = tab.wait_hits(4)[3]
    assert fourth["url"] == host[1] + "spa/manual" and fourth["action_name"] == "Manual"
    assert fourth["urlref"] == url and len({hit["pv_id"] for hit in tab.hits}) == 4
    assert server.wait_for_pageviews(site, 4)


def test_require_consent_holds_requests_until_consent(
        browser: Browser, server: TellerServer, host: tuple[Path, str], site: int, tabs: list[Tab]) -> None:
    tab = new_tab(tabs, browser, server)
    url = page(host, server, site, "consent", calls="""
  _paq.push(['requireConsent']);
  _paq.push(['trackPageView']);
  _paq.push(['enableLinkTracking']);""")
    tab.open(url)
    tab.push("trackEvent", "Form", "Open")
    tab.quiet(0)
    assert pk_cookies(tab) == []
    assert tab.page.evaluate("new Promise(r => _paq.push([function () { r(this.isUserOptedOut()); }]))") is True

    before = int(time.time() * 1000)
    tab.push("rememberConsentGiven")
    view, event = tab.wait_hits(2)
    assert view["action_name"] == "A page" and view["consent"] == "1" and view["url"] == url
    assert event["e_c"] == "Form" and event["consent"] == "1" and event["pv_id"] == view["pv_id"]
    assert re.fullmatch(r"[0-9a-f]{16}", view["_id"])
    cookies = tab.cookies()
    assert cookies[f"_pk_id.{site}.{HASH}"]["value"].startswith(view["_id"] + ".")
    consent = cookies["mtm_consent"]
    assert before <= int(consent["value"]) <= time.time() * 1000
    assert abs(consent["expires"] - (time.time() + CHROMIUM_CAP)) < 60
    assert abs(tab.written("mtm_consent")[1] - (time.time() + THIRTY_YEARS)) < 60
    assert server.wait_for_pageviews(site, 1)

    # Remembered: the next page sends at once.
    tab.open(url)
    again = tab.wait_hits(3)[2]
    assert again["consent"] == "1" and again["_id"] == view["_id"]
    assert server.wait_for_pageviews(site, 2)

    # Consent for this page only, with rememberCookieConsentGiven(hours).
    other = new_tab(tabs, browser, server)
    other.open(url)
    other.quiet(0, 0.3)
    other.push("setConsentGiven", False)
    assert other.wait_hits(1)[0]["_id"] == ""
    other.push("rememberCookieConsentGiven", 2)
    ping = other.wait_hits(2)[1]
    assert ping["ping"] == "1" and re.fullmatch(r"[0-9a-f]{16}", ping["_id"])
    assert abs(other.cookies()["mtm_cookie_consent"]["expires"] - (time.time() + 7200)) < 60
    assert "mtm_consent" not in other.cookies()


def test_without_cookies(
        browser: Browser, server: TellerServer, host: tuple[Path, str], site: int, tabs: list[Tab]) -> None:
    pages = {
        "disableCookies": page(host, server, site, "no-cookies", calls="""
  _paq.push(['trackPageView']);
  _paq.push(['enableLinkTracking']);
  _paq.push(['disableCookies']);"""),
        "cookieless": page(host, server, site, "cookieless", config="var tellerConfig = {cookieless: true};"),
    }
    for how, url in pages.items():
        tab = new_tab(tabs, browser, server)
        tab.open(url)
        tab.page.click("#out")
        view, outlink = tab.wait_hits(2)
        for hit in (view, outlink):
            assert hit["_id"] == "" and hit["cookie"] == "0", how
        assert outlink["link"] == "https://example.org/page"
        assert pk_cookies(tab) == [], how
    assert server.wait_for_pageviews(site, 2)


def test_do_not_track_and_global_privacy_control(
        browser: Browser, server: TellerServer, host: tuple[Path, str], site: int, tabs: list[Tab]) -> None:
    dnt = "Object.defineProperty(Navigator.prototype, 'doNotTrack', {get: () => '1'});"
    gpc = "Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', {get: () => true});"
    honoured = page(host, server, site, "dnt", calls="""
  _paq.push(['setDoNotTrack', true]);
  _paq.push(['trackPageView']);
  _paq.push(['enableLinkTracking']);""")
    by_config = page(host, server, site, "dnt-config", config="var tellerConfig = {respectDoNotTrack: true};")
    for signal, url in ((dnt, honoured), (gpc, honoured), (dnt, by_config), (gpc, by_config)):
        tab = new_tab(tabs, browser, server, signal)
        tab.open(url)
        tab.page.click("#out")
        tab.push("trackEvent", "Video", "Play")
        tab.quiet(0, 0.4)
        assert pk_cookies(tab) == []

    # Without setDoNotTrack the signal is ignored, as matomo.js does.
    plain = new_tab(tabs, browser, server, dnt + gpc)
    plain.open(page(host, server, site, "dnt-ignored"))
    assert plain.wait_hits(1)[0]["action_name"] == "A page"
    assert server.wait_for_pageviews(site, 1)


def test_opt_out_and_back_in(
        browser: Browser, server: TellerServer, host: tuple[Path, str], site: int, tabs: list[Tab]) -> None:
    tab = new_tab(tabs, browser, server)
    url = page(host, server, site, "optout")
    tab.open(url)
    tab.wait_hits(1)
    assert len(pk_cookies(tab)) == 2

    before = int(time.time() * 1000)
    tab.push("optUserOut")
    removed = tab.cookies()["mtm_consent_removed"]
    assert before <= int(removed["value"]) <= time.time() * 1000
    assert abs(removed["expires"] - (time.time() + CHROMIUM_CAP)) < 60
    assert abs(tab.written("mtm_consent_removed")[1] - (time.time() + THIRTY_YEARS)) < 60
    assert pk_cookies(tab) == []
    tab.push("trackEvent", "Video", "Play")
    tab.page.click("#out")
    assert tab.page.evaluate("new Promise(r => _paq.push([function () { r(this.isUserOptedOut()); }]))") is True
    tab.quiet(1)

    tab.open(url)  # remembered on the next page
    tab.quiet(1)
    assert pk_cookies(tab) == []

    tab.push("forgetUserOptOut")
    assert "mtm_consent_removed" not in tab.cookies()
    tab.push("trackEvent", "Video", "Play")
    event = tab.wait_hits(2)[1]
    assert event["e_a"] == "Play" and event["_id"] == ""  # cookies wait for cookie consent, as matomo.js
    tab.quiet(2)  # what was tracked while opted out stays unsent
    assert tab.page.evaluate("new Promise(r => _paq.push([function () { r(this.isUserOptedOut()); }]))") is False
    assert server.wait_for_pageviews(site, 1)
