"""Data-subject requests: find, export and delete one visitor's rows, through the admin API and the CLI."""

from __future__ import annotations

import csv
import io
import json
import shutil
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from ingest.pipeline import Verdict
from ingest.sites import RAW_TABLES, Site
from teller.runtime import Runtime, admin_token
from teller.subjects import MATCH
from tests.conftest import CHROME_UA
from tests.helpers import add_site, tracking_request
from tests.server import TellerServer

ANNA, BOB = "a1a1a1a1a1a1a1a1", "b2b2b2b2b2b2b2b2"


def track(runtime: Runtime, site: Site, visitor: str, path: str, minutes_ago: int = 0, **params: str) -> None:
    at = datetime.now(UTC) - timedelta(minutes=minutes_ago)
    request = tracking_request(site, path, at=at, cid=visitor, **params)
    assert runtime.pipeline.handle(request).verdict is Verdict.TRACKED


def admin_headers(runtime: Runtime) -> dict[str, str]:
    return {"Authorization": f"Bearer {admin_token(runtime.settings.secret_key)}", "X-Teller-Actor": "dpo:eva"}


def stored(runtime: Runtime, table: str, visitor: str) -> int:
    return int(runtime.store.client().query(
        "SELECT count() FROM {table:Identifier} WHERE visitor_id = {id:UInt64}",
        parameters={"table": table, "id": int(visitor, 16)}).result_rows[0][0])


def page_viewers(runtime: Runtime, site: Site, path: str) -> set[int]:
    """The visitors with a page view of `path` in page_visits, the table page filters read."""
    return {row[0] for row in runtime.store.client().query(
        "SELECT visitor_id FROM page_visits WHERE site_id = {site:UInt32} AND pathname = {path:String}",
        parameters={"site": site.site_id, "path": path}).result_rows}


@pytest.fixture
def two_sites(runtime: Runtime) -> tuple[Site, Site]:
    shop = add_site(runtime, "Shop", ("shop.example",))
    blog = add_site(runtime, "Blog", ("blog.example",))
    for minutes, path in ((50, "/"), (49, "/fietsen"), (48, "/kassa")):
        track(runtime, shop, ANNA, path, minutes)
    track(runtime, blog, ANNA, "/post", 30)
    track(runtime, shop, BOB, "/", 20)
    track(runtime, shop, BOB, "/fietsen", 19)
    runtime.drain()
    return shop, blog


def test_find_and_export_every_row_of_the_subject_and_nothing_else(runtime: Runtime, http: TestClient,
                                                                 two_sites: tuple[Site, Site]) -> None:
    shop, blog = two_sites
    headers = admin_headers(runtime)
    found = http.post("/api/admin/subjects/find", headers=headers, json={"visitor": ANNA + ".1700000000."}).json()
    assert {(row["site_id"], row["table"], row["rows"]) for row in found["found"] if row["table"] == "events"} == \
        {(shop.site_id, "events", 3), (blog.site_id, "events", 1)}

    export = http.post("/api/admin/subjects/export", headers=headers, json={"visitor": ANNA}).json()
    assert sorted(row["pathname"] for row in export["events"]) == ["/", "/fietsen", "/kassa", "/post"]
    assert {row["visitor_id"] for row in export["events"]} == {int(ANNA, 16)}
    assert len(export["visits"]) == 2 and {row["visitor_id"] for row in export["visits"]} == {int(ANNA, 16)}
    assert export["events"][0]["ip_masked"] == "81.2.0.0"  # what is stored: the masked address, never the full one

    only_shop = http.post("/api/admin/subjects/export", headers=headers,
                          json={"visitor": ANNA, "site_id": shop.site_id}).json()
    assert {row["site_id"] for row in only_shop["events"]} == {shop.site_id} and len(only_shop["events"]) == 3

    response = http.post("/api/admin/subjects/export?format=csv&table=events", headers=headers,
                         json={"visitor": ANNA})
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert len(rows) == 4 and {row["visitor_id"] for row in rows} == {str(int(ANNA, 16))}
    assert "pathname" in rows[0] and "country_code" in rows[0]

    log = runtime.store.client().query("SELECT actor, action, target FROM audit_log").result_rows
    assert ("dpo:eva", "subject.export", f"visitor {ANNA}") in log


def test_delete_removes_the_subject_and_they_stay_removed(runtime: Runtime, http: TestClient,
                                                          two_sites: tuple[Site, Site], tmp_path: Path) -> None:
    shop, _ = two_sites
    # A spool segment that was shipped, copied as if the process died before removing it: replayed later.
    track(runtime, shop, ANNA, "/bedankt", 10)
    runtime.spool.seal_now()
    kept = tmp_path / "replay"
    kept.mkdir()
    for segment in runtime.spool.sealed_segments():
        shutil.copy(segment, kept / segment.name)
    assert list(kept.iterdir())
    runtime.drain()
    # A hit of hers waits in the spool, unshipped, when the request arrives; and her visit is still open.
    track(runtime, shop, ANNA, "/nog-een", 1)

    assert page_viewers(runtime, shop, "/fietsen") == {int(ANNA, 16), int(BOB, 16)}
    assert set(MATCH) == set(RAW_TABLES)  # a delete reaches every raw table
    response = http.post("/api/admin/subjects/delete", headers=admin_headers(runtime), json={"visitor": ANNA})
    assert response.status_code == 200
    assert response.json()["deleted_rows"]["events"] == 6
    for table in ("events", "sessions"):
        assert stored(runtime, table, ANNA) == 0
        assert stored(runtime, table, BOB) > 0
    # page_visits, which page filters read (migration 19), forgets her too: both viewed /fietsen.
    assert page_viewers(runtime, shop, "/fietsen") == {int(BOB, 16)}

    # Not back after merges, nor after the shipped segment is replayed.
    for table in ("events", "sessions"):
        runtime.store.client().command("OPTIMIZE TABLE {table:Identifier} FINAL", parameters={"table": table})
    for segment in kept.iterdir():
        shutil.copy(segment, runtime.spool.directory / segment.name)
    runtime.shipper.ship_pending()
    assert stored(runtime, "events", ANNA) == 0 and stored(runtime, "sessions", ANNA) == 0
    assert page_viewers(runtime, shop, "/bedankt") == set()  # the replayed segment's page view

    # Her next hit starts a new visit; it does not cancel and rewrite the deleted one.
    track(runtime, shop, ANNA, "/terug")
    runtime.drain()
    [(visits, rows)] = runtime.store.client().query(
        "SELECT sum(sign), count() FROM sessions WHERE visitor_id = {id:UInt64}",
        parameters={"id": int(ANNA, 16)}).result_rows
    assert (visits, rows) == (1, 1)
    entry = runtime.store.client().query("SELECT actor, details FROM audit_log WHERE action = 'subject.delete'") \
        .result_rows[0]
    assert entry[0] == "dpo:eva" and json.loads(entry[1])["deleted_rows"]["events"] == 6


def test_user_id_and_cookieless_subjects(runtime: Runtime, http: TestClient) -> None:
    site = add_site(runtime, "Shop", ("shop.example",))
    runtime.registry.update(site.site_id, cookieless=True)
    runtime.sites.invalidate()
    headers = admin_headers(runtime)
    anonymous = tracking_request(site, "/zonder-cookie", ip="81.2.69.160")
    assert runtime.pipeline.handle(anonymous).verdict is Verdict.TRACKED
    other = tracking_request(site, "/ander", ip="81.3.69.160")
    assert runtime.pipeline.handle(other).verdict is Verdict.TRACKED
    logged_in = tracking_request(site, "/account", ip="81.4.1.1", uid="klant-42")
    assert runtime.pipeline.handle(logged_in).verdict is Verdict.TRACKED
    runtime.drain()

    today = datetime.now(site.zone).date().isoformat()
    cookieless = {"site_id": site.site_id,
                  "cookieless": {"day": today, "ip": "81.2.69.160", "user_agent": CHROME_UA}}
    export = http.post("/api/admin/subjects/export", headers=headers, json=cookieless).json()
    assert [row["pathname"] for row in export["events"]] == ["/zonder-cookie"]
    by_user = http.post("/api/admin/subjects/export", headers=headers, json={"user_id": "klant-42"}).json()
    assert [row["pathname"] for row in by_user["events"]] == ["/account"]
    assert page_viewers(runtime, site, "/account")
    deleted = http.post("/api/admin/subjects/delete", headers=headers, json={"user_id": "klant-42"})
    assert deleted.status_code == 200 and deleted.json()["deleted_rows"]["events"] == 1
    assert page_viewers(runtime, site, "/account") == set() and page_viewers(runtime, site, "/ander")

    long_ago = (datetime.now(site.zone).date() - timedelta(days=5)).isoformat()
    stale = http.post("/api/admin/subjects/find", headers=headers, json={
        "site_id": site.site_id, "cookieless": {"day": long_ago, "ip": "81.2.69.160", "user_agent": CHROME_UA}})
    assert stale.status_code == 400 and "salt" in stale.json()["error"]


@pytest.mark.parametrize("body", [{}, {"visitor": "xyz"}, {"visitor": ANNA, "user_id": "x"}, {"visitor": 5},
                                  {"cookieless": {"day": "2026-01-01", "ip": "1.2.3.4", "user_agent": "x"}},
                                  {"visitor": ANNA, "site_id": 999}, {"visitor": ANNA, "extra": 1}, [1]])
def test_bad_subject_requests_get_a_clear_answer(runtime: Runtime, http: TestClient, body: Any) -> None:
    response = http.post("/api/admin/subjects/find", headers=admin_headers(runtime), json=body)
    assert response.status_code in (400, 404) and response.json()["error"]
    assert http.post("/api/admin/subjects/find", json={"visitor": ANNA}).status_code == 401


def test_cli_through_a_running_server(tmp_path: Path) -> None:
    server = TellerServer(tmp_path).start()
    try:
        server.cli("site", "add", "--name", "Shop", "--domain", "shop.example")
        for visitor, path in ((ANNA, "/a"), (ANNA, "/b"), (BOB, "/c")):
            request = urllib.request.Request(
                f"{server.url}matomo.php?idsite=1&rec=1&url=https://shop.example{path}&_id={visitor}",
                headers={"User-Agent": CHROME_UA})
            with urllib.request.urlopen(request, timeout=10) as response:
                assert response.status in (200, 204)
        out = tmp_path / "export"
        server.cli("subject", "export", "--visitor", ANNA, "--out", str(out))
        assert len(list(csv.DictReader((out / "events.csv").open()))) == 2
        assert json.loads((out / "subject.json").read_text())["subject"]["visitor_ids"] == [ANNA]
        assert "events 2" in server.cli("subject", "delete", "--visitor", ANNA, "--yes")
        assert "No stored row" in server.cli("subject", "find", "--visitor", ANNA)
        assert "events" in server.cli("subject", "find", "--visitor", BOB)
        audit = json.loads(server.cli("retention", "audit", "--json"))
        assert [entry["action"] for entry in audit["audit_log"]][:2] == ["subject.delete", "subject.export"]
        assert audit["audit_log"][0]["actor"].startswith("cli:")
    finally:
        server.stop()
