"""A full client address never reaches disk, a log line or ClickHouse.

A real `teller serve` process behind a (simulated) trusted proxy receives hits from two visitors, good and
bad requests alike; then every byte it wrote (data directory, stdout, stderr) and every row of every table is
searched for the full addresses, as text and in binary form.
"""

from __future__ import annotations

import ipaddress
import json
import subprocess
import sys
import urllib.error
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path
from urllib.parse import urlencode

from tests.conftest import CHROME_UA
from tests.helpers import csrf_token
from tests.server import TellerServer

REPO = Path(__file__).resolve().parent.parent
VISITOR_V4 = "81.204.77.213"
VISITOR_V6 = "2a02:a440:1234:5678:9abc:def0:1234:5678"


def request(url: str, headers: dict[str, str], data: bytes | None = None) -> int:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=data, headers=headers), timeout=10) as reply:
            return int(reply.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def failed_logins(server: TellerServer, headers: dict[str, str], attempts: int) -> list[int]:
    """Wrong passwords sent through the login form, as a browser behind the proxy would."""
    browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
    with browser.open(urllib.request.Request(server.url + "login", headers=headers), timeout=10) as form:
        token = csrf_token(form.read().decode())
    statuses = []
    for _ in range(attempts):
        body = urlencode({"csrf_token": token, "email": "owner@privacy.example", "password": "wrong guess"})
        try:
            with browser.open(urllib.request.Request(server.url + "login", data=body.encode(), headers=headers),
                              timeout=30) as reply:
                statuses.append(int(reply.status))
        except urllib.error.HTTPError as error:
            statuses.append(int(error.code))
    return statuses


def needles() -> list[bytes]:
    found: list[bytes] = []
    for text in (VISITOR_V4, VISITOR_V6):
        address = ipaddress.ip_address(text)
        found += [text.encode(), address.packed, address.exploded.encode()]
    found.append(b"1234:5678:9abc")  # the part of the IPv6 address past the kept /48
    found.append(bytes(ipaddress.IPv6Address(VISITOR_V6).packed[6:]))
    return found


def test_full_client_ip_is_written_nowhere(tmp_path: Path) -> None:
    # Long spool segments: the hits are still in the spool's files while the data directory is searched.
    server = TellerServer(tmp_path, {"trusted = []": 'trusted = ["127.0.0.1/32"]',
                                     "segment_seconds = 0.1": "segment_seconds = 60"}).start()
    try:
        site = json.loads(server.cli("site", "list", "--json") or "[]")
        assert site == []
        server.cli("site", "add", "--name", "Privacy", "--domain", "privacy.example")
        shown = server.cli("token", "add", "--site", "1", "--label", "server-side tracker")
        token = shown.split("shown only now:")[1].split()[0]
        base = server.url + "matomo.php?"
        page = {"idsite": "1", "rec": "1", "url": "https://privacy.example/", "action_name": "Home"}
        for visitor in (VISITOR_V4, VISITOR_V6):
            headers = {"User-Agent": CHROME_UA, "X-Forwarded-For": visitor}
            assert request(base + urlencode(page), headers) == 200
            assert request(base + urlencode(page | {"url": "https://elsewhere.example/"}), headers) == 200
            assert request(base + urlencode(page | {"idsite": "77"}), headers) == 400
            assert request(base + "idsite=1&rec=1&url=%ff", headers) == 200
            assert request(server.url + "matomo.php", headers, data=b"\xff" * 300) < 500
            assert request(server.url + "no/such/page", headers) == 404
            assert request(server.url + "sites/1?period=nonsense", headers) == 200  # the login page
            assert request(server.url + "api/v1/sites/1/summary?period=nonsense", headers) == 401
            # A server-side tracker reporting the visitor's address with its token: masked like any other.
            as_server = urlencode(page | {"cip": visitor, "token_auth": token, "url": "https://privacy.example/s"})
            assert request(base + as_server, {"User-Agent": CHROME_UA}) == 200
            assert request(base + urlencode(page | {"cip": visitor}), {"User-Agent": CHROME_UA}) == 400
        # Failed logins, up to the lockout (which is logged): the throttle sees only the masked address.
        server.add_user("owner@privacy.example", "the owner's passphrase")
        assert failed_logins(server, {"User-Agent": CHROME_UA, "X-Forwarded-For": VISITOR_V4}, 6)[-2:] == [401, 429]
        assert failed_logins(server, {"User-Agent": CHROME_UA, "X-Forwarded-For": VISITOR_V6}, 1) == [429]
        assert b"owner@privacy.example" in server.logs()  # the lockout was logged, so the logs were searched
        spooled = b"".join(path.read_bytes() for path in (server.data_dir / "spool").iterdir())
        assert b"81.204.0.0" in spooled and b"2a02:a440:1234::" in spooled  # the search can see the spool
        assert [(where, needle) for needle in needles() for where in ("spool",) if needle in spooled] == []
    finally:
        server.stop()  # ships the spool into ClickHouse

    assert list((server.data_dir / "spool").iterdir()) == []
    dump = subprocess.run([sys.executable, "-m", "tests.dump_tables", str(server.config)], cwd=REPO,
                          capture_output=True, check=True, timeout=120).stdout
    # The search can see addresses: the masked ones are in the events table.
    assert b"81.204.0.0" in dump and b"2a02:a440:1234::" in dump
    assert dump.count(b"81.204.0.0") >= 2  # the event and its visit
    events = dump.split(b"== events\n", 1)[1].split(b"\n== ", 1)[0].splitlines()
    assert len(events) - 1 == 4  # a header line and two page views per visitor (one through cip)

    written = {"server logs": server.logs(), "all tables": dump}
    for path in sorted(server.data_dir.rglob("*")):
        if path.is_file():
            written[str(path)] = path.read_bytes()
    assert len(written) > 20  # the ClickHouse data files are really there
    leaks = [(where, needle) for where, content in written.items() for needle in needles() if needle in content]
    assert leaks == []
