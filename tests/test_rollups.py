"""The rollup tier: built from the raw rows, free of visitor ids, kept per site, and read by the dashboard once
the raw rows of a range have expired."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
from starlette.testclient import TestClient

from dashboards.breakdowns import Breakdowns
from dashboards.periods import DateRange
from ingest.migrations import MIGRATIONS, Resort, migrate, resort
from ingest.pipeline import Verdict
from ingest.sites import Site
from ingest.store import Store
from teller.config import Settings
from teller.runtime import Runtime
from tests.helpers import add_site, event_rows, tracking_request

VISITORS = ("1111111111111111", "2222222222222222", "3333333333333333")


def seed(runtime: Runtime, site: Site, days_ago: tuple[int, ...]) -> None:
    """Per day: visitor 1 views two pages (one visit), visitor 2 one page from a search engine, visitor 3 on
    even days only, from a campaign."""
    for age in days_ago:
        # 11:00 on the site-local day `age` days before the site's today (the UTC date differs near midnight).
        day = datetime.now(site.zone).date() - timedelta(days=age)
        at = datetime.combine(day, time(11), tzinfo=site.zone).astimezone(UTC)
        hits: list[tuple[str, str, dict[str, str]]] = [
            (VISITORS[0], "/", {}), (VISITORS[0], "/prijzen", {}),
            (VISITORS[1], "/blog", {"urlref": "https://www.google.com/"}),
        ]
        if age % 2 == 0:
            hits.append((VISITORS[2], "/?utm_source=nieuwsbrief&utm_campaign=winter", {}))
        for offset, (visitor, path, extra) in enumerate(hits):
            request = tracking_request(site, path, at=at + timedelta(minutes=offset), cid=visitor, **extra)
            assert runtime.pipeline.handle(request).verdict is Verdict.TRACKED
    runtime.drain()


def last_days(site: Site, days: int) -> DateRange:
    today = datetime.now(site.zone).date()
    return DateRange(today - timedelta(days=days - 1), today, site.zone, "custom")


def dashboard(runtime: Runtime, site: Site, date_range: DateRange) -> dict[str, Any]:
    queries = runtime.queries
    return {"totals": queries.totals(site, date_range), "timeseries": queries.timeseries(site, date_range),
            "pages": queries.top_pages(site, date_range)}


def counted_per_month(runtime: Runtime, site: Site, date_range: DateRange) -> dict[str, Any]:
    """The dashboard's numbers from raw rows with visitors counted once per calendar month, as rollups count them
    (each month has its own cookieless salt): the range's and each page's visitors summed over its months."""
    whole = dashboard(runtime, site, date_range)
    months: list[DateRange] = []
    first = date_range.first
    while first <= date_range.last:
        next_month = (first.replace(day=1) + timedelta(days=32)).replace(day=1)
        months.append(DateRange(first, min(date_range.last, next_month - timedelta(days=1)), site.zone, "custom"))
        first = next_month
    parts = [dashboard(runtime, site, month) for month in months]
    page_visitors: dict[str, int] = {}
    for part in parts:
        for row in part["pages"]:
            page_visitors[row.page] = page_visitors.get(row.page, 0) + row.visitors
    return {"totals": replace(whole["totals"], visitors=sum(part["totals"].visitors for part in parts)),
            "timeseries": whole["timeseries"],
            "pages": [replace(row, visitors=page_visitors[row.page]) for row in whole["pages"]]}


def rollup_numbers(runtime: Runtime, site: Site, date_range: DateRange) -> dict[str, Any]:
    """The dashboard's numbers and four breakdowns of a range read from rollups."""
    breakdowns = Breakdowns(runtime.queries)
    return dashboard(runtime, site, date_range) | {
        dimension: breakdowns.report(site, date_range, dimension, [], 10).rows
        for dimension in ("page", "channel", "utm_campaign", "entry_page")}


def rollup_days(runtime: Runtime, site: Site) -> list[date]:
    rows = runtime.store.client().query(
        "SELECT DISTINCT day FROM rollups FINAL WHERE site_id = {site:UInt32} ORDER BY day",
        parameters={"site": site.site_id}).result_rows
    return [row[0] for row in rows]


def test_dashboard_reads_rollups_once_raw_rows_expired(runtime: Runtime) -> None:
    site = add_site(runtime, "Fietsen", ("fietsen.example",), retention_days=30)
    other = add_site(runtime, "Other", ("other.example",), retention_days=30)
    ages = (12, 10, 9, 2, 1)
    seed(runtime, site, ages)
    seed(runtime, other, (10,))
    assert runtime.rollups.run(runtime.registry.list()) == 6
    date_range = last_days(site, 14)
    assert not runtime.queries.reads_rollups(site, date_range)
    from_raw = dashboard(runtime, site, date_range)
    assert from_raw["totals"].visits == 5 * 2 + 3  # visitors 1 and 2 every day, visitor 3 on even days
    assert from_raw["totals"].pageviews == 5 * 3 + 3
    # The 14 days cross a month boundary in the first 13 days of a month: there rollups count a visitor once in
    # each month (visitors 1 and 2 come every seeded day, visitor 3 on even days).
    seen_by_month: dict[tuple[int, int], set[str]] = {}
    for age in ages:
        day = date_range.last - timedelta(days=age)
        seen_by_month.setdefault((day.year, day.month), set()).update(VISITORS if age % 2 == 0 else VISITORS[:2])
    monthly = counted_per_month(runtime, site, date_range)
    assert monthly["totals"].visitors == sum(len(seen) for seen in seen_by_month.values())

    shortened = runtime.registry.update(site.site_id, retention_days=5)
    assert {row["pathname"] for row in event_rows(runtime, site)} == {"/", "/prijzen", "/blog"}
    assert len(event_rows(runtime, site)) == 4 + 3  # only the last two days stay raw (2 days ago is even)
    assert runtime.queries.reads_rollups(shortened, date_range)
    from_rollups = dashboard(runtime, shortened, date_range)
    assert from_rollups == monthly  # same totals, the same day by day, the same pages
    # The other site's rows and rollups are untouched.
    assert len(event_rows(runtime, other)) == 3 + 1


def test_the_stats_api_and_page_say_when_they_read_rollups(runtime: Runtime, dashboard: TestClient) -> None:
    site = add_site(runtime, "Fietsen", ("fietsen.example",), retention_days=30)
    seed(runtime, site, (12, 1))
    runtime.rollups.run([site])
    runtime.registry.update(site.site_id, retention_days=5)
    today = datetime.now(site.zone).date()
    query = f"period=custom&from={today - timedelta(days=13)}&to={today}"
    summary = dashboard.get(f"/api/v1/sites/{site.site_id}/summary?{query}").json()
    assert summary["source"] == "rollups"
    assert (summary["totals"]["visits"], summary["totals"]["pageviews"]) == (3 + 2, 4 + 3)
    assert "from the daily rollups" in dashboard.get(f"/sites/{site.site_id}?{query}").text
    recent = dashboard.get(f"/api/v1/sites/{site.site_id}/summary?period=today").json()
    assert recent["source"] == "raw"


def test_rollups_are_rebuilt_until_final_and_never_from_partial_raw_rows(runtime: Runtime) -> None:
    site = add_site(runtime, "Fietsen", ("fietsen.example",), retention_days=30)
    seed(runtime, site, (3, 0))
    builder = runtime.rollups
    assert builder.run([site]) == 2
    # Three days ago is final (built after its end); today stays pending while it can still change.
    assert builder.pending_days(site, datetime.now(UTC)) == [datetime.now(site.zone).date()]
    seed(runtime, site, (0,))
    builder.run([site])
    today = datetime.now(site.zone).date()
    assert runtime.queries.totals(site, DateRange(today, today, site.zone, "today")).visits == 3
    # A day whose first hours are past the raw retention is never rebuilt from what is left of it.
    late = datetime.now(UTC) + timedelta(days=27, hours=12)
    assert date(*(datetime.now(site.zone) - timedelta(days=3)).timetuple()[:3]) not in builder.pending_days(site, late)


def test_rollups_hold_no_visitor_ids_or_addresses(runtime: Runtime) -> None:
    site = add_site(runtime, "Fietsen", ("fietsen.example",), retention_days=30)
    seed(runtime, site, (1,))
    runtime.rollups.run([site])
    client = runtime.store.client()
    columns = {row[0] for row in client.query("SELECT name FROM system.columns WHERE database = currentDatabase() "
                                               "AND table = 'rollups'").result_rows}
    assert not {"visitor_id", "visit_id", "ip_masked", "user_id"} & columns
    # Every stored byte, the unique-visitor states included, exactly as ClickHouse holds them.
    stored = client.raw_query("SELECT * FROM rollups WHERE site_id = {site:UInt32} FORMAT RowBinary",
                              parameters={"site": site.site_id})
    assert stored  # the states are there
    for visitor in VISITORS:
        assert visitor.encode() not in stored
        assert int(visitor, 16).to_bytes(8, "little") not in stored
        assert int(visitor, 16).to_bytes(8, "big") not in stored
    assert b"81.2." not in stored  # the (masked) address of every seeded hit

    # What the day's unique-visitor state is made of: keyed hashes under the month's salt, not the ids.
    day = datetime.now(site.zone).date() - timedelta(days=1)
    state = client.raw_query("SELECT visitors FROM rollups FINAL WHERE site_id = {site:UInt32} AND day = {day:Date} "
                             "AND dimension = '' FORMAT RowBinary", parameters={"site": site.site_id, "day": day})
    ids = [int(visitor, 16) for visitor in VISITORS[:2]]  # day 1 is odd: visitors 1 and 2
    salt = runtime.rollups.salts.existing(site.site_id, day.replace(day=1))
    assert salt is not None
    salted = client.raw_query("SELECT uniqCombined64State(sipHash64({salt:String}, id)) "
                              "FROM (SELECT arrayJoin({ids:Array(UInt64)}) AS id) FORMAT RowBinary",
                              parameters={"salt": salt.hex(), "ids": ids})
    plain = client.raw_query("SELECT uniqCombined64State(id) FROM (SELECT arrayJoin({ids:Array(UInt64)}) AS id) "
                             "FORMAT RowBinary", parameters={"ids": ids})
    assert state == salted != plain


def test_each_sites_rollups_expire_at_its_own_rollup_retention(runtime: Runtime) -> None:
    keeps = add_site(runtime, "Keeps", ("keeps.example",), retention_days=30)
    trims = add_site(runtime, "Trims", ("trims.example",), retention_days=30)
    for site in (keeps, trims):
        seed(runtime, site, (20, 8, 1))
    runtime.rollups.run(runtime.registry.list())
    today = datetime.now(keeps.zone).date()
    all_days = [today - timedelta(days=age) for age in (20, 8, 1)]
    assert rollup_days(runtime, keeps) == rollup_days(runtime, trims) == all_days

    runtime.registry.update(trims.site_id, retention_days=5, rollup_retention_days=10)
    assert rollup_days(runtime, trims) == all_days[1:]  # the 20-day-old rollup is past 10 days
    assert {row["ts"].date() for row in event_rows(runtime, trims)} == {all_days[2]}  # raw: past 5 days gone
    assert rollup_days(runtime, keeps) == all_days
    assert len(event_rows(runtime, keeps)) == 3 * 3 + 2

    # Rollups can never be kept for less time than the raw rows they summarise.
    try:
        runtime.registry.update(keeps.site_id, rollup_retention_days=10)
    except ValueError as error:
        assert "at least as long as raw rows" in str(error)
    else:
        raise AssertionError("a rollup retention below the raw retention was accepted")


def test_whole_months_are_read_from_their_merged_rows_with_the_same_numbers(runtime: Runtime) -> None:
    site = add_site(runtime, "Fietsen", ("fietsen.example",), retention_days=90)
    today = datetime.now(site.zone).date()
    last_month = (today.replace(day=1) - timedelta(days=1)).replace(day=1)
    month_days = (last_month, last_month + timedelta(days=1), last_month.replace(day=15),
                  today.replace(day=1) - timedelta(days=1))
    ages = tuple((today - day).days for day in month_days)
    seed(runtime, site, ages)
    later = datetime.now(UTC) + timedelta(hours=3)  # past FINAL_AFTER even just after midnight on the 1st
    builder = runtime.rollups
    assert builder.run([site], now=later) == len(month_days)
    assert builder.pending_months(site, later) == []
    stored = runtime.store.client().query(
        "SELECT month, dimension, value, finalizeAggregation(visitors), visits, pageviews FROM rollup_months FINAL "
        "WHERE site_id = {site:UInt32} AND dimension IN ('', 'page') ORDER BY dimension, value",
        parameters={"site": site.site_id}).result_rows
    # Visitors 1 and 2 every day and 3 on even days: three visitors in the month, not one per day.
    assert stored[0][:4] == (last_month, "", "", 3)
    even_days = sum(age % 2 == 0 for age in ages)
    assert {row[2]: row[5] for row in stored[1:]} == {"/": 4 + even_days, "/prijzen": 4, "/blog": 4}

    shortened = runtime.registry.update(site.site_id, retention_days=1)
    date_range = DateRange(last_month - timedelta(days=3), today, site.zone, "custom")
    assert runtime.queries.reads_rollups(shortened, date_range)
    assert runtime.queries.rollup_source(shortened, date_range)[1] == {"merged": [last_month]}
    from_months = rollup_numbers(runtime, shortened, date_range)
    runtime.store.client().command("DELETE FROM rollup_months WHERE site_id = {site:UInt32}",
                                   parameters={"site": site.site_id})
    assert runtime.queries.rollup_source(shortened, date_range)[1] == {"merged": []}
    assert rollup_numbers(runtime, shortened, date_range) == from_months
    assert (from_months["totals"].visitors, from_months["totals"].visits) == (3, 2 * len(month_days) + even_days)

    # A day of the month built again (it was final, so only by hand) makes the month pending again.
    builder.build_day(site, last_month.replace(day=15), later + timedelta(minutes=1))
    assert builder.pending_months(site, later + timedelta(minutes=2)) == [last_month]


def test_first_rollup_rows_merge_the_states_of_few_values_and_match_merging_all(
        runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    site = add_site(runtime, "Fietsen", ("fietsen.example",), retention_days=30)
    # 30 visitors, one visit each: visitor v enters at /p{v} and views /p{v} … /p29, so /p{i} has i + 1 visitors,
    # visits and page views, and each entry page has one visitor.
    day = datetime.now(site.zone).date() - timedelta(days=3)
    at = datetime.combine(day, time(11), tzinfo=site.zone).astimezone(UTC)
    for visitor in range(30):
        for page in range(visitor, 30):
            request = tracking_request(site, f"/p{page:02}", at=at + timedelta(seconds=visitor * 30 + page),
                                       cid=f"{visitor + 1:016x}")
            assert runtime.pipeline.handle(request).verdict is Verdict.TRACKED
    runtime.drain()
    runtime.rollups.run([site])
    shortened = runtime.registry.update(site.site_id, retention_days=1)
    date_range = last_days(site, 7)
    assert runtime.queries.reads_rollups(shortened, date_range)
    merges: list[list[str] | str] = []  # per query merging visitor states: the values it was limited to, or "all"
    query_rows = runtime.queries.query_rows

    def recording(sql: str, parameters: dict[str, Any]) -> list[tuple[Any, ...]]:
        if "uniqCombined64Merge" in sql:
            merges.append(parameters["values"] if "IN {values:" in sql else "all")
        return query_rows(sql, parameters)

    monkeypatch.setattr(runtime.queries, "query_rows", recording)
    breakdowns = Breakdowns(runtime.queries)

    # Rows 2 to 4 by visitors: 18 candidates by visits (2 per row wanted, plus 10) are merged, not 30.
    pages = breakdowns.report(shortened, date_range, "page", [], limit=3, offset=1).rows
    assert pages == [{"value": f"/p{page}", "visitors": page + 1, "visits": page + 1, "actions": page + 1}
                     for page in (28, 27, 26)]
    assert merges == [[f"/p{page}" for page in range(29, 11, -1)]]
    # The dashboard summary's top pages by page views: only the first ten are merged.
    merges.clear()
    assert [(row.page, row.visitors, row.pageviews) for row in runtime.queries.top_pages(shortened, date_range)] == [
        (f"/p{page}", page + 1, page + 1) for page in range(29, 19, -1)]
    assert merges == [[f"/p{page}" for page in range(29, 19, -1)]]
    # Entry pages all have one visit and one visitor: the candidates cannot be proven first (a value left out
    # ties with them), so every value is merged, and the ties are broken by value as before.
    merges.clear()
    entries = breakdowns.report(shortened, date_range, "entry_page", [], limit=3).rows
    assert [(row["value"], row["visitors"], row["visits"]) for row in entries] == [
        ("/p00", 1, 1), ("/p01", 1, 1), ("/p02", 1, 1)]
    assert merges == [[f"/p{page:02}" for page in range(16)], "all"]
    merges.clear()
    entries = breakdowns.report(shortened, date_range, "entry_page", [], limit=3, offset=6).rows
    assert [row["value"] for row in entries] == ["/p06", "/p07", "/p08"]
    assert (len(merges[0]), merges[1:]) == (28, ["all"])  # 28 candidates, then every value
    # Fewer values than candidates: merged at once.
    merges.clear()
    assert [row["value"] for row in breakdowns.report(shortened, date_range, "device", [], limit=3).rows] == [
        "desktop"]
    assert merges == ["all"]


def rollup_table_rows(store: Store) -> dict[str, list[tuple[Any, ...]]]:
    """Every stored row of both rollup tables, duplicates included, with each visitor state as its count."""
    return {table: store.client().query(
        f"SELECT * EXCEPT visitors, finalizeAggregation(visitors) FROM {table} ORDER BY ALL").result_rows  # noqa: S608
        for table in ("rollups", "rollup_months")}


def sorting_keys(store: Store) -> dict[str, str]:
    rows = store.client().query(
        "SELECT name, sorting_key FROM system.tables WHERE database = {database:String} AND name LIKE 'rollup%'",
        parameters={"database": store.database}).result_rows
    return dict(rows)


def test_migration_18_sorts_installed_rollups_by_dimension_and_keeps_every_row(
        settings: Settings, store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    # A database as Teller left it before migration 18, with daily and monthly rollups in it.
    monkeypatch.setattr("ingest.migrations.MIGRATIONS", tuple(m for m in MIGRATIONS if m.version < 18))
    runtime = Runtime.open(settings, store=store)
    try:
        site = add_site(runtime, "Fietsen", ("fietsen.example",), retention_days=90)
        today = datetime.now(site.zone).date()
        last_month = (today.replace(day=1) - timedelta(days=1)).replace(day=1)
        seed(runtime, site, tuple((today - day).days for day in (last_month, last_month.replace(day=2), today)))
        runtime.rollups.run([site], now=datetime.now(UTC) + timedelta(hours=3))
        monkeypatch.undo()
        before = rollup_table_rows(store)
        assert len(before["rollups"]) > 20 and len(before["rollup_months"]) > 5
        assert sorting_keys(store) == {"rollups": "site_id, day, dimension, value", "rollup_salts": "site_id, day",
                                       "rollup_months": "site_id, month, dimension, value"}
        # The raw rows as if expired (the site object only: the raw tables of a later schema are not there yet).
        shortened = replace(site, retention_days=1)
        date_range = DateRange(last_month, today, site.zone, "custom")
        assert runtime.queries.reads_rollups(shortened, date_range)
        reported = rollup_numbers(runtime, shortened, date_range)
        # An interrupted earlier attempt left its scratch table behind.
        store.client().command("CREATE TABLE rollups_resorted (half_copied UInt8) ENGINE = Memory")

        assert [migration.version for migration in migrate(store)][:1] == [18]  # and any later ones
        assert sorting_keys(store) == {"rollups": "site_id, dimension, day, value", "rollup_salts": "site_id, day",
                                       "rollup_months": "site_id, dimension, month, value"}
        assert rollup_table_rows(store) == before
        assert rollup_numbers(runtime, shortened, date_range) == reported
        # Running the step again (a crash before the bookkeeping row) changes nothing.
        [resort_days, _] = next(m for m in MIGRATIONS if m.version == 18).statements
        assert isinstance(resort_days, Resort)
        resort(store, resort_days)
        assert rollup_table_rows(store) == before
        assert migrate(store) == []
    finally:
        runtime.stop_ingest()
        runtime.geo.close()
