"""The tracker in two parts, in Chromium against a real `teller serve`: the core (/teller.js) and the extras
(/teller-extra.js), which the core loads only when a page needs more than it has: consent and opt-out, a cookie name
whose hash the server did not bake in, Do Not Track, heartbeat, history tracking. Until the extras have run the core
sends nothing and writes no cookie, so with the extras blocked those pages stay silent.

Pages come from a local web server on `localhost` (or `app.localhost`) and load /teller.js?idsite=N from Teller,
as the snippet does, so the site's cookie-name hashes are baked in."""

from __future__ import annotations

import hashlib
import itertools
import json
import re
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser

from collector.snippet import cookie_hashes
from ingest.sites import Site
from tests.browser import CollectorTab, static_site
from tests.conftest import CHROME_UA
from tests.server import TellerServer

pytestmark = pytest.mark.browser
HASH = hashlib.sha1(b"localhost/").hexdigest()[:4]  # noqa: S324 - matomo.js's cookie-name hash
VISITOR_TTL = 33_955_200  # s, matomo.js's _pk_id lifetime
DNT = "Object.defineProperty(Navigator.prototype, 'doNotTrack', {get: () => '1'});"
GPC = "Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', {get: () => true});"
PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>{title}</title>
<script>
  var _paq = window._paq = window._paq || [];
  {calls}
  _paq.push(['setTrackerUrl', '{tracker}matomo.php']);
  _paq.push(['setSiteId', '{site}']);
</script>
<script async src="{tracker}teller.js?idsite={site}"></script>
</head><body><h1>{title}</h1>
<a id="out" href="https://example.org/page">elsewhere</a>
<script>document.addEventListener('click', function (e) {{ e.preventDefault(); }});</script>
</body></html>
"""
DEFAULT_CALLS = "_paq.push(['trackPageView']);\n  _paq.push(['enableLinkTracking']);"
_site_names = itertools.count(1)


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    """A plain static web server on localhost for the pages; the tracker comes from Teller."""
    root = tmp_path_factory.mktemp("site")
    with static_site(root) as base:
        yield root, base


def add_site(server: TellerServer, *options: str) -> int:
    output = server.cli("site", "add", "--name", f"Extras test {next(_site_names)}", *options)
    match = re.search(r"^\s*(\d+)\s", output.split("Added site:", 1)[1], re.MULTILINE)
    assert match, output
    return int(match.group(1))


@pytest.fixture
def site(server: TellerServer) -> int:
    return add_site(server, "--domain", "localhost")


class Tab(CollectorTab):
    """A tab that also records which tracker scripts it fetched; `block_extras` makes /teller-extra.js fail."""

    def __init__(self, browser: Browser, server: TellerServer, init_script: str = "", block_extras: bool = False):
        super().__init__(browser, server.url + "matomo.php", CHROME_UA, init_script=init_script)
        self.scripts: list[str] = []
        self.page.on("request", lambda request: self.scripts.append(request.url)
                     if re.search(r"/teller(-extra)?\.js(\?|$)", request.url) else None)
        if block_extras:
            self.context.route("**/teller-extra.js", lambda route: route.abort())

    def open(self, url: str) -> None:
        self.page.goto(url)
        self.page.wait_for_function("window._paq && !(window._paq instanceof Array)")  # the core ran

    def push(self, *call: Any) -> None:
        self.page.evaluate("call => _paq.push(call)", list(call))

    def extras_loaded(self) -> bool:
        return any(url.endswith("/teller-extra.js") for url in self.scripts)

    def opted_out(self) -> bool:
        return bool(self.page.evaluate("new Promise(r => _paq.push([function () { r(this.isUserOptedOut()); }]))"))

    def cookie_writes(self) -> list[str]:
        return list(self.page.evaluate("window.cookieWrites"))

    def pk_cookies(self) -> list[str]:
        return [name for name in self.cookies() if name.startswith("_pk_")]


@pytest.fixture
def tabs() -> Iterator[list[Tab]]:
    opened: list[Tab] = []
    yield opened
    for tab in opened:
        tab.close()


def new_tab(tabs: list[Tab], browser: Browser, server: TellerServer, init_script: str = "",
            block_extras: bool = False) -> Tab:
    tab = Tab(browser, server, init_script, block_extras)
    tabs.append(tab)
    return tab


def page(host: tuple[Path, str], server: TellerServer, site: int, name: str, calls: str = DEFAULT_CALLS,
         title: str = "A page") -> str:
    root, base = host
    (root / f"{name}.html").write_text(PAGE.format(title=title, calls=calls, tracker=server.url, site=site))
    return f"{base}{name}.html"


def test_a_plain_page_view_loads_only_the_core(
        browser: Browser, server: TellerServer, host: tuple[Path, str], site: int, tabs: list[Tab]) -> None:
    tab = new_tab(tabs, browser, server)
    started = int(time.time())
    tab.open(page(host, server, site, "plain"))
    view = tab.wait_hits(1)[0]
    tab.page.click("#out")
    outlink = tab.wait_hits(2)[1]
    tab.push("trackEvent", "Video", "Play")
    assert tab.wait_hits(3)[2]["e_a"] == "Play"
    tab.quiet(3)
    assert outlink["link"] == "https://example.org/page"
    assert tab.scripts == [f"{server.url}teller.js?idsite={site}"]  # no /teller-extra.js
    assert tab.page.evaluate("typeof window.tellerCore") == "undefined"

    # matomo.js's cookies: names, values, lifetimes and attributes.
    cookies = tab.cookies()
    assert sorted(cookies) == [f"_pk_id.{site}.{HASH}", f"_pk_ses.{site}.{HASH}"]
    visitor, session = cookies[f"_pk_id.{site}.{HASH}"], cookies[f"_pk_ses.{site}.{HASH}"]
    match = re.fullmatch(r"([0-9a-f]{16})\.(\d{10})\.", visitor["value"])
    assert match, visitor["value"]
    assert view["_id"] == match.group(1) and view["_idn"] == "1" and view["cookie"] == "1"
    created = int(match.group(2))
    assert abs(created - started) < 60 and abs(visitor["expires"] - (created + VISITOR_TTL)) < 60
    assert session["value"] == "1" and abs(session["expires"] - (time.time() + 1800)) < 60
    for cookie in (visitor, session):
        assert cookie["domain"] == "localhost" and cookie["path"] == "/" and cookie["sameSite"] == "Lax"
        assert not cookie["httpOnly"] and not cookie["secure"]
    for write in tab.cookie_writes():
        assert re.fullmatch(rf"_pk_(id|ses)\.{site}\.{HASH}=[0-9a-f.]+;expires=[^;]+ GMT;path=/;SameSite=Lax", write)
    assert server.wait_for_pageviews(site, 1)


def test_require_consent_loads_the_extras_and_holds_everything_until_consent(
        browser: Browser, server: TellerServer, host: tuple[Path, str], site: int, tabs: list[Tab]) -> None:
    url = page(host, server, site, "consent", calls="""
  _paq.push(['requireConsent']);
  _paq.push(['trackPageView']);
  _paq.push(['enableLinkTracking']);""")

    # While the extras are not there, nothing happens at all.
    blocked = new_tab(tabs, browser, server, block_extras=True)
    blocked.open(url)
    blocked.page.click("#out")
    blocked.push("trackEvent", "Form", "Open")
    blocked.push("setConsentGiven")  # waits for the extras too, in order
    blocked.quiet(0, 1.0)
    assert blocked.extras_loaded() and blocked.cookie_writes() == []

    tab = new_tab(tabs, browser, server)
    tab.open(url)
    assert tab.extras_loaded()
    tab.page.click("#out")
    tab.push("trackEvent", "Form", "Open")
    tab.quiet(0)
    assert tab.cookie_writes() == [] and tab.opted_out() is True

    tab.push("setConsentGiven")
    view, outlink, event = tab.wait_hits(3)
    tab.quiet(3)
    assert view["action_name"] == "A page" and outlink["link"] == "https://example.org/page"
    assert event["e_c"] == "Form" and event["e_a"] == "Open"
    for hit in (view, outlink, event):
        assert hit["consent"] == "1" and hit["pv_id"] == view["pv_id"] and hit["_id"] == view["_id"]
    assert tab.cookies()[f"_pk_id.{site}.{HASH}"]["value"].startswith(view["_id"] + ".")
    assert server.wait_for_pageviews(site, 1)


def test_an_opted_out_visitor_sends_nothing(
        browser: Browser, server: TellerServer, host: tuple[Path, str], site: int, tabs: list[Tab]) -> None:
    url = page(host, server, site, "opted-out")
    for block_extras in (True, False):
        tab = new_tab(tabs, browser, server, block_extras=block_extras)
        tab.context.add_cookies([{"name": "mtm_consent_removed", "value": str(int(time.time() * 1000)),
                                  "url": host[1]}])
        tab.open(url)
        tab.page.click("#out")
        tab.push("trackEvent", "Video", "Play")
        tab.quiet(0, 1.0)
        assert tab.cookie_writes() == [] and tab.pk_cookies() == [], block_extras
        if not block_extras:
            assert tab.opted_out() is True
            tab.push("forgetUserOptOut")  # back in: what was tracked while opted out stays unsent
            tab.push("trackEvent", "Video", "Again")
            assert tab.wait_hits(1)[0]["e_a"] == "Again"
            tab.quiet(1)


def test_a_cookie_domain_the_server_did_not_bake_in_takes_sha1_from_the_extras(
        browser: Browser, server: TellerServer, host: tuple[Path, str], tabs: list[Tab]) -> None:
    site = add_site(server, "--domain", "localhost", "--domain", "*.localhost")
    url = page(host, server, site, "custom-domain", calls="""
  _paq.push(['setCookieDomain', '*.app.localhost']);
  _paq.push(['trackPageView']);""").replace("//localhost:", "//app.localhost:")
    with urllib.request.urlopen(f"{server.url}teller.js?idsite={site}") as response:
        assert ".app.localhost/" not in response.read().decode()
    tab = new_tab(tabs, browser, server)
    tab.open(url)
    view = tab.wait_hits(1)[0]
    assert tab.extras_loaded()
    # What the full tracker computed before the split: sha1(".app.localhost/"), as matomo.js.
    expected = "731f"
    assert hashlib.sha1(b".app.localhost/").hexdigest()[:4] == expected  # noqa: S324
    cookies = tab.cookies()
    assert sorted(cookies) == [f"_pk_id.{site}.{expected}", f"_pk_ses.{site}.{expected}"]
    assert cookies[f"_pk_id.{site}.{expected}"]["value"].startswith(view["_id"] + ".")
    assert cookies[f"_pk_id.{site}.{expected}"]["domain"] == ".app.localhost"
    assert server.wait_for_pageviews(site, 1)


def test_do_not_track_on_a_site_that_respects_it_sends_nothing(
        browser: Browser, server: TellerServer, host: tuple[Path, str], tabs: list[Tab]) -> None:
    site = add_site(server, "--domain", "localhost", "--respect-dnt")
    url = page(host, server, site, "dnt")
    for signal, block_extras in ((DNT, False), (GPC, False), (DNT, True)):
        tab = new_tab(tabs, browser, server, signal, block_extras=block_extras)
        tab.open(url)
        tab.page.click("#out")
        tab.push("trackEvent", "Video", "Play")
        tab.quiet(0, 1.0)
        assert tab.extras_loaded() and tab.cookie_writes() == [], (signal, block_extras)

    # The same site without the signal is tracked, once the extras have looked.
    plain = new_tab(tabs, browser, server)
    plain.open(url)
    assert plain.wait_hits(1)[0]["action_name"] == "A page" and plain.extras_loaded()
    assert server.wait_for_pageviews(site, 1)


def test_heartbeat_and_history_tracking_come_with_the_extras(
        browser: Browser, server: TellerServer, host: tuple[Path, str], site: int, tabs: list[Tab]) -> None:
    # Heartbeat switched on after the core sent the page view: the extras know a page view went out.
    beat = new_tab(tabs, browser, server)
    beat.page.clock.install()
    beat.open(page(host, server, site, "heartbeat", calls="_paq.push(['trackPageView']);"))
    view = beat.wait_hits(1)[0]
    assert not beat.extras_loaded()
    beat.push("enableHeartBeatTimer", 5)
    assert beat.opted_out() is False  # a function item runs once the extras have
    beat.page.mouse.move(20, 20)
    beat.page.mouse.move(60, 80)
    beat.page.clock.run_for(5500)
    ping = beat.wait_hits(2)[1]
    assert ping["ping"] == "1" and ping["pv_id"] == view["pv_id"] and beat.extras_loaded()
    beat.page.clock.run_for(6000)
    beat.quiet(2, 0.3)  # no activity, no ping

    spa = new_tab(tabs, browser, server)
    url = page(host, server, site, "spa", title="Home", calls="""
  _paq.push(['enableHistoryTracking']);
  _paq.push(['trackPageView']);""")
    spa.open(url)
    first = spa.wait_hits(1)[0]
    assert spa.extras_loaded()
    spa.page.evaluate("document.title = 'Route two'; history.pushState({}, '', '/spa/two')")
    second = spa.wait_hits(2)[1]
    assert second["action_name"] == "Route two" and second["url"] == host[1] + "spa/two"
    assert second["urlref"] == url and second["pv_id"] != first["pv_id"]
    assert server.wait_for_pageviews(site, 3)


def test_the_baked_cookie_hashes_match_the_trackers_sha1(browser: Browser, server: TellerServer) -> None:
    site_id = add_site(server, "--domain", "example.com", "--domain", "www.shop.example.org", "--domain",
                       "*.example.net", "--domain", "127.0.0.1")
    with urllib.request.urlopen(f"{server.url}teller.js?idsite={site_id}") as response:
        script = response.read().decode()
    baked = json.loads(re.search(r'"cookieHashes":(\{[^}]*\})', script).group(1))  # type: ignore[union-attr]
    assert set(baked) == {"example.com/", "www.example.com/", ".example.com/", "shop.example.org/",
                          "www.shop.example.org/", ".shop.example.org/", "example.net/", "www.example.net/",
                          ".example.net/", "127.0.0.1/"}
    site = Site(site_id=site_id, name="x", domains=("example.com", "www.shop.example.org", "*.example.net",
                                                    "127.0.0.1"), timezone="UTC", retention_days=1,
                created_at=datetime.now(UTC))
    assert cookie_hashes(site) == baked

    # The extras' SHA-1, run in the browser, on the baked names and on harder ones (UTF-8, several blocks).
    texts = [*baked, "localhost/", ".app.localhost/", "bücher.example/ß/", "x" * 55, "y" * 56, "z" * 64,
             "example.com/a/very/long/path/that/makes/the/input/longer/than/one/block/of/sixty-four/bytes/"]
    context = browser.new_context()
    tab = context.new_page()
    tab.set_content("<!doctype html><html><head></head><body></body></html>")
    hashes = tab.evaluate("""([url, texts]) => new Promise((resolve, reject) => {
      window.tellerCore = install => {
        const shared = {};
        install({}, shared, () => {}, () => '', () => {});
        resolve(texts.map(shared.h));
      };
      const script = document.createElement('script');
      script.onerror = reject;
      script.src = url;
      document.head.appendChild(script);
    })""", [server.url + "teller-extra.js", texts])
    context.close()
    expected = [hashlib.sha1(text.encode()).hexdigest()[:4] for text in texts]  # noqa: S324
    assert hashes == expected
    assert all(baked[text] == hashes[index] for index, text in enumerate(texts) if text in baked)


def test_the_extras_are_served_like_the_core(server: TellerServer) -> None:
    static = Path(__file__).resolve().parent.parent / "collector" / "static"
    with urllib.request.urlopen(server.url + "teller.js") as core:
        core_headers = core.headers
    for path in ("teller-extra.js", "js/teller-extra.js"):
        with urllib.request.urlopen(server.url + path) as response:
            assert response.read() == (static / "teller-extra.min.js").read_bytes()
            for header in ("content-type", "cache-control"):
                assert response.headers[header] == core_headers[header], (path, header)
