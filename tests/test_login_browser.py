"""Logging in in Dutch in headless Chromium against a real `teller serve`: an English browser switches the login
page to Dutch, mistypes the password, logs in, and lands on the dashboard it asked for, still in Dutch, with the
country map. Screenshot: test-artifacts/login-nl.png."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser

from tests.conftest import CHROME_UA
from tests.server import TellerServer
from tests.test_dashboard_browser import shot

pytestmark = pytest.mark.browser
PASSWORD = "een lang wachtwoord voor de boekhouding"


def test_switch_the_login_page_to_dutch_and_log_in(browser: Browser, server: TellerServer) -> None:
    server.cli("site", "add", "--name", "Fietsen", "--domain", "fietsen.example")
    server.add_user("boekhouding@fietsen.example", PASSWORD)
    server.cli("user", "grant", "boekhouding@fietsen.example", "--site", "1", "--role", "viewer")
    context = browser.new_context(user_agent=CHROME_UA, locale="en-GB")
    outside: list[str] = []
    page = context.new_page()
    page.on("request", lambda request: outside.append(request.url)
            if not request.url.startswith(server.url) else None)
    page.goto(server.url + "sites/1?period=7d")
    assert page.locator("html").get_attribute("lang") == "en" and page.locator("h1").inner_text() == "Log in"

    page.click("nav.languages a[hreflang=nl]")
    page.wait_for_url("**lang=nl**")
    assert page.locator("html").get_attribute("lang") == "nl" and page.locator("h1").inner_text() == "Inloggen"
    page.fill("input[name=email]", "boekhouding@fietsen.example")
    page.fill("input[name=password]", "verkeerd")
    page.click("form.login button")
    assert page.locator("p.error").inner_text() == "Onjuist e-mailadres of wachtwoord."
    assert page.locator("html").get_attribute("lang") == "nl"
    page.fill("input[name=password]", PASSWORD)
    shot(page, "login-nl.png")
    page.click("form.login button")
    page.wait_for_url("**/sites/1?period=7d&lang=nl")
    assert "Unieke bezoekers" in page.content() and page.locator("#panel-country h2").inner_text() == "Landen"
    assert page.locator("#panel-country svg path").count() > 150
    assert outside == []  # no request to anyone but Teller
    context.close()
