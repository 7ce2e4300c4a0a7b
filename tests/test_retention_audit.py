"""`teller retention audit`: TTLs as ClickHouse reports them, rows per site and tier against the policy,
`--enforce`, the exit status, the JSON/HTML/page forms, and the audit log of administrative changes."""

from __future__ import annotations

import json
import re
import time
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from dashboards.i18n import DUTCH
from ingest.pipeline import Verdict
from ingest.sites import Site
from teller.admin import runtime_admin
from teller.cli import main
from teller.runtime import Runtime, admin_token
from tests.helpers import add_site, event_rows, tracking_request
from tests.test_rollups import seed


def audit(runtime: Runtime, enforce: bool = False) -> dict[str, Any]:
    return runtime_admin(runtime, "test:ops").retention_audit(enforce)


def tier(report: dict[str, Any], site_id: int, name: str) -> dict[str, Any]:
    site = next(site for site in report["sites"] if site["site_id"] == site_id)
    return dict(site["tiers"][name])


def seeded(runtime: Runtime) -> tuple[Any, Any]:
    """Two sites with 20-day-old rows; then `lax`'s policy drops to 10 days in the sites table only, as if the
    change had been written but ClickHouse had not applied it yet (a failed mutation, or TTL merges not run)."""
    lax = add_site(runtime, "Lax", ("lax.example",), retention_days=30)
    strict = add_site(runtime, "Strict", ("strict.example",), retention_days=30)
    for site in (lax, strict):
        seed(runtime, site, (20, 3))
    runtime.rollups.run(runtime.registry.list())
    runtime.registry._write(replace(lax, retention_days=10, rollup_retention_days=15))
    runtime.sites.invalidate()
    return runtime.registry.get(lax.site_id), strict


def seeded_utc_day(site: Site, age: int) -> date:
    """The UTC date of the hits seed() made `age` days ago: 11:00 site time, on the site's own calendar."""
    day = datetime.now(site.zone).date() - timedelta(days=age)
    return (datetime.combine(day, datetime.min.time(), site.zone) + timedelta(hours=11)).astimezone(UTC).date()


def test_audit_reports_ttls_rows_and_rows_past_policy_then_enforce_removes_exactly_them(runtime: Runtime) -> None:
    lax, strict = seeded(runtime)
    before = audit(runtime)
    tables = {table["name"]: table for table in before["tables"]}
    assert tables["events"]["ttl"] == "ts + toIntervalDay(retention_days)"
    assert tables["sessions"]["ttl"] == "start + toIntervalDay(retention_days)"
    assert tables["page_visits"]["ttl"] == "ts + toIntervalDay(retention_days)"
    assert tables["rollups"]["ttl"] == "day + toIntervalDay(retention_days)"
    assert tables["cookieless_salts"]["ttl"] == "day + toIntervalDay(2)"
    assert tables["audit_log"]["ttl"] == ""
    assert tables["events"]["rows"] == 2 * 7 and tables["events"]["bytes_on_disk"] > 0

    raw = tier(before, lax.site_id, "raw")
    assert raw["retention_days"] == 10
    [(session_rows, old_session_rows)] = runtime.store.client().query(
        "SELECT count(), countIf(start < now() - toIntervalDay(10)) FROM sessions WHERE site_id = {site:UInt32}",
        parameters={"site": lax.site_id}).result_rows
    assert raw["rows"] == 7 + session_rows + 7  # events, visit rows and the events' page views in page_visits
    assert old_session_rows > 0
    assert raw["rows_past_policy"] == 4 + old_session_rows + 4  # the 20-day-old events, their visits and views
    assert raw["rows_with_stale_retention"] == raw["rows"]
    assert raw["oldest"].startswith(seeded_utc_day(lax, 20).isoformat())
    assert tier(before, lax.site_id, "rollups")["rows_past_policy"] > 0
    assert tier(before, strict.site_id, "raw")["rows_past_policy"] == 0
    assert before["rows_past_policy"] > 0
    assert before["last_enforced"] is None

    after = audit(runtime, enforce=True)
    assert after["rows_past_policy"] == 0
    assert after["removed"]["events"] == 4 and after["removed"]["page_visits"] == 4 and after["removed"]["rollups"] > 0
    assert after["last_enforced"]["actor"] == "test:ops"
    assert after["audit_log"][0]["action"] == "retention.enforce"
    assert {row["ts"].date() for row in event_rows(runtime, lax)} == {seeded_utc_day(lax, 3)}
    assert len(event_rows(runtime, strict)) == 7  # the other site keeps everything
    assert tier(after, strict.site_id, "rollups")["rows"] == tier(before, strict.site_id, "rollups")["rows"]


def test_rows_of_a_deleted_site_are_past_policy_and_enforce_removes_them(runtime: Runtime) -> None:
    site = add_site(runtime, "Gone", ("gone.example",), retention_days=30)
    seed(runtime, site, (1,))
    runtime.registry._write(site, deleted=True)  # as if the deletion had stopped before removing its rows
    report = audit(runtime)
    orphan = next(entry for entry in report["sites"] if entry["site_id"] == site.site_id)
    assert orphan["name"] == "" and orphan["rows_past_policy"] > 0
    assert audit(runtime, enforce=True)["rows_past_policy"] == 0
    assert runtime.store.client().query("SELECT count() FROM events WHERE site_id = {site:UInt32}",
                                        parameters={"site": site.site_id}).result_rows[0][0] == 0


def test_expired_rows_are_past_policy_until_deleted(runtime: Runtime) -> None:
    site = add_site(runtime, "Short", ("short.example",), retention_days=3)
    seed(runtime, site, (1,))
    client = runtime.store.client()
    for table in ("events", "sessions", "page_visits"):
        # Merges delete expired rows on their own (a merge applies the TTL); hold them to look in between.
        client.command("SYSTEM STOP MERGES {table:Identifier}", parameters={"table": table})
    try:
        almost = datetime.now(UTC) - timedelta(days=3) + timedelta(seconds=3)
        request = tracking_request(site, "/almost", at=almost, cid="4444444444444444")
        assert runtime.pipeline.handle(request).verdict is Verdict.TRACKED
        runtime.drain()
        assert audit(runtime)["rows_past_policy"] == 0
        time.sleep(4)  # the row passes its policy
        assert tier(audit(runtime), site.site_id, "raw")["rows_past_policy"] == 3  # its event, visit and view
    finally:
        for table in ("events", "sessions", "page_visits"):
            client.command("SYSTEM START MERGES {table:Identifier}", parameters={"table": table})
    report = audit(runtime, enforce=True)
    assert report["rows_past_policy"] == 0
    assert "/almost" not in {row["pathname"] for row in event_rows(runtime, site)}


def cli(config: Path, *args: str) -> int:
    return main(["--config", str(config), *args])


def test_cli_exit_status_json_and_printable_html(runtime: Runtime, config_path: Path, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    seeded(runtime)
    assert cli(config_path, "retention", "audit") == 1
    text = capsys.readouterr().out
    assert "events" in text and "ts + toIntervalDay(retention_days)" in text and "Rows past their policy" in text

    html = tmp_path / "report.html"
    assert cli(config_path, "retention", "audit", "--json", "--html", str(html)) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["rows_past_policy"] > 0
    page = html.read_text()
    assert "<style>" in page and 'href="/static' not in page and "Retention audit" in page
    assert "rows are older than their site" in page

    assert cli(config_path, "retention", "audit", "--enforce", "--json") == 0
    enforced = json.loads(capsys.readouterr().out)
    assert enforced["rows_past_policy"] == 0 and enforced["removed"]
    assert enforced["last_enforced"]["actor"].startswith("cli:")
    assert cli(config_path, "retention", "audit") == 0


def test_admin_api_and_dashboard_page(runtime: Runtime, http: TestClient, dashboard: TestClient) -> None:
    seeded(runtime)
    assert http.get("/api/admin/retention").status_code == 401
    headers = {"Authorization": f"Bearer {admin_token(runtime.settings.secret_key)}",
               "X-Teller-Actor": "privacy%20officer"}
    response = http.get("/api/admin/retention", headers=headers)
    assert response.status_code == 409 and response.json()["rows_past_policy"] > 0
    page = dashboard.get("/retention")  # a super-admin's page
    assert page.status_code == 200 and "rows are older than their site" in page.text
    enforced = http.post("/api/admin/retention/enforce", headers=headers)
    assert enforced.status_code == 200 and enforced.json()["last_enforced"]["actor"] == "privacy officer"
    page = dashboard.get("/retention")
    assert "No row is older than its site" in page.text
    assert "retention.enforce" in page.text and "privacy officer" in page.text


DUTCH_DATE_TIME = (r"\d{1,2} (?:jan\.|feb\.|mrt\.|apr\.|mei|jun\.|jul\.|aug\.|sep\.|okt\.|nov\.|dec\.) "
                   r"\d{4} \d\d:\d\d:\d\d")
ENGLISH_IN_THE_PAGE = ("Retention audit", "rows are older", "Administrative changes", "Bytes on disk", "raw rows",
                       "Not enforced by hand", "generated")


def test_the_page_and_the_printable_report_are_in_dutch_too(runtime: Runtime, dashboard: TestClient,
                                                            config_path: Path, tmp_path: Path) -> None:
    template = Path(__file__).resolve().parent.parent / "dashboards" / "templates" / "retention.html"
    texts = re.findall(r"""t\("([^"]+)"\)""", template.read_text())
    assert len(texts) > 30 and [text for text in texts if text not in DUTCH] == []

    seeded(runtime)
    page = dashboard.get("/retention", headers={"Accept-Language": "nl-NL,nl;q=0.9"})
    assert page.status_code == 200 and '<html lang="nl">' in page.text
    assert "Bewaartermijnen" in page.text and "rijen zijn ouder dan de bewaartermijn van hun site" in page.text
    assert "Nog niet handmatig toegepast" in page.text and "ruwe gegevens" in page.text
    assert re.search(f"gegenereerd op {DUTCH_DATE_TIME} UTC", page.text)
    assert [text for text in ENGLISH_IN_THE_PAGE if text in page.text] == []
    # Numbers as the other Dutch pages write them: bytes on disk run into the thousands.
    assert re.search(r'class="num">\d{1,3}(?:\.\d{3})+<', page.text)
    assert not re.search(r'class="num">\d{1,3}(?:,\d{3})+<', page.text)
    # The language links lead to this page in each language; ?lang= beats the browser.
    assert 'href="/retention?lang=en" hreflang="en"' in page.text
    english = dashboard.get("/retention?lang=en", headers={"Accept-Language": "nl"})
    assert '<html lang="en">' in english.text and "rows are older than their site" in english.text
    assert re.search(r'class="num">\d{1,3}(?:,\d{3})+<', english.text)

    html = tmp_path / "rapport.html"
    assert cli(config_path, "retention", "audit", "--html", str(html), "--lang", "nl") == 1
    report = html.read_text()
    assert '<html lang="nl">' in report and "Bewaartermijnen" in report and "<style>" in report
    assert [text for text in ENGLISH_IN_THE_PAGE if text in report] == []
    assert 'hreflang="' not in report  # a file has no other language to switch to


def test_every_administrative_change_is_in_the_audit_log(runtime: Runtime, http: TestClient) -> None:
    headers = {"Authorization": f"Bearer {admin_token(runtime.settings.secret_key)}", "X-Teller-Actor": "ops:anna"}
    created = http.post("/api/admin/sites", headers=headers, json={
        "name": "Bakkerij", "domains": ["bakkerij.example"], "timezone": "Europe/Amsterdam", "retention_days": 30})
    site_id = created.json()["site_id"]
    assert http.patch(f"/api/admin/sites/{site_id}", headers=headers, json={"name": "Bakker"}).status_code == 200
    assert http.patch(f"/api/admin/sites/{site_id}", headers=headers,
                      json={"retention_days": 42, "rollup_retention_days": 400}).status_code == 200
    token = http.post("/api/admin/tokens", headers=headers, json={"site_id": site_id, "label": "shop"}).json()
    assert http.delete(f"/api/admin/tokens/{token['token_id']}", headers=headers).status_code == 200
    assert http.delete(f"/api/admin/sites/{site_id}", headers=headers).status_code == 200
    log = [(entry["actor"], entry["action"], entry["site_id"]) for entry in reversed(audit(runtime)["audit_log"])]
    assert log == [("ops:anna", action, site_id) for action in
                   ("site.add", "site.update", "site.retention", "token.add", "token.revoke", "site.delete")]
    retention = next(entry for entry in audit(runtime)["audit_log"] if entry["action"] == "site.retention")
    assert retention["details"] == {"retention_days": {"from": 30, "to": 42},
                                    "rollup_retention_days": {"from": 761, "to": 400}}
    assert token["token"] not in json.dumps(audit(runtime)["audit_log"])  # a token secret is never logged
