"""The opt-out widget (collector/static/optout.js) in a real browser, against a real `teller serve`.

Pages, and the widget script, come from a local web server on `localhost` (the site's host), so these tests do
not depend on Teller's /optout.js route; the endpoint itself is checked with Starlette's TestClient. The tracker
comes from Teller through the real `teller snippet` HTML.
"""

from __future__ import annotations

import gzip
import itertools
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser
from starlette.applications import Starlette
from starlette.routing import Route
from starlette.testclient import TestClient

from collector.optout import OptOutScriptEndpoint, render_optout_embed
from collector.snippet import render_snippet
from tests.browser import CollectorTab, add_localhost_site, static_site
from tests.conftest import CHROME_UA
from tests.server import TellerServer

pytestmark = pytest.mark.browser
SCRIPT = Path(__file__).resolve().parent.parent / "collector" / "static" / "optout.js"
THIRTY_YEARS = 946_080_000  # s
COOKIE = "mtm_consent_removed"
NL_LABEL = "Ja, meet mijn bezoek anoniem"
EN_LABEL = "Yes, count my visit anonymously"
PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>{title}</title>
{snippet}</head><body><h1>{title}</h1>
{widget}</body></html>
"""
_site_names = itertools.count(1)


# ---- the endpoint and the embed code, without a browser ----

def test_endpoint_serves_the_script() -> None:
    app = Starlette(routes=[Route("/optout.js", OptOutScriptEndpoint().handle, methods=["GET"])])
    with TestClient(app) as client:
        response = client.get("/optout.js")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/javascript"
    assert response.headers["cache-control"] == "public, max-age=86400"
    assert response.content == SCRIPT.read_bytes()


def test_script_is_small_and_self_contained() -> None:
    body = SCRIPT.read_bytes()
    assert len(gzip.compress(body, 9)) < 2048
    body.decode("ascii")
    assert not re.search(rb"https?://", body.split(b"*/", 1)[1])  # no third-party requests


def test_embed_code() -> None:
    assert render_optout_embed("https://stats.example.nl/") == (
        '<div id="teller-opt-out"></div>\n'
        '<script src="https://stats.example.nl/optout.js" data-lang="auto"></script>\n')


# ---- in Chromium ----

@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    """The site: a plain static web server on localhost with the pages and optout.js."""
    root = tmp_path_factory.mktemp("site")
    shutil.copy(SCRIPT, root / "optout.js")
    with static_site(root) as base:
        yield root, base


@pytest.fixture
def site(server: TellerServer) -> int:
    return add_localhost_site(server, f"Opt-out test {next(_site_names)}")


class Tab(CollectorTab):
    def __init__(self, browser: Browser, server: TellerServer, locale: str = "en-US") -> None:
        super().__init__(browser, server.url + "matomo.php", CHROME_UA, locale=locale)

    def open(self, url: str, tracker: bool) -> None:
        self.page.goto(url)
        if tracker:
            self.page.wait_for_function("window._paq && !(window._paq instanceof Array)")  # teller.js ran

    def status(self, div: str = "teller-opt-out") -> str:
        return str(self.page.locator(f"#{div} [role=status]").inner_text())


@pytest.fixture
def tabs() -> Iterator[list[Tab]]:
    opened: list[Tab] = []
    yield opened
    for tab in opened:
        tab.close()


def new_tab(tabs: list[Tab], browser: Browser, server: TellerServer, locale: str = "en-US") -> Tab:
    tab = Tab(browser, server, locale)
    tabs.append(tab)
    return tab


def page(host: tuple[Path, str], name: str, snippet: str = "", lang: str | None = "nl",
         div: str = "teller-opt-out", title: str = "Privacy") -> str:
    root, base = host
    widget = ""
    if lang is not None:
        extra = f' data-div-id="{div}"' if div != "teller-opt-out" else ""
        widget = f'<div id="{div}"></div>\n<script src="/optout.js" data-lang="{lang}"{extra}></script>\n'
    (root / f"{name}.html").write_text(PAGE.format(title=title, snippet=snippet, widget=widget))
    return f"{base}{name}.html"


def test_with_tracker_opts_out_and_back_in(
        browser: Browser, server: TellerServer, host: tuple[Path, str], site: int, tabs: list[Tab]) -> None:
    tab = new_tab(tabs, browser, server)
    url = page(host, "with-tracker", snippet=render_snippet(server.url, site), lang="nl")
    tab.open(url, tracker=True)
    tab.wait_hits(1)
    text = tab.page.locator("#teller-opt-out").inner_text()
    assert "Deze website telt bezoeken met Teller" in text and NL_LABEL in text
    box = tab.page.get_by_label(NL_LABEL)  # a real <label> for the checkbox
    assert box.is_checked()
    assert tab.status() == "Je bezoek wordt anoniem meegeteld."

    before = int(time.time() * 1000)
    box.uncheck()
    assert before <= int(tab.cookies()[COOKIE]["value"]) <= time.time() * 1000
    assert tab.status() == "Je bent afgemeld: je bezoeken worden niet meer gemeten."
    assert not [name for name in tab.cookies() if name.startswith("_pk_")]  # teller.js's optUserOut ran
    assert tab.page.evaluate("new Promise(r => _paq.push([function () { r(this.isUserOptedOut()); }]))") is True

    tab.open(url, tracker=True)  # the opt-out holds on the next page view
    tab.quiet(1)
    box = tab.page.get_by_label(NL_LABEL)
    assert not box.is_checked()

    box.check()
    assert COOKIE not in tab.cookies()
    assert tab.status() == "Je bezoek wordt anoniem meegeteld."
    tab.open(url, tracker=True)
    tab.wait_hits(2)
    tab.quiet(2)
    assert server.wait_for_pageviews(site, 2)


def test_without_tracker_writes_the_cookie_that_teller_js_honours(
        browser: Browser, server: TellerServer, host: tuple[Path, str], site: int, tabs: list[Tab]) -> None:
    tab = new_tab(tabs, browser, server)
    policy = page(host, "widget-only", lang="nl")
    tracked = page(host, "tracked", snippet=render_snippet(server.url, site), lang=None, title="Home")
    tab.open(policy, tracker=False)
    assert tab.page.evaluate("window._paq") is None
    box = tab.page.get_by_label(NL_LABEL)
    assert box.is_checked()

    before = int(time.time() * 1000)
    box.uncheck()
    cookie = tab.cookies()[COOKIE]
    assert before <= int(cookie["value"]) <= time.time() * 1000
    assert cookie["expires"] >= time.time() + 399 * 86_400  # Chromium keeps at most 400 days
    assert abs(tab.written(COOKIE)[1] - (time.time() + THIRTY_YEARS)) < 60  # written for 30 years
    assert cookie["path"] == "/" and cookie["sameSite"] == "Lax" and cookie["domain"] == "localhost"
    assert tab.status() == "Je bent afgemeld: je bezoeken worden niet meer gemeten."

    tab.open(tracked, tracker=True)  # teller.js reads the cookie and sends nothing
    tab.quiet(0)
    assert tab.page.evaluate("new Promise(r => _paq.push([function () { r(this.isUserOptedOut()); }]))") is True

    tab.open(policy, tracker=False)
    box = tab.page.get_by_label(NL_LABEL)
    assert not box.is_checked()
    box.check()  # deletes the cookie
    assert COOKIE not in tab.cookies()
    assert tab.status() == "Je bezoek wordt anoniem meegeteld."
    tab.open(tracked, tracker=True)
    tab.wait_hits(1)
    assert server.wait_for_pageviews(site, 1)


def test_english_auto_language_and_matomo_div(
        browser: Browser, server: TellerServer, host: tuple[Path, str], site: int, tabs: list[Tab]) -> None:
    tab = new_tab(tabs, browser, server, locale="nl-NL")
    tab.open(page(host, "english", lang="en"), tracker=False)  # data-lang="en" wins over a Dutch browser
    text = tab.page.locator("#teller-opt-out").inner_text()
    assert "This website counts visits with Teller" in text and EN_LABEL in text and "bezoek" not in text
    box = tab.page.get_by_label(EN_LABEL)
    assert box.is_checked() and tab.status() == "Your visit is counted anonymously."
    box.uncheck()
    assert COOKIE in tab.cookies()
    assert tab.status() == "You have opted out: your visits are no longer counted."

    # data-lang="auto" follows navigator.language; data-div-id fills Matomo's div.
    for locale, label in (("nl-NL", NL_LABEL), ("en-GB", EN_LABEL), ("de-DE", EN_LABEL)):
        other = new_tab(tabs, browser, server, locale=locale)
        other.open(page(host, "auto", lang="auto", div="matomo-opt-out"), tracker=False)
        assert other.page.get_by_label(label).is_checked(), locale
        assert other.page.locator("#matomo-opt-out input[type=checkbox]").count() == 1
