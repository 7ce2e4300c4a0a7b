"""The summary report with filters, intervals and comparisons, realtime, the multi-site overview and the OpenAPI
document, checked against numbers computed from the raw rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from starlette.routing import Route
from starlette.testclient import TestClient

from dashboards.periods import parse_range
from ingest.pipeline import Verdict
from ingest.sites import Site
from teller.runtime import Runtime
from tests.helpers import add_site, tracking_request
from tests.test_breakdowns import seed, stored


@pytest.fixture
def site(runtime: Runtime) -> Site:
    site = add_site(runtime, "Fietsen", ("fietsen.example",))
    seed(runtime, site, days_ago=1)
    seed(runtime, site, days_ago=3)
    seed(runtime, site, days_ago=9)  # in the previous 7 days, for comparisons
    return site


def summary(dashboard: TestClient, site: Site, *filters: str, **params: str) -> dict[str, Any]:
    query = [("period", "7d"), *params.items(), *(("filter", item) for item in filters)]
    response = dashboard.get(f"/api/v1/sites/{site.site_id}/summary", params=query)
    assert response.status_code == 200, response.text
    return dict(response.json())


def raw_totals(runtime: Runtime, site: Site, first_day_ago: int, last_day_ago: int,
               visit_ok: Any = lambda visit: True, view_ok: Any = lambda view: True) -> dict[str, Any]:
    """Totals from the stored rows of the days [first_day_ago … last_day_ago] ago (site-local days)."""
    today = datetime.now(site.zone).date()
    days = {today - timedelta(days=ago) for ago in range(last_day_ago, first_day_ago + 1)}
    visits = [visit for visit in stored(runtime, "SELECT * FROM sessions FINAL WHERE site_id = {site:UInt32} "
                                                 "AND sign = 1", site)
              if visit["start"].replace(tzinfo=UTC).astimezone(site.zone).date() in days and visit_ok(visit)]
    kept = {visit["visit_id"] for visit in visits}
    views = [event for event in stored(runtime, "SELECT * FROM events WHERE site_id = {site:UInt32}", site)
             if event["name"] == "pageview" and event["visit_id"] in kept and view_ok(event)]
    count = len(visits)
    return {"visitors": len({visit["visitor_id"] for visit in visits}), "visits": count, "pageviews": len(views),
            "views_per_visit": round(len(views) / count, 2),
            "bounce_rate": round(100 * sum(visit["is_bounce"] for visit in visits) / count, 1),
            "visit_duration": round(sum(visit["duration"] for visit in visits) / count, 1)}


def test_totals_match_the_raw_rows_with_and_without_filters(runtime: Runtime, dashboard: TestClient,
                                                            site: Site) -> None:
    assert summary(dashboard, site)["totals"] == raw_totals(runtime, site, 6, 0)
    mobile = summary(dashboard, site, "device==smartphone")
    assert mobile["filters"] == ["device==smartphone"]
    assert mobile["totals"] == raw_totals(runtime, site, 6, 0, lambda visit: visit["device_type"] == "smartphone")
    # An action filter, as Plausible counts it: the visits that viewed /prijzen, and the views of /prijzen.
    events = stored(runtime, "SELECT * FROM events WHERE site_id = {site:UInt32}", site)
    saw_prices = {event["visit_id"] for event in events if event["pathname"] == "/prijzen"}
    prices = summary(dashboard, site, "page==/prijzen")["totals"]
    assert prices == raw_totals(runtime, site, 6, 0, lambda visit: visit["visit_id"] in saw_prices,
                                lambda view: view["pathname"] == "/prijzen")
    assert 0 < prices["visits"] < summary(dashboard, site)["totals"]["visits"]
    # "is not": the visits that never viewed it, and the views of every other page (the matching actions).
    never = summary(dashboard, site, "page!=/prijzen")["totals"]
    want = raw_totals(runtime, site, 6, 0, lambda visit: visit["visit_id"] not in saw_prices)
    other_views = raw_totals(runtime, site, 6, 0, view_ok=lambda view: view["pathname"] != "/prijzen")["pageviews"]
    assert (never["visitors"], never["visits"], never["bounce_rate"], never["visit_duration"]) == \
        (want["visitors"], want["visits"], want["bounce_rate"], want["visit_duration"])
    assert never["pageviews"] == other_views
    assert never["visits"] + prices["visits"] == summary(dashboard, site)["totals"]["visits"]


def test_time_series_by_hour_day_week_and_month_add_up(dashboard: TestClient, site: Site) -> None:
    totals = summary(dashboard, site, period="30d")["totals"]
    for interval in ("hour", "day", "week", "month"):
        points = summary(dashboard, site, period="30d" if interval != "hour" else "7d", interval=interval)["timeseries"]
        reference = totals if interval != "hour" else summary(dashboard, site)["totals"]
        assert sum(point["visits"] for point in points) == reference["visits"], interval
        assert sum(point["pageviews"] for point in points) == reference["pageviews"], interval
        labels = [point["date"] for point in points]
        assert labels == sorted(labels) and len(labels) == len(set(labels))
    hours = summary(dashboard, site, interval="hour")["timeseries"]
    assert len(hours) in (7 * 24 - 1, 7 * 24, 7 * 24 + 1)  # a DST change adds or removes an hour
    # Visits start at 10:00 UTC (11:00 or 12:00 in Amsterdam) and later; early morning is empty.
    assert all(point["visits"] == 0 for point in hours if point["date"].endswith(("T03:00", "T04:00")))
    weeks = summary(dashboard, site, period="30d", interval="week")["timeseries"]
    assert all(datetime.fromisoformat(point["date"]).weekday() == 0 for point in weeks[1:])


def test_comparison_with_the_previous_period(runtime: Runtime, dashboard: TestClient, site: Site) -> None:
    body = summary(dashboard, site, compare="previous")
    comparison = body["comparison"]
    today = datetime.now(site.zone).date()
    assert comparison["range"]["from"] == (today - timedelta(days=13)).isoformat()
    assert comparison["range"]["to"] == (today - timedelta(days=7)).isoformat()
    assert comparison["totals"] == raw_totals(runtime, site, 13, 7)
    assert comparison["change"]["visits"] == round(100 * (body["totals"]["visits"] - comparison["totals"]["visits"])
                                                   / comparison["totals"]["visits"], 1) == 100.0
    year = summary(dashboard, site, compare="year")["comparison"]
    assert year["totals"]["visits"] == 0 and year["change"]["visits"] is None


def test_this_month_and_this_year() -> None:
    from zoneinfo import ZoneInfo
    zone = ZoneInfo("Europe/Amsterdam")
    now = datetime(2026, 11, 21, 12, tzinfo=UTC)
    month = parse_range({"period": "month"}, zone, now)
    year = parse_range({"period": "year"}, zone, now)
    assert (month.first.isoformat(), month.last.isoformat()) == ("2026-11-01", "2026-11-21")
    assert (year.first.isoformat(), year.last.isoformat()) == ("2026-01-01", "2026-11-21")


@pytest.mark.parametrize("params", [{"interval": "minute"}, {"compare": "lastweek"},
                                    {"period": "90d", "interval": "hour"}, {"filter": "nope==1"}, {"filter": "page"}])
def test_bad_summary_parameters_get_400(dashboard: TestClient, site: Site, params: dict[str, str]) -> None:
    response = dashboard.get(f"/api/v1/sites/{site.site_id}/summary", params=params)
    assert response.status_code == 400 and response.json()["error"]


def test_realtime_last_30_minutes(runtime: Runtime, dashboard: TestClient) -> None:
    site = add_site(runtime, "Live", ("live.example",))
    now = datetime.now(UTC)
    for minutes_ago, visitor, path in ((2, "1" * 16, "/"), (2, "2" * 16, "/"), (12, "1" * 16, "/a"),
                                       (40, "3" * 16, "/old")):
        request = tracking_request(site, path, at=now - timedelta(minutes=minutes_ago), cid=visitor)
        assert runtime.pipeline.handle(request).verdict is Verdict.TRACKED
    runtime.drain()
    body = dashboard.get(f"/api/v1/sites/{site.site_id}/realtime").json()
    assert len(body["minutes"]) == 30
    assert sum(minute["pageviews"] for minute in body["minutes"]) == 3  # the 40-minute-old view is outside
    assert body["current_visitors"] == 2
    assert {page["page"]: page["pageviews"] for page in body["pages"]} == {"/": 2, "/a": 1}
    assert body["minutes"][-1]["minute"] == now.astimezone(site.zone).strftime("%Y-%m-%dT%H:%M")


def test_overview_of_every_site(runtime: Runtime, dashboard: TestClient, site: Site) -> None:
    other = add_site(runtime, "Leeg", ("leeg.example",))
    body = dashboard.get("/api/v1/overview", params={"period": "7d"}).json()
    rows = {row["site_id"]: row for row in body["sites"]}
    assert rows[site.site_id]["totals"] == summary(dashboard, site)["totals"]
    assert rows[site.site_id]["change"]["visits"] == 100.0
    assert rows[other.site_id]["totals"]["visits"] == 0 and rows[other.site_id]["change"]["visits"] is None
    assert dashboard.get("/api/v1/overview", params={"period": "nope"}).status_code == 400


def test_openapi_document_covers_every_stats_route(dashboard: TestClient) -> None:
    document = dashboard.get("/api/v1/openapi.json").json()
    assert document["openapi"].startswith("3.")
    app = dashboard.app
    while not hasattr(app, "routes"):
        app = app.app  # type: ignore[attr-defined]
    stats_routes = {route.path for route in app.routes if isinstance(route, Route)
                    and route.path.startswith("/api/v1/") and route.path != "/api/v1/openapi.json"}
    assert stats_routes == set(document["paths"])
    parameters = {parameter["name"] for parameter in
                  document["paths"]["/api/v1/sites/{site_id}/breakdown"]["get"]["parameters"]}
    assert {"dimension", "filter", "period", "from", "to", "limit", "offset", "format"} <= parameters
