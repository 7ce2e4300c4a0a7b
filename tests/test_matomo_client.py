"""A server-side Matomo client from npm, unmodified, tracks into Teller.

`matomo-tracker` (matomo-org/matomo-nodejs-tracker) is installed with `npm ci` from the lock file in
tests/matomo_client/ into a temporary directory, and a small Node script drives its public API against a real
`teller serve`: a page view with the visitor's user agent and address (cip, with a tracking token), an event,
and a bulk request of two page views. The Stats API must count the page views, and the stored rows must hold
the event and only the masked address.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import CHROME_UA, VISITOR_IP
from tests.helpers import counts
from tests.server import TellerServer

REPO = Path(__file__).resolve().parent.parent
CLIENT = Path(__file__).resolve().parent / "matomo_client"
MASKED_IP = "145.97.0.0"  # VISITOR_IP with Teller's default IPv4 mask (two bytes)
NPM_TIMEOUT = 180

# Uses only the package's documented API: new MatomoTracker(siteId, trackerUrl), track(options),
# trackBulk(events, callback) and its 'error' event. The response statuses are observed, not altered, through
# Node's http diagnostics channel, because track() gives no callback.
SCRIPT = r"""
'use strict';
const diagnostics = require('node:diagnostics_channel');
const MatomoTracker = require('matomo-tracker');
const [trackerUrl, token, ip, ua] = process.argv.slice(2);

const report = (what) => console.log(JSON.stringify(what));
diagnostics.subscribe('http.client.response.finish', ({ request, response }) => {
  report({ sent: request.method + ' ' + request.path, status: response.statusCode });
});

const tracker = new MatomoTracker(1, trackerUrl);
tracker.on('error', (error) => { report({ error: String(error) }); process.exitCode = 1; });

const visitor = { ua: ua, cip: ip, token_auth: token, lang: 'nl-NL,nl;q=0.9', res: '1920x1080' };
tracker.track(Object.assign({ url: 'https://shop.example/from-node', action_name: 'From Node' }, visitor));
tracker.track(Object.assign({ url: 'https://shop.example/from-node', e_c: 'Checkout', e_a: 'Pay',
                              e_n: 'Card', e_v: 42.5 }, visitor));
if (typeof tracker.trackBulk !== 'function') {
  report({ error: 'this matomo-tracker has no trackBulk' });
  process.exit(1);
}
tracker.trackBulk([
  Object.assign({ url: 'https://shop.example/from-node', action_name: 'From Node again' }, visitor),
  Object.assign({ url: 'https://shop.example/from-node/bulk', action_name: 'Bulk' }, visitor),
], (body) => {
  report({ bulk_answer: body });
  try {
    const answer = JSON.parse(body);
    if (answer.status !== 'success' || answer.tracked !== 2) process.exitCode = 1;
  } catch (error) {
    report({ error: 'bulk answer is not JSON: ' + error.message });
    process.exitCode = 1;
  }
});
"""


@pytest.fixture(scope="module")
def matomo_tracker(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The pinned npm package, installed fresh from its lock file; no npm or no registry fails the test."""
    npm = shutil.which("npm")
    node = shutil.which("node")
    assert npm and node, "Node.js and npm are needed for this test: apt-get install nodejs npm"
    root = tmp_path_factory.mktemp("matomo-client")
    for name in ("package.json", "package-lock.json"):
        shutil.copy(CLIENT / name, root / name)
    try:
        result = subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=root,
                                capture_output=True, text=True, timeout=NPM_TIMEOUT, check=False)
    except subprocess.TimeoutExpired:
        pytest.fail(f"`npm ci` of matomo-tracker took over {NPM_TIMEOUT} s: is the npm registry reachable?")
    if result.returncode != 0:
        pytest.fail(f"`npm ci` of matomo-tracker failed (is the npm registry reachable?):\n{result.stderr}")
    installed = json.loads((root / "node_modules" / "matomo-tracker" / "package.json").read_text())
    pinned = json.loads((CLIENT / "package.json").read_text())["dependencies"]["matomo-tracker"]
    assert installed["version"] == pinned
    (root / "track.js").write_text(SCRIPT)
    return root


@pytest.fixture
def server(tmp_path: Path) -> Iterator[TellerServer]:
    server = TellerServer(tmp_path / "teller").start()
    yield server
    server.stop()


def table(dump: str, name: str) -> list[dict[str, str]]:
    lines = dump.split(f"== {name}\n", 1)[1].split("\n== ", 1)[0].splitlines()
    header = lines[0].split("\t")
    return [dict(zip(header, line.split("\t"), strict=True)) for line in lines[1:]]


def test_npm_matomo_tracker_tracks_page_views_events_and_bulk(matomo_tracker: Path, server: TellerServer) -> None:
    server.cli("site", "add", "--name", "Shop", "--domain", "shop.example")
    shown = server.cli("token", "add", "--site", "1", "--label", "node backend")
    token = shown.split("shown only now:")[1].split()[0]

    run = subprocess.run(["node", "track.js", server.url + "matomo.php", token, VISITOR_IP, CHROME_UA],
                         cwd=matomo_tracker, capture_output=True, text=True, timeout=30, check=False)
    reports = [json.loads(line) for line in run.stdout.splitlines()]
    assert run.returncode == 0, (reports, run.stderr)
    # Two single GETs (a 200 image each) and one bulk POST, which Teller answers like Matomo.
    assert sorted((report["sent"].split(" ")[0], report["status"]) for report in reports if "sent" in report) == [
        ("GET", 200), ("GET", 200), ("POST", 200)]
    assert [json.loads(report["bulk_answer"]) for report in reports if "bulk_answer" in report] == [
        {"status": "success", "tracked": 2, "invalid": 0}]

    assert server.wait_for_pageviews(1, 3), server.summary(1)
    summary = server.summary(1)
    assert counts(summary) == (1, 1, 3)  # one visitor (same address and user agent), one visit
    assert summary["top_pages"][0] == {"page": "/from-node", "visitors": 1, "pageviews": 2}
    assert {page["page"] for page in summary["top_pages"]} == {"/from-node", "/from-node/bulk"}
    server.stop()

    dumped = subprocess.run([sys.executable, "-m", "tests.dump_tables", str(server.config)], cwd=REPO,
                            capture_output=True, text=True, check=True, timeout=120).stdout
    events = table(dumped, "events")
    assert sorted(row["name"] for row in events) == ["event", "pageview", "pageview", "pageview"], events
    event = next(row for row in events if row["name"] == "event")
    assert (event["event_category"], event["event_action"], event["event_name"], float(event["event_value"])) == (
        "Checkout", "Pay", "Card", 42.5)
    assert event["pathname"] == "/from-node" and event["hostname"] == "shop.example"
    assert {(row["browser"], row["os"], row["screen_size"], row["language"]) for row in events} == {
        ("Chrome", "Windows", "1920x1080", "nl-nl")}, events
    assert {row["ip_masked"] for row in events} == {MASKED_IP}
    assert {row["ip_masked"] for row in table(dumped, "sessions")} == {MASKED_IP}
    assert VISITOR_IP not in dumped and VISITOR_IP not in server.logs().decode("utf-8", "replace")
    assert token not in dumped and token not in server.logs().decode("utf-8", "replace")
