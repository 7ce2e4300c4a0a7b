"""Every breakdown of the Stats API, with and without filters, against numbers computed here in Python from the
raw rows of a seeded data set; CSV export; clear 400s; no other site's data."""

from __future__ import annotations

import csv
import io
import ipaddress
from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from starlette.testclient import TestClient

from dashboards.breakdowns import Breakdowns
from dashboards.filters import DIMENSIONS, parse_filters
from dashboards.periods import parse_range
from dashboards.site_page import GROUPED
from ingest.ipmask import ClientAddress
from ingest.pipeline import TrackingRequest, Verdict
from ingest.sites import Site
from teller.runtime import Runtime
from tests.conftest import CHROME_UA
from tests.helpers import add_site

IPHONE_UA = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
             "Version/17.5 Mobile/15E148 Safari/604.1")
FIREFOX_UA = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
ADDRESSES = ("81.2.69.160", "145.97.183.201", "2.16.0.1", "89.160.20.112")

# One visitor's visit: (user agent, address, [(path or None, extra parameters), ...]); the first hit carries
# the referrer or campaign. None as path: an action on the previous page.
VISITS: list[tuple[str, str, list[tuple[str | None, dict[str, str]]]]] = [
    (CHROME_UA, ADDRESSES[0], [("/", {"urlref": "https://www.google.com/search?q=fiets", "res": "1920x1080"}),
                               ("/prijzen", {"pf_net": "20", "pf_srv": "80", "pf_onl": "300"}),
                               (None, {"e_c": "Video", "e_a": "Play", "e_n": "intro"}),
                               (None, {"idgoal": "1", "revenue": "25"})]),
    (IPHONE_UA, ADDRESSES[1], [("/?utm_source=nieuwsbrief&utm_medium=email&utm_campaign=winter", {"lang": "nl"}),
                               ("/blog/=SUM(A1)", {"action_name": "=SUM(A1)"}),
                               (None, {"link": "https://partner.example/x"}), (None, {"search": "slot"})]),
    (FIREFOX_UA, ADDRESSES[2], [("/prijzen", {"urlref": "https://www.facebook.com/"}),
                                (None, {"download": "https://fietsen.example/folder.pdf"}),
                                (None, {"search": "e-bike", "search_cat": "fietsen", "search_count": "4"})]),
    (IPHONE_UA, ADDRESSES[3], [("/", {}), (None, {"e_c": "Form", "e_a": "Submit"})]),
    (CHROME_UA, ADDRESSES[1], [("/blog", {"urlref": "https://www.google.com/"}), ("/prijzen", {}),
                               (None, {"idgoal": "0", "ec_id": "A17", "revenue": "899.5"}),
                               (None, {"e_c": "Video", "e_a": "Pause"})]),
]


def seed(runtime: Runtime, site: Site, days_ago: int = 1) -> None:
    start = datetime.now(UTC).replace(hour=10, minute=0, second=0, microsecond=0) - timedelta(days=days_ago)
    for number, (agent, address, hits) in enumerate(VISITS):
        visitor = f"{number + 1:016x}"
        page = f"https://{site.domains[0]}/"
        for step, (path, extra) in enumerate(hits):
            if path is not None:
                page = f"https://{site.domains[0]}{path}"
            params = {"idsite": str(site.site_id), "rec": "1", "url": page, "_id": visitor,
                      "h": str(8 + number), **extra}
            at = start + timedelta(minutes=10 * number, seconds=40 * step)
            request = TrackingRequest(params, agent, ClientAddress(ipaddress.ip_address(address)), at)
            assert runtime.pipeline.handle(request).verdict is Verdict.TRACKED
    runtime.drain()


@pytest.fixture
def seeded(runtime: Runtime) -> tuple[Site, Site]:
    site = add_site(runtime, "Fietsen", ("fietsen.example",))
    other = add_site(runtime, "Other", ("other.example",))
    seed(runtime, site)
    seed(runtime, site, days_ago=3)
    runtime.pipeline.handle(TrackingRequest(
        {"idsite": str(other.site_id), "rec": "1", "url": "https://other.example/secret-page", "_id": "f" * 16},
        CHROME_UA, ClientAddress(ipaddress.ip_address(ADDRESSES[0])), datetime.now(UTC) - timedelta(days=1)))
    runtime.drain()
    return site, other


# The expected numbers, from the stored rows, without ClickHouse's help. -----------------------------------

def stored(runtime: Runtime, sql: str, site: Site) -> list[dict[str, Any]]:
    result = runtime.store.client().query(sql, parameters={"site": site.site_id})
    return [dict(zip(result.column_names, row, strict=True)) for row in result.result_rows]


def visit_value(dimension: str, visit: dict[str, Any]) -> str:
    special: dict[str, Callable[[dict[str, Any]], str]] = {
        "channel": lambda row: row["referrer_type"],
        "referrer": lambda row: row["referrer_name"] or row["referrer_host"],
        "country": lambda row: row["country_code"], "device": lambda row: row["device_type"],
        "browser_version": lambda row: f"{row['browser']} {row['browser_version']}",
        "os_version": lambda row: f"{row['os']} {row['os_version']}", "screen": lambda row: row["screen_size"]}
    return special[dimension](visit) if dimension in special else str(visit[dimension])


ACTION_KINDS = {"page": ("pageview",), "title": ("pageview",), "hour": ("pageview",), "outlink": ("outlink",),
                "download": ("download",), "search_keyword": ("site_search",), "event_category": ("event",),
                "event_action": ("event",), "event_name": ("event",), "goal": ("goal", "ecommerce_order")}


def action_value(dimension: str, event: dict[str, Any]) -> str:
    if dimension == "goal":
        return "ecommerce" if event["name"] == "ecommerce_order" else str(event["goal_id"])
    if dimension == "hour":
        return "" if event["local_hour"] < 0 else str(event["local_hour"])
    column = {"page": "pathname", "outlink": "target_url", "download": "target_url"}
    return str(event[column.get(dimension, dimension)])


def matches(operator: str, actual: str, wanted: str) -> bool:
    return {"==": actual == wanted, "!=": actual != wanted, "~": wanted.lower() in actual.lower(),
            "!~": wanted.lower() not in actual.lower()}[operator]


def expected(runtime: Runtime, site: Site, dimension: str, filters: Iterable[tuple[str, str, str]] = ()
             ) -> dict[str, dict[str, Any]]:
    visits = stored(runtime, "SELECT * FROM sessions FINAL WHERE site_id = {site:UInt32} AND sign = 1", site)
    events = stored(runtime, "SELECT * FROM events WHERE site_id = {site:UInt32}", site)
    kept_visits = {visit["visit_id"] for visit in visits}
    filters = list(filters)
    for name, operator, value in filters:
        if DIMENSIONS[name].table == "sessions":
            kept_visits &= {visit["visit_id"] for visit in visits
                            if matches(operator, visit_value(name, visit), value)}
        elif not (DIMENSIONS[dimension].table == "events" and ACTION_KINDS[name] == ACTION_KINDS[dimension]):
            positive = {"!=": "==", "!~": "~"}.get(operator, operator)
            hits = {event["visit_id"] for event in events if event["name"] in ACTION_KINDS[name]
                    and matches(positive, action_value(name, event), value)}
            kept_visits = kept_visits - hits if operator.startswith("!") else kept_visits & hits
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    if DIMENSIONS[dimension].table == "sessions":
        for visit in visits:
            if visit["visit_id"] in kept_visits:
                groups[visit_value(dimension, visit)].append(visit)
        return {value: {"visitors": len({row["visitor_id"] for row in rows}), "visits": len(rows),
                        "pageviews": sum(row["pageviews"] for row in rows),
                        "bounce_rate": round(100 * sum(row["is_bounce"] for row in rows) / len(rows), 1),
                        "visit_duration": round(sum(row["duration"] for row in rows) / len(rows), 1)}
                for value, rows in groups.items()}
    for event in events:
        same_kind = [(name, operator, value) for name, operator, value in filters
                     if ACTION_KINDS.get(name) == ACTION_KINDS[dimension]]
        if event["name"] in ACTION_KINDS[dimension] and event["visit_id"] in kept_visits and all(
                matches(operator, action_value(name, event), value) for name, operator, value in same_kind):
            groups[action_value(dimension, event)].append(event)
    return {value: {"visitors": len({row["visitor_id"] for row in rows}),
                    "visits": len({row["visit_id"] for row in rows}), "actions": len(rows)}
            for value, rows in groups.items()}


def breakdown(dashboard: TestClient, site: Site, dimension: str, *filters: str, **params: str) -> dict[str, Any]:
    query: list[tuple[str, str]] = [("dimension", dimension), ("period", "7d"), *(("filter", item) for item in filters),
                                    *params.items()]
    response = dashboard.get(f"/api/v1/sites/{site.site_id}/breakdown", params=query)
    assert response.status_code == 200, response.text
    return dict(response.json())


def by_value(rows: list[dict[str, Any]], keys: Iterable[str]) -> dict[str, dict[str, Any]]:
    return {row["value"]: {key: row[key] for key in keys} for row in rows}


@pytest.mark.parametrize("dimension", list(DIMENSIONS))
def test_every_breakdown_matches_the_raw_rows(runtime: Runtime, dashboard: TestClient, seeded: tuple[Site, Site],
                                              dimension: str) -> None:
    site, _ = seeded
    want = expected(runtime, site, dimension)
    assert want, f"the seeded data set has no {dimension}"
    body = breakdown(dashboard, site, dimension)
    assert body["source"] == "raw"
    first = next(iter(want.values()))
    assert by_value(body["rows"], first) == want
    ordering = [(-row["visitors"], -row.get("visits", 0)) for row in body["rows"]]
    assert ordering == sorted(ordering)
    assert "/secret-page" not in str(body)


FILTERED = [
    ("page", ["device==smartphone"]), ("country", ["page==/prijzen"]), ("browser", ["page!=/prijzen"]),
    ("entry_page", ["referrer~GOOG"]), ("page", ["page!~blog"]), ("event_action", ["event_category==Video"]),
    ("goal", ["channel!=search"]), ("device", ["event_action==Play", "browser!=Safari"]),
    ("search_keyword", ["device!=smartphone"]), ("exit_page", ["entry_page==/"]), ("page", ["exit_page==/prijzen"]),
    ("event_category", ["screen==1920x1080"]), ("title", ["os_version~ios"]), ("outlink", ["language!=nl"]),
]


@pytest.mark.parametrize(("dimension", "filters"), FILTERED, ids=lambda value: str(value))
def test_filters_match_the_raw_rows(runtime: Runtime, dashboard: TestClient, seeded: tuple[Site, Site], dimension: str,
                                    filters: list[str]) -> None:
    site, _ = seeded
    parsed = []
    for text in filters:
        for operator in ("!=", "!~", "==", "~"):
            if operator in text:
                name, value = text.split(operator, 1)
                parsed.append((name, operator, value))
                break
    want = expected(runtime, site, dimension, parsed)
    body = breakdown(dashboard, site, dimension, *filters)
    assert body["filters"] == filters
    assert by_value(body["rows"], next(iter(want.values()), {})) == want
    assert want != expected(runtime, site, dimension)  # the filter changed something


def test_an_action_counts_under_its_visits_device_even_when_its_own_hit_said_otherwise(
        runtime: Runtime, dashboard: TestClient) -> None:
    """A visit is a desktop visit if it started on a desktop; a later hit of it with a phone's user agent (same
    visitor cookie, within 30 minutes) stays in that visit's device, for action reports as for visit reports."""
    site = add_site(runtime, "Wissel", ("wissel.example",))
    start = datetime.now(UTC).replace(hour=9, minute=0, second=0, microsecond=0) - timedelta(days=1)
    for step, (agent, path) in enumerate([(CHROME_UA, "/"), (IPHONE_UA, "/later"), (IPHONE_UA, "/latest")]):
        params = {"idsite": str(site.site_id), "rec": "1", "url": f"https://wissel.example{path}", "_id": "a" * 16}
        request = TrackingRequest(params, agent, ClientAddress(ipaddress.ip_address(ADDRESSES[0])),
                                  start + timedelta(minutes=step))
        assert runtime.pipeline.handle(request).verdict is Verdict.TRACKED
    runtime.drain()
    events = stored(runtime, "SELECT device_type, browser FROM events WHERE site_id = {site:UInt32}", site)
    assert events == [{"device_type": "desktop", "browser": "Chrome"}] * 3
    desktop = breakdown(dashboard, site, "page", "device==desktop")
    assert {row["value"]: row["actions"] for row in desktop["rows"]} == {"/": 1, "/later": 1, "/latest": 1}
    assert breakdown(dashboard, site, "page", "device==smartphone")["rows"] == []
    assert breakdown(dashboard, site, "page", "browser!=Chrome")["rows"] == []
    assert breakdown(dashboard, site, "device", "page==/latest")["rows"][0]["value"] == "desktop"


@pytest.mark.parametrize("filters", [[], ["device==smartphone"], ["page==/prijzen"], ["exit_page==/prijzen"]],
                         ids=lambda value: str(value))
def test_the_dashboards_grouped_visit_panels_equal_the_single_reports(runtime: Runtime, seeded: tuple[Site, Site],
                                                                      filters: list[str]) -> None:
    site, _ = seeded
    date_range = parse_range({"period": "7d"}, site.zone, datetime.now(UTC))
    breakdowns = Breakdowns(runtime.queries)
    grouped = breakdowns.visit_reports(site, date_range, list(GROUPED), parse_filters(filters), 3)
    assert list(grouped) == list(GROUPED) and len(GROUPED) >= 10
    for dimension in GROUPED:
        single = breakdowns.report(site, date_range, dimension, parse_filters(filters), 3)
        assert grouped[dimension].rows == single.rows, dimension
    assert any(report.rows for report in grouped.values())


ACTION_PANEL_GROUPS = (["page", "hour"], ["event_category", "goal", "outlink", "download", "search_keyword"])


@pytest.mark.parametrize("filters", [[], ["device==smartphone"], ["page==/prijzen"], ["page!=/prijzen"],
                                     ["event_category==Video"], ["search_keyword~SLOT", "browser!=Safari"],
                                     ["goal==1"], ["exit_page==/prijzen"]], ids=lambda value: str(value))
def test_the_dashboards_action_panels_read_together_equal_the_single_reports(
        runtime: Runtime, seeded: tuple[Site, Site], filters: list[str]) -> None:
    """An action filter applies to its own kind's rows directly and to the other kinds through the visit, in
    one query over several kinds exactly as in each kind's own report."""
    site, _ = seeded
    date_range = parse_range({"period": "7d"}, site.zone, datetime.now(UTC))
    breakdowns = Breakdowns(runtime.queries)
    seen_rows = 0
    for group in ACTION_PANEL_GROUPS:
        together = breakdowns.action_reports(site, date_range, group, parse_filters(filters), 3)
        assert list(together) == group
        for dimension in group:
            single = breakdowns.report(site, date_range, dimension, parse_filters(filters), 3, with_visits=False)
            assert together[dimension].rows == single.rows, dimension
            seen_rows += len(single.rows)
    assert seen_rows > 0


def test_action_reports_refuse_a_mix_they_cannot_read_in_one_pass(runtime: Runtime,
                                                                   seeded: tuple[Site, Site]) -> None:
    site, _ = seeded
    date_range = parse_range({"period": "7d"}, site.zone, datetime.now(UTC))
    with pytest.raises(ValueError, match="one kind"):  # page and hour share a kind, event_category does not
        Breakdowns(runtime.queries).action_reports(site, date_range, ["page", "hour", "event_category"], [], 3)


def test_pages_carry_load_times_and_goals_conversion_rates_and_revenue(dashboard: TestClient,
                                                                      seeded: tuple[Site, Site]) -> None:
    site, _ = seeded
    pages = {row["value"]: row for row in breakdown(dashboard, site, "page")["rows"]}
    assert pages["/prijzen"]["load_time_ms"] == 400 and pages["/"]["load_time_ms"] is None
    goals = {row["value"]: row for row in breakdown(dashboard, site, "goal")["rows"]}
    # 5 visitors; visitor 1 converted goal 1 and visitor 5 ordered, on both seeded days.
    assert goals["1"]["conversion_rate"] == 20.0 and goals["1"]["revenue"] == 50.0
    assert goals["ecommerce"]["revenue"] == 1799.0


def test_csv_export_of_a_report(dashboard: TestClient, seeded: tuple[Site, Site]) -> None:
    site, _ = seeded
    response = dashboard.get(f"/api/v1/sites/{site.site_id}/breakdown",
                        params={"dimension": "title", "period": "7d", "format": "csv"})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert set(rows[0]) == {"value", "visitors", "visits", "actions", "load_time_ms"}
    assert "'=SUM(A1)" in {row["value"] for row in rows}  # a formula is never handed to a spreadsheet as one


@pytest.mark.parametrize("params", [
    {"dimension": "nope"}, {"dimension": "page", "filter": "page"}, {"dimension": "page", "filter": "x==1"},
    {"dimension": "page", "limit": "-1"}, {"dimension": "page", "limit": "5000"}, {"dimension": "page", "period": "1y"},
    {"dimension": "page", "filter": "page==" + "x" * 2000}, {},
])
def test_bad_parameters_get_400_with_a_reason(dashboard: TestClient, seeded: tuple[Site, Site],
                                              params: dict[str, str]) -> None:
    site, _ = seeded
    response = dashboard.get(f"/api/v1/sites/{site.site_id}/breakdown", params=params)
    assert response.status_code == 400 and response.json()["error"]


def test_a_range_past_the_raw_retention_reads_rollups(runtime: Runtime, dashboard: TestClient,
                                                      seeded: tuple[Site, Site]) -> None:
    site, _ = seeded
    runtime.rollups.run([site])
    before = breakdown(dashboard, site, "country", period="30d")
    runtime.registry.update(site.site_id, retention_days=2)
    after = breakdown(dashboard, site, "country", period="30d")
    assert after["source"] == "rollups" and before["source"] == "raw"
    # Rollups count a visitor once per calendar month; every seeded visitor came on both seeded days, so when
    # those fall in two months (on the 2nd and 3rd of a month) each row has its visitors twice.
    today = datetime.now(site.zone).date()
    one_month = (today - timedelta(days=1)).month == (today - timedelta(days=3)).month
    assert after["rows"] == (before["rows"] if one_month else
                             [{**row, "visitors": 2 * row["visitors"]} for row in before["rows"]])
    refused = dashboard.get(f"/api/v1/sites/{site.site_id}/breakdown",
                       params={"dimension": "country", "period": "30d", "filter": "device==desktop"})
    assert refused.status_code == 400 and "past the 2 days" in refused.json()["error"]
