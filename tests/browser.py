"""Shared pieces of the browser tests: Debian's Chromium driven by Playwright, and a static web server that
plays a site owner's own pages on localhost."""

from __future__ import annotations

import re
import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from email.utils import parsedate_to_datetime
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from tests.server import TellerServer

CHROMIUM = "/usr/bin/chromium"
# No background networking: the machine has no internet, and a browser test must not call anyone else.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


@contextmanager
def chromium() -> Iterator[Browser]:
    # Debian's Chromium, never a browser downloaded by Playwright. Missing Chromium fails: `make test`
    # installs it, and a browser test must never skip silently.
    assert shutil.which("chromium") or Path(CHROMIUM).exists(), "install Chromium: apt-get install chromium"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def static_site(root: Path) -> Iterator[str]:
    """Serve `root` on localhost; yields the base URL (http://localhost:PORT/)."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(_Quiet, directory=str(root)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://localhost:{httpd.server_address[1]}/"
    finally:
        httpd.shutdown()
        httpd.server_close()


# Records what scripts write to document.cookie, expiry included (Chromium caps what it keeps at 400 days).
COOKIE_SPY = """(() => {
  const real = Object.getOwnPropertyDescriptor(Document.prototype, 'cookie');
  window.cookieWrites = [];
  Object.defineProperty(Document.prototype, 'cookie', {configurable: true,
    get() { return real.get.call(this); },
    set(value) { window.cookieWrites.push(value); real.set.call(this, value); }});
})();"""


class CollectorTab:
    """One browser context and page, recording the query of every request it sends to Teller's collector."""

    def __init__(self, browser: Browser, collector_url: str, user_agent: str, locale: str = "en-US",
                 init_script: str = "") -> None:
        self.context: BrowserContext = browser.new_context(user_agent=user_agent, locale=locale)
        self.context.add_init_script(COOKIE_SPY)
        if init_script:
            self.context.add_init_script(init_script)
        self.page: Page = self.context.new_page()
        self.hits: list[dict[str, str]] = []
        self.page.on("request", lambda request: self.hits.append(
            {key: values[0] for key, values in parse_qs(urlsplit(request.url).query, keep_blank_values=True).items()})
            if request.url.startswith(collector_url) else None)

    def wait_hits(self, count: int, timeout: float = 5) -> list[dict[str, str]]:
        deadline = time.monotonic() + timeout
        while len(self.hits) < count and time.monotonic() < deadline:
            self.page.wait_for_timeout(50)
        assert len(self.hits) >= count, self.hits
        return self.hits

    def quiet(self, count: int, seconds: float = 0.8) -> None:
        """No request beyond `count` within `seconds`."""
        self.page.wait_for_timeout(seconds * 1000)
        assert len(self.hits) == count, self.hits

    def cookies(self) -> dict[str, dict[str, Any]]:
        return {cookie["name"]: dict(cookie) for cookie in self.context.cookies()}

    def written(self, name: str) -> tuple[str, float]:
        """The value and expiry (epoch s) of the last script write of cookie `name` on this page."""
        writes = [write for write in self.page.evaluate("window.cookieWrites") if write.startswith(name + "=")]
        assert writes, name
        value = writes[-1].split(";")[0].split("=", 1)[1]
        expires = re.search(r";expires=([^;]+)", writes[-1])
        assert expires, writes[-1]
        return value, parsedate_to_datetime(expires.group(1)).timestamp()

    def close(self) -> None:
        self.context.close()


def add_localhost_site(server: TellerServer, name: str) -> int:
    """Add a site for pages on localhost through the CLI, as an operator would; returns its id."""
    output = server.cli("site", "add", "--name", name, "--domain", "localhost")
    match = re.search(r"^\s*(\d+)\s", output.split("Added site:", 1)[1], re.MULTILINE)
    assert match, output
    return int(match.group(1))
