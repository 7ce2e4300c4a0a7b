"""Large ranges read 1 in n visitors: the counts are the sampled visitors' counts times n, checked against the
stored rows of exactly those visitors; small ranges stay exact; the JSON and the page say when it samples."""

from __future__ import annotations

import ipaddress
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from dashboards.breakdowns import Breakdowns
from dashboards.filters import parse_filters, where
from dashboards.periods import parse_range
from dashboards.queries import StatsQueries
from dashboards.sampling import FACTORS, Sample, factor_for
from ingest.ipmask import ClientAddress
from ingest.pipeline import TrackingRequest, Verdict
from ingest.sites import Site
from teller.config import ConfigError, load_settings
from teller.runtime import Runtime
from tests.conftest import CHROME_UA
from tests.helpers import add_site
from tests.test_breakdowns import stored

VISITORS = 400
BUDGET = 150  # events a range may hold before it is sampled, in these tests


@pytest.fixture
def site(runtime: Runtime) -> Site:
    """400 visitors yesterday, each with one to four page views of /, /a, /b or /c."""
    site = add_site(runtime, "Groot", ("groot.example",))
    chance = random.Random(7)
    start = datetime.now(UTC).replace(hour=9, minute=0, second=0, microsecond=0) - timedelta(days=1)
    for number in range(VISITORS):
        visitor = f"{chance.getrandbits(64):016x}"
        for step in range(chance.randint(1, 4)):
            path = chance.choice(("/", "/a", "/b", "/c"))
            params = {"idsite": str(site.site_id), "rec": "1", "url": f"https://groot.example{path}", "_id": visitor}
            at = start + timedelta(seconds=20 * number + 5 * step)
            request = TrackingRequest(params, CHROME_UA, ClientAddress(ipaddress.ip_address("203.0.113.9")), at)
            assert runtime.pipeline.handle(request).verdict is Verdict.TRACKED
    runtime.drain()
    return site


def sampled_rows(runtime: Runtime, site: Site, factor: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The visits and page views of the visitors a 1/factor sample keeps: ClickHouse keeps the sampling key's
    lowest 1/factor of its range, here visitor ids below 2^64 / factor."""
    limit = 2**64 // factor
    visits = [row for row in stored(runtime, "SELECT * FROM sessions FINAL WHERE site_id = {site:UInt32} "
                                             "AND sign = 1", site) if row["visitor_id"] < limit]
    views = [row for row in stored(runtime, "SELECT * FROM events WHERE site_id = {site:UInt32} "
                                            "AND name = 'pageview'", site) if row["visitor_id"] < limit]
    return visits, views


def test_factor_is_the_smallest_power_of_two_under_the_budget() -> None:
    assert factor_for(0, 1000) == 1 and factor_for(1000, 1000) == 1
    assert factor_for(1001, 1000) == 2 and factor_for(4000, 1000) == 4 and factor_for(4001, 1000) == 8
    assert factor_for(10**12, 1000) == FACTORS[-1]
    assert factor_for(10**9, 0) == 1  # 0: never sample
    assert Sample(4).clause == " SAMPLE 1/4" and Sample().clause == ""
    with pytest.raises(ValueError):
        Sample(3)


def test_sampled_totals_and_breakdowns_are_the_scaled_counts_of_the_sampled_visitors(
        runtime: Runtime, site: Site) -> None:
    date_range = parse_range({"period": "7d"}, site.zone, datetime.now(UTC))
    events = len(stored(runtime, "SELECT name FROM events WHERE site_id = {site:UInt32}", site))
    queries = StatsQueries(runtime.store, sample_above_rows=BUDGET)
    sample = queries.sample(site, date_range)
    assert sample.factor == factor_for(events, BUDGET) and sample.factor >= 4

    visits, views = sampled_rows(runtime, site, sample.factor)
    assert 0 < len(visits) < VISITORS  # some visitors are in the sample and some are not
    totals = queries.totals(site, date_range)
    assert (totals.visitors, totals.visits, totals.pageviews) == (
        sample.factor * len({row["visitor_id"] for row in visits}), sample.factor * len(visits),
        sample.factor * len(views))
    assert totals.bounce_rate == round(100 * sum(row["is_bounce"] for row in visits) / len(visits), 1)
    points = queries.timeseries(site, date_range)
    assert sum(point.pageviews for point in points) == totals.pageviews

    pages = {row["value"]: row for row in Breakdowns(queries).report(site, date_range, "page", []).rows}
    for path in ("/", "/a", "/b", "/c"):
        on_page = [row for row in views if row["pathname"] == path]
        assert pages[path]["actions"] == sample.factor * len(on_page)
        assert pages[path]["visitors"] == sample.factor * len({row["visitor_id"] for row in on_page})

    # The dashboard's grouped visit panels are sampled alike.
    grouped = Breakdowns(queries).visit_reports(site, date_range, ["device", "entry_page"], [], 10)
    assert grouped["entry_page"].rows == Breakdowns(queries).report(site, date_range, "entry_page", []).rows
    assert grouped["device"].sample == sample and grouped["device"].rows[0]["visits"] == sample.factor * len(visits)

    # A filter across tables samples its subquery alike: the visits of sampled visitors that viewed /a.
    saw_a = {row["visit_id"] for row in views if row["pathname"] == "/a"}
    filtered = queries.totals(site, date_range, parse_filters(["page==/a"]))
    assert filtered.visits == sample.factor * len([row for row in visits if row["visit_id"] in saw_a])


def test_a_sample_is_the_visitors_below_its_bound_and_a_page_filter_reads_them_from_page_visits(
        runtime: Runtime, site: Site) -> None:
    """A filter's subquery names the sample by its visitor ids (`visitor_id < 2^64 / n`) instead of SAMPLE 1/n,
    so that page_visits, which is not sampled itself, gives a page filter the same visits as events would."""
    client = runtime.store.client()
    for factor in (2, 4, 8):
        sample = Sample(factor)
        for table in ("sessions", "events"):
            sampled = client.query(f"SELECT groupArray(visitor_id) FROM {table}{sample.clause}")  # noqa: S608
            below = client.query(f"SELECT groupArray(visitor_id) FROM {table} WHERE visitor_id < {{b:UInt64}}",  # noqa: S608
                                 parameters={"b": sample.visitor_bound})
            [(sampled,)], [(below,)] = sampled.result_rows, below.result_rows
            assert sorted(sampled) == sorted(below) and 0 < len(set(sampled)) < VISITORS

    # page_visits holds every page view, written by ClickHouse with each insert into events.
    events = client.query("SELECT site_id, pathname, visitor_id, visit_id, ts, retention_days FROM events "
                          "WHERE name = 'pageview'").result_rows
    copies = client.query("SELECT site_id, pathname, visitor_id, visit_id, ts, retention_days FROM page_visits")
    assert sorted(events) == sorted(copies.result_rows) and events

    date_range = parse_range({"period": "7d"}, site.zone, datetime.now(UTC))
    range_values = {"site": site.site_id, "start": date_range.start_utc, "end": date_range.end_utc}
    for factor in (1, 8):
        _, views = sampled_rows(runtime, site, factor)
        for text in ("page==/a", "page~/a"):  # "is" reads page_visits, "contains" events
            condition, values = where(parse_filters([text]), "sessions", sample=Sample(factor))
            assert ("FROM page_visits" in condition) == (text == "page==/a") and "SAMPLE" not in condition
            assert ("visitor_id < {sample_bound:UInt64}" in condition) == (factor > 1)
            subquery = condition[condition.index("(SELECT") + 1:-1]  # " AND visit_id IN (SELECT …)"
            visits = {row[0] for row in client.query(subquery, parameters={**range_values, **values}).result_rows}
            assert visits == {row["visit_id"] for row in views if row["pathname"] == "/a"} and visits


def test_small_ranges_and_a_zero_budget_stay_exact(runtime: Runtime, site: Site) -> None:
    date_range = parse_range({"period": "7d"}, site.zone, datetime.now(UTC))
    visits, views = sampled_rows(runtime, site, 1)
    for queries in (StatsQueries(runtime.store, sample_above_rows=0),
                    StatsQueries(runtime.store, sample_above_rows=10_000)):
        assert queries.sample(site, date_range).factor == 1
        totals = queries.totals(site, date_range)
        assert (totals.visitors, totals.visits, totals.pageviews) == (VISITORS, len(visits), len(views))


def test_the_api_and_the_page_say_when_numbers_are_estimates(runtime: Runtime, dashboard: TestClient,
                                                            site: Site) -> None:
    exact = dashboard.get(f"/api/v1/sites/{site.site_id}/summary", params={"period": "7d"}).json()
    assert exact["sample"] == {"sampled": False, "factor": 1}
    assert exact["totals"]["visitors"] == VISITORS
    assert 'id="sampled"' not in dashboard.get(f"/sites/{site.site_id}?period=7d").text

    runtime.queries.sampler.budget_rows = BUDGET  # the server's own sampler, as if configured so
    summary = dashboard.get(f"/api/v1/sites/{site.site_id}/summary", params={"period": "7d"}).json()
    factor = summary["sample"]["factor"]
    assert summary["sample"]["sampled"] and factor >= 4 and summary["totals"]["visitors"] % factor == 0
    breakdown = dashboard.get(f"/api/v1/sites/{site.site_id}/breakdown",
                              params={"period": "7d", "dimension": "page"}).json()
    assert breakdown["sample"] == summary["sample"]
    page = dashboard.get(f"/sites/{site.site_id}?period=7d&lang=nl").text
    assert 'id="sampled"' in page and f"1 op de {factor} bezoekers" in page


def test_the_budget_is_checked_in_the_config(config_path: Path) -> None:
    assert load_settings(config_path).dashboard_sample_above_rows == 1_000_000
    text = config_path.read_text()
    assert "sample_above_rows = 1000000" in text  # `teller init` writes the key with its explanation
    config_path.write_text(text.replace("sample_above_rows = 1000000", "sample_above_rows = 5"))
    with pytest.raises(ConfigError, match=r"\[dashboards\] sample_above_rows = 5 .*at least 10000"):
        load_settings(config_path)
