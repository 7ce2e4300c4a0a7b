"""Dashboard queries on a site with 10 million hits over 90 days (issue 6): every panel's query, timed.

    .venv/bin/python bench/dashboard_queries.py [--hits 10000000] [--repetitions 7] [--data-dir DIR] [--keep]
                                                [--reuse] [--json]

    .venv/bin/python bench/dashboard_queries.py --hits 200000      # a quick try (about a minute)

What it does:

1. A fresh embedded chDB database (ingest.store.Store, ingest.migrations.migrate) in
   bench/results/dashboard-data-<hits>/ (or --data-dir), deleted at the end unless --keep. One site made by
   ingest.sites.SiteRegistry (Europe/Amsterdam, raw rows kept 400 days).
2. `--hits` rows generated straight into `events` and `sessions` by INSERT … SELECT FROM numbers()
   (bench/synthetic_site.py says how and with which distributions): ~0.4 visits and ~0.3 visitors per hit,
   thousands of pages, sources, campaigns, places, devices, events, searches, downloads, goals with revenue,
   pf_* timings, local_hour. Why this is representative: the rows go into Teller's own tables, created by the
   migrations, with their sort keys, partitions and codecs; `sessions` holds one +1 row per visit, which is
   what its VersionedCollapsingMergeTree keeps once merges have collapsed each visit's -1/+1 pairs; and both
   tables are OPTIMIZEd FINAL, the parts a server's background merges converge to. Only the ingest path is
   skipped (75+ minutes for 10M hits at its ~2,250 hits/s); it is benchmarked on its own in
   bench/ingest_throughput.py. Then ingest.rollups.RollupBuilder.run builds the rollups of the 90 days (timed),
   and bytes on disk per hit are read from system.parts (active parts, after OPTIMIZE TABLE … FINAL).
3. Every panel the dashboard and the Stats API serve, called as they call it: StatsQueries.totals,
   timeseries, top_pages, current_visitors and dropped (the summary), and Breakdowns.report for every
   dimension of dashboards.filters.DIMENSIONS (10 rows for the panels the dashboard page draws, see
   dashboards/site_page.py, 100 for the others, the Stats API's default); for the last 30 and 90 days,
   without a filter, with a visit filter (device==smartphone) and with an action filter (page==/pricing, the
   most viewed page after "/"). Filters go to every query that takes them (totals and timeseries when their
   signature has `filters`; top_pages, current_visitors and dropped take none and run unfiltered).
   One warm-up pass, then --repetitions passes of the whole dashboard in sequence; per panel the median and
   the 90th percentile (linear interpolation) of the wall time of the Python call, result conversion
   included, the process CPU time, and the rows ClickHouse will read (EXPLAIN ESTIMATE). "Dashboard page"
   is the sum of the page's panels in a pass, "whole dashboard" the wall time of one pass over every panel.
4. The rollup tier: 90 days and 12 months read from rollups, for a copy of the site whose raw retention is
   30 days (StatsQueries reads rollups for a range that starts before the raw horizon). The registry is not
   changed, because a shorter retention there would delete the raw rows at once. The 90 built days are
   built again from their raw rows as days 91, 182, 273 and 364 days back, each with the salt of the month it
   lands in, so that a 12-month range reads a year of rollup rows in which a visitor counts once per month,
   and every finished month of them is merged into rollup_months as the server does (timed).

Output: markdown tables on stdout and in bench/results/dashboard_queries.txt; --json writes the raw numbers
to bench/results/dashboard_queries.json. Nothing asserts on time.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import hashlib
import inspect
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import chdb

from bench.servers import REPO
from bench.synthetic_site import POPULAR_PAGE, Generated, generate, make_plan
from dashboards.breakdowns import FROM_ROLLUPS, Breakdowns
from dashboards.filters import DIMENSIONS, Filter, parse_filters
from dashboards.periods import DateRange, comparison_range, parse_range
from dashboards.queries import StatsQueries
from dashboards.report import site_summary
from dashboards.site_page import MAP_ROWS, PANEL_ROWS, Links, build_panels
from dashboards.site_page import PANELS as SITE_PAGE_PANELS
from dashboards.web import PANEL_QUERY_THREADS
from ingest.migrations import migrate
from ingest.rollups import DAY_STATEMENTS, RollupBuilder, utc_bounds
from ingest.sites import Site, SiteRegistry
from ingest.store import Store
from teller.config import DEFAULT_SAMPLE_ABOVE_ROWS

RESULTS = REPO / "bench" / "results"
TIMEZONE = "Europe/Amsterdam"
RETENTION_DAYS = 400
ROLLUP_RETENTION_DAYS = 30  # the raw retention of the site copy that reads rollups
PANEL_TARGET_MS = 150.0
DASHBOARD_TARGET_MS = 1000.0
SUMMARY_PANELS = ("totals", "timeseries", "top_pages", "current_visitors", "dropped")
# The dashboard page: its summary (totals with the previous period's for the change, no top pages: the Pages
# panel shows them) and the breakdown panels dashboards/site_page.py draws (10 rows each).
PAGE_PANELS = ("totals", "previous_totals", "timeseries", "current_visitors", "dropped",
               *(spec.dimension for spec in SITE_PAGE_PANELS))
FILTERS = ("", "device==smartphone", f"page=={POPULAR_PAGE}")
TABLES = ("events", "sessions", "page_visits", "rollups", "dropped_hits")


# --- a Store whose clients remember what ClickHouse reported for each query ---------------------------------


class _RecordingClient:
    def __init__(self, client: Any, log: list[dict[str, Any]]) -> None:
        self._client = client
        self._log = log

    def query(self, query: str, parameters: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        result = self._client.query(query, parameters=parameters, **kwargs)
        self._log.append({"sql": query, "parameters": parameters, "summary": dict(result.summary or {})})
        return result

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


class RecordingStore(Store):
    def __init__(self, dsn: str, database: str) -> None:
        super().__init__(dsn, database)
        self.log: list[dict[str, Any]] = []

    def client(self) -> Any:
        return _RecordingClient(super().client(), self.log)


# --- timing ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Panel:
    name: str
    run: Callable[[], object]
    filtered: bool = True  # False: the panel's query takes no filters, so it runs unfiltered in every scenario


@dataclass(slots=True)
class PanelResult:
    name: str
    ms: list[float] = field(default_factory=list)
    cpu_ms: list[float] = field(default_factory=list)  # the whole process: ClickHouse's threads included
    clickhouse_ms: list[float] = field(default_factory=list)  # elapsed as ClickHouse reports it, summed
    queries: int = 0
    rows_to_read: int = 0  # EXPLAIN ESTIMATE of each statement's main table, after the primary key and partitions
    statements: list[dict[str, Any]] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.ms)

    @property
    def p90(self) -> float:
        return percentile(self.ms, 0.9)


@dataclass(slots=True)
class Scenario:
    key: str
    label: str
    site: Site
    date_range: DateRange
    filter_text: str
    panels: list[Panel]
    results: dict[str, PanelResult] = field(default_factory=dict)
    dashboard_ms: list[float] = field(default_factory=list)
    summary_ms: list[float] = field(default_factory=list)
    page_ms: list[float] = field(default_factory=list)  # the dashboard page's panels (PAGE_PANELS)
    served: Callable[[], object] | None = None  # the page's queries as the server runs them, in parallel
    served_ms: list[float] = field(default_factory=list)
    served_cpu_ms: list[float] = field(default_factory=list)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    position = (len(ordered) - 1) * fraction
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def takes_filters(method: Callable[..., object]) -> bool:
    return "filters" in inspect.signature(method).parameters


def panels_for(queries: StatsQueries, breakdowns: Breakdowns, site: Site, date_range: DateRange,
               filters: list[Filter], dimensions: tuple[str, ...], now: datetime) -> list[Panel]:
    """Every panel, called as the dashboard calls it; filters go to every query that takes them."""
    summary_filters = {"filters": filters} if filters else {}
    totals_filtered, timeseries_filtered = takes_filters(queries.totals), takes_filters(queries.timeseries)
    panels = [
        Panel("totals", lambda: queries.totals(site, date_range, **(summary_filters if totals_filtered else {})),
              totals_filtered),
        Panel("previous_totals", lambda: queries.totals(site, comparison_range(date_range, "previous"), **(
            summary_filters if totals_filtered else {})), totals_filtered),
        Panel("timeseries", lambda: queries.timeseries(site, date_range, **(
            summary_filters if timeseries_filtered else {})), timeseries_filtered),
        Panel("top_pages", lambda: queries.top_pages(site, date_range), takes_filters(queries.top_pages)),
        Panel("current_visitors", lambda: queries.current_visitors(site, now), False),
        Panel("dropped", lambda: queries.dropped(site, date_range), False),
    ]
    for dimension in dimensions:
        # The page's panels as dashboards/site_page.py asks for them (10 rows, the country map's 300, no visits
        # column); the others as the Stats API's default (100 rows, every metric).
        on_page = dimension in PAGE_PANELS
        limit = (MAP_ROWS if dimension == "country" else PANEL_ROWS) if on_page else 100
        panels.append(Panel(dimension, lambda dimension=dimension, limit=limit, on_page=on_page: breakdowns.report(
            site, date_range, dimension, filters, limit, with_visits=not on_page)))
    return panels


def served_page(queries: StatsQueries, breakdowns: Breakdowns, site: Site, date_range: DateRange,
                filter_text: str, now: datetime, executor: ThreadPoolExecutor) -> Callable[[], object]:
    """The dashboard page's queries as dashboards/web.py runs them: the summary and the panels on its pool of
    PANEL_QUERY_THREADS threads."""
    query = {"period": "custom", "from": date_range.first.isoformat(), "to": date_range.last.isoformat(),
             "compare": "previous"}
    filter_texts = [filter_text] if filter_text else []

    def run() -> object:
        summary = executor.submit(site_summary, queries, site, query, now, filter_texts, top_pages=False)
        panels = build_panels(breakdowns, site, date_range, parse_filters(filter_texts),
                              queries.reads_rollups(site, date_range, now), Links(site, []), executor,
                              visitors=lambda: summary.result()["totals"]["visitors"])
        return summary.result(), panels
    return run


def measure(store: RecordingStore, scenario: Scenario, repetitions: int) -> None:
    for panel in scenario.panels:  # warm-up: one pass
        panel.run()
    results = {panel.name: PanelResult(panel.name) for panel in scenario.panels}
    for _ in range(repetitions):
        pass_started = time.perf_counter()
        summary = page = 0.0
        for panel in scenario.panels:
            store.log.clear()
            cpu_before = cpu_seconds()
            started = time.perf_counter()
            panel.run()
            elapsed = (time.perf_counter() - started) * 1000
            result = results[panel.name]
            result.ms.append(elapsed)
            result.cpu_ms.append((cpu_seconds() - cpu_before) * 1000)
            result.clickhouse_ms.append(sum(int(item["summary"].get("elapsed_ns", 0)) for item in store.log) / 1e6)
            result.queries = len(store.log)
            result.statements = list(store.log)
            if panel.name in SUMMARY_PANELS:
                summary += elapsed
            if panel.name in PAGE_PANELS:
                page += elapsed
        scenario.dashboard_ms.append((time.perf_counter() - pass_started) * 1000)
        scenario.summary_ms.append(summary)
        scenario.page_ms.append(page)
    if scenario.served is not None:
        scenario.served()  # warm-up
        for _ in range(repetitions):
            cpu_before = cpu_seconds()
            started = time.perf_counter()
            scenario.served()
            scenario.served_ms.append((time.perf_counter() - started) * 1000)
            scenario.served_cpu_ms.append((cpu_seconds() - cpu_before) * 1000)
    client = store.client()
    for result in results.values():
        result.rows_to_read = sum(int(row[3]) for item in result.statements for row in client.query(
            "EXPLAIN ESTIMATE " + item["sql"], parameters=item["parameters"]).result_rows)
    scenario.results = results


# --- the data ---------------------------------------------------------------------------------------------------


def parts(store: Store) -> dict[str, dict[str, int]]:
    rows = store.client().query(
        "SELECT table, sum(bytes_on_disk), sum(data_compressed_bytes), sum(data_uncompressed_bytes), sum(rows), "
        "count() FROM system.parts WHERE database = {db:String} AND active AND table IN {tables:Array(String)} "
        "GROUP BY table", parameters={"db": store.database, "tables": list(TABLES)}).result_rows
    names = ("bytes_on_disk", "compressed", "uncompressed", "rows", "parts")
    return {str(row[0]): dict(zip(names, (int(value) for value in row[1:]), strict=True)) for row in rows}


def optimize(store: Store, table: str) -> float:
    started = time.perf_counter()
    store.client().command("OPTIMIZE TABLE {table:Identifier} FINAL", parameters={"table": table})
    return time.perf_counter() - started


def scalar_row(store: Store, sql: str, site: Site) -> tuple[Any, ...]:
    return tuple(store.client().query(sql, parameters={"site": site.site_id}).result_rows[0])


def dataset_facts(store: Store, site: Site) -> dict[str, Any]:
    """What was generated, and whether events and sessions agree (they must, as after ingest)."""
    hits, pageviews, visits_in_events, visitors, paths, first, last = scalar_row(
        store, "SELECT count(), countIf(name = 'pageview'), uniqExact(visit_id), uniqExact(visitor_id), "
        "uniqExactIf(pathname, name = 'pageview'), min(ts), max(ts) FROM events WHERE site_id = {site:UInt32}", site)
    visits, session_pageviews, session_actions, bounces, mean_duration = scalar_row(
        store, "SELECT sum(sign), sum(sign * pageviews), sum(sign * (pageviews + events)), sum(sign * is_bounce), "
        "sum(sign * duration) / sum(sign) FROM sessions WHERE site_id = {site:UInt32}", site)
    mismatched = scalar_row(
        store, "SELECT count() FROM (SELECT visit_id, count() AS actions, countIf(name = 'pageview') AS views, "
        "argMin(pathname, ts) AS entry, argMaxIf(pathname, ts, name = 'pageview') AS exit, "
        "max(ts) - min(ts) AS span FROM events WHERE site_id = {site:UInt32} GROUP BY visit_id) AS e "
        "FULL JOIN (SELECT visit_id, pageviews + events AS actions, pageviews AS views, entry_page AS entry, "
        "exit_page AS exit, duration AS span FROM sessions WHERE site_id = {site:UInt32} AND sign = 1) AS s "
        "USING visit_id WHERE e.actions != s.actions OR e.views != s.views OR e.entry != s.entry "
        "OR e.exit != s.exit OR e.span != s.span", site)[0]
    kinds = dict(store.client().query(
        "SELECT name, count() FROM events WHERE site_id = {site:UInt32} GROUP BY name ORDER BY name",
        parameters={"site": site.site_id}).result_rows)
    return {"hits": int(hits), "pageviews": int(pageviews), "visits": int(visits), "visitors": int(visitors),
            "visits_in_events": int(visits_in_events), "distinct_pages": int(paths), "first_hit": str(first),
            "last_hit": str(last), "session_pageviews": int(session_pageviews),
            "session_actions": int(session_actions), "bounce_rate": round(100 * int(bounces) / int(visits), 1),
            "mean_visit_seconds": round(float(mean_duration), 1), "visits_not_matching_their_events": int(mismatched),
            "hits_by_kind": {str(name): int(count) for name, count in kinds.items()}}


def extend_rollups(store: Store, site: Site, now: datetime) -> None:
    """Rollups of each built day also stored 91, 182, 273 and 364 days back, so that a 12-month range reads a
    year of rollups. Each copy is built from the day's raw rows with the salt of the month it is stored in, as
    the server would have built it then: a visitor counts once per month, in the copies too (copying the built
    rows would carry their visitor states over, so the same visitors would count once in the whole year)."""
    built = now.astimezone(UTC).replace(tzinfo=None)
    salts: dict[date, str] = {}
    client = store.client()
    days = [row[0] for row in client.query(
        "SELECT DISTINCT day FROM rollups WHERE site_id = {site:UInt32} AND dimension = '' ORDER BY day",
        parameters={"site": site.site_id}).result_rows]
    for day in days:
        start, end = utc_bounds(site, day)
        for shift in (91, 182, 273, 364):
            stored = day - timedelta(days=shift)
            month = stored.replace(day=1)
            salt = salts.setdefault(month, hashlib.sha256(f"bench {site.site_id} {month}".encode()).hexdigest())
            parameters = {"site": site.site_id, "day": stored, "start": start, "end": end, "salt": salt,
                          "retention": site.rollup_retention_days, "built": built}
            for sql in DAY_STATEMENTS:
                client.command(sql, parameters=parameters)


# --- output -----------------------------------------------------------------------------------------------------


class Report:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def __call__(self, text: str = "") -> None:
        print(text, flush=True)
        self.lines.append(text)


def fmt_ms(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:,.1f}"


def cell(result: PanelResult | None) -> str:
    if result is None:
        return ""
    mark = " ⚠" if result.median >= PANEL_TARGET_MS else ""
    return f"{fmt_ms(result.median)} / {fmt_ms(result.p90)}{mark}"


def timing_table(out: Report, scenarios: list[Scenario]) -> None:
    out("| panel | " + " | ".join(scenario.label for scenario in scenarios) + " |")
    out("| --- |" + " ---: |" * len(scenarios))
    names: list[str] = []
    for scenario in scenarios:
        names += [panel.name for panel in scenario.panels if panel.name not in names]
    filtered = any(scenario.filter_text for scenario in scenarios)
    for name in names:
        label = name if name in (*SUMMARY_PANELS, "previous_totals") else f"breakdown: {name}"
        panel = next(panel for scenario in scenarios for panel in scenario.panels if panel.name == name)
        if filtered and not panel.filtered:
            label += " (takes no filters)"
        if name in PAGE_PANELS:
            label += " †"
        out(f"| {label} | " + " | ".join(cell(scenario.results.get(name)) for scenario in scenarios) + " |")
    out("| **summary (the first 5 panels)** | " + " | ".join(
        f"**{fmt_ms(statistics.median(s.summary_ms))} / {fmt_ms(percentile(s.summary_ms, 0.9))}**"
        for s in scenarios) + " |")
    out("| **dashboard page († panels)** | " + " | ".join(
        f"**{fmt_ms(statistics.median(s.page_ms))} / {fmt_ms(percentile(s.page_ms, 0.9))}**"
        for s in scenarios) + " |")
    out(f"| **dashboard page as served ({PANEL_QUERY_THREADS} query threads)** | " + " | ".join(
        f"**{fmt_ms(statistics.median(s.served_ms))} / {fmt_ms(percentile(s.served_ms, 0.9))}**"
        if s.served_ms else "" for s in scenarios) + " |")
    out("| dashboard page as served: process CPU ms | " + " | ".join(
        fmt_ms(statistics.median(s.served_cpu_ms)) if s.served_cpu_ms else "" for s in scenarios) + " |")
    out("| **whole dashboard (every panel), sequential** | " + " | ".join(
        f"**{fmt_ms(statistics.median(s.dashboard_ms))} / {fmt_ms(percentile(s.dashboard_ms, 0.9))}**"
        for s in scenarios) + " |")
    out("| panels with a median ≥ 150 ms | " + " | ".join(
        f"{sum(r.median >= PANEL_TARGET_MS for r in s.results.values())} of {len(s.results)}" for s in scenarios)
        + " |")


def matrix_table(out: Report, scenarios: list[Scenario], value: Callable[[PanelResult], str]) -> None:
    """One value per panel and scenario, in the layout of the timing table."""
    out("| panel | queries | " + " | ".join(scenario.label for scenario in scenarios) + " |")
    out("| --- | ---: |" + " ---: |" * len(scenarios))
    names: list[str] = []
    for scenario in scenarios:
        names += [panel.name for panel in scenario.panels if panel.name not in names]
    for name in names:
        queries = next(s.results[name].queries for s in scenarios if name in s.results)
        out(f"| {name} | {queries} | " + " | ".join(
            value(s.results[name]) if name in s.results else "" for s in scenarios) + " |")


def size_table(out: Report, sizes: dict[str, dict[str, int]], hits: int) -> None:
    out("| table | rows | parts | bytes on disk | compressed | uncompressed | ratio | bytes per hit |")
    out("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")

    def row(label: str, item: dict[str, int]) -> None:
        ratio = item["uncompressed"] / item["compressed"] if item["compressed"] else 0
        out(f"| {label} | {item['rows']:,} | {item['parts']} | {item['bytes_on_disk']:,} | {item['compressed']:,} "
            f"| {item['uncompressed']:,} | {ratio:.1f}× | {item['bytes_on_disk'] / hits:.1f} |")

    raw_tables = [table for table in ("events", "sessions", "page_visits") if table in sizes]
    for table in raw_tables:
        row(table, sizes[table])
    raw = {key: sum(sizes[table][key] for table in raw_tables) for key in sizes["events"]}
    row("**" + " + ".join(raw_tables) + "**", raw)
    for table in ("rollups", "dropped_hits"):
        if table in sizes:
            row(table, sizes[table])


def as_json(scenario: Scenario) -> dict[str, Any]:
    return {
        "label": scenario.label, "filter": scenario.filter_text, "from": scenario.date_range.first.isoformat(),
        "to": scenario.date_range.last.isoformat(), "retention_days": scenario.site.retention_days,
        "dashboard_ms": scenario.dashboard_ms, "summary_ms": scenario.summary_ms, "page_ms": scenario.page_ms,
        "served_ms": scenario.served_ms, "served_cpu_ms": scenario.served_cpu_ms,
        "panels": {name: {"ms": result.ms, "median_ms": result.median, "p90_ms": result.p90,
                          "cpu_ms": result.cpu_ms, "clickhouse_ms": result.clickhouse_ms,
                          "queries": result.queries, "rows_to_read": result.rows_to_read,
                          "statements": [{"sql": item["sql"], "summary": item["summary"]}
                                         for item in result.statements]}
                   for name, result in scenario.results.items()},
    }


def explain_slow(store: Store, scenarios: list[Scenario], path: Path) -> list[str]:
    """EXPLAIN indexes = 1 of every statement of the panels that missed the target, into `path`."""
    seen: set[str] = set()
    text: list[str] = []
    slow: list[str] = []
    for scenario in scenarios:
        for result in scenario.results.values():
            if result.median < PANEL_TARGET_MS:
                continue
            slow.append(f"{scenario.label}: {result.name}")
            for item in result.statements:
                key = item["sql"] + scenario.key
                if key in seen:
                    continue
                seen.add(key)
                plan = store.client().query("EXPLAIN indexes = 1 " + item["sql"], parameters=item["parameters"])
                text += [f"## {scenario.label}: {result.name} ({result.median:.0f} ms median, "
                         f"{result.rows_to_read:,} rows to read)", "", item["sql"], "",
                         *(str(row[0]) for row in plan.result_rows), ""]
    path.write_text("\n".join(text) + "\n", encoding="utf-8")
    return slow


def cpu_pressure() -> str:
    """/proc/pressure/cpu "some" avg60: the share of time runnable tasks waited for a CPU."""
    try:
        line = Path("/proc/pressure/cpu").read_text().splitlines()[0]
    except (OSError, IndexError):
        return "n/a"
    return next((part.split("=")[1] + "%" for part in line.split() if part.startswith("avg60=")), "n/a")


def code_version() -> str:
    """The commit timed, and whether the code the queries come from had uncommitted changes."""
    def git(*arguments: str) -> str:
        try:
            return subprocess.run(["git", *arguments], cwd=REPO, capture_output=True, text=True, timeout=10,
                                  check=False).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""
    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    dirty = git("status", "--porcelain", "--", "dashboards", "ingest")
    return commit + (" (dashboards/ or ingest/ modified)" if dirty else "")


def machine() -> dict[str, Any]:
    model = ""
    with contextlib.suppress(OSError):
        model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                      if line.startswith("model name")), "")
    return {"nproc": os.cpu_count(), "cpu": model, "python": platform.python_version(),
            "load_average": os.getloadavg()}


# --- main -------------------------------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> dict[str, Any]:
    out = Report()
    data_dir: Path = args.data_dir or RESULTS / f"dashboard-data-{args.hits}"
    meta_path = data_dir / "bench-meta.json"
    if not args.reuse and data_dir.exists():
        shutil.rmtree(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    store = RecordingStore(f"chdb://{data_dir / 'clickhouse'}", "teller")
    report: dict[str, Any] = {"hits_requested": args.hits, "repetitions": args.repetitions, "machine": machine(),
                              "started": datetime.now(UTC).isoformat(timespec="seconds"), "code": code_version()}
    try:
        migrate(store)
        registry = SiteRegistry(store)
        report["versions"] = {"chdb": chdb.__version__,
                              "clickhouse": store.client().query("SELECT version()").result_rows[0][0]}
        if args.reuse and meta_path.exists():
            meta = json.loads(meta_path.read_text())
            site = registry.get(meta["site_id"])
            if site is None:
                raise SystemExit(f"--reuse: no site {meta['site_id']} in {data_dir}")
            now = datetime.fromisoformat(meta["now"])
            report.update(meta["report"])
            out(f"Reusing {data_dir} (generated {meta['now']})")
        else:
            site = registry.add("Example Bikes", ["example.com"], TIMEZONE, RETENTION_DAYS)
            plan = make_plan(args.hits, datetime.now(UTC), TIMEZONE)
            now = plan.now
            out(f"Generating {args.hits:,} hits over {len(plan.days)} days into {data_dir} ...")
            started = time.perf_counter()
            generated: Generated = generate(store, site, plan, log=out)
            generation_seconds = time.perf_counter() - started
            out(f"  generated in {generation_seconds:.1f} s")
            sizes_raw = parts(store)
            started = time.perf_counter()
            days_built = RollupBuilder(store).run([site], now=now)
            rollup_seconds = time.perf_counter() - started
            out(f"  rollups: {days_built} days built in {rollup_seconds:.1f} s")
            rollup_optimize = optimize(store, "rollups")
            sizes = parts(store)
            facts = dataset_facts(store, site)
            extend_rollups(store, site, now)
            optimize(store, "rollups")
            generated_report = {
                "generation": {"seconds": round(generation_seconds, 1), "steps": generated.seconds,
                               "visits": generated.visits, "visitors": generated.visitors},
                "rollups": {"days_built": days_built, "seconds": round(rollup_seconds, 1),
                            "optimize_seconds": round(rollup_optimize, 1)},
                "sizes": sizes, "sizes_before_rollups": sizes_raw, "data": facts}
            report.update(generated_report)
            meta_path.write_text(json.dumps({"site_id": site.site_id, "now": now.isoformat(),
                                             "report": generated_report}, default=str))
        report["now"] = now.isoformat()
        # Finished months merged into rollup_months (ingest/rollups.py), for the built days and their copies; a
        # database kept before migration 17 gets them here.
        builder, started = RollupBuilder(store), time.perf_counter()
        months = builder.pending_months(site, now)
        for month in months:
            builder.build_month(site, month, now)
        if months:
            optimize(store, "rollup_months")
        report["rollup_months"] = {"months_built": len(months), "seconds": round(time.perf_counter() - started, 1)}
        out(f"  merged {len(months)} finished months of rollups in {report['rollup_months']['seconds']:.1f} s")
        executor = ThreadPoolExecutor(max_workers=PANEL_QUERY_THREADS, thread_name_prefix="panel")
        queries = StatsQueries(store)  # exact: every row
        breakdowns = Breakdowns(queries)
        scenarios: list[Scenario] = []
        sampled_queries = StatsQueries(store, args.sample_above_rows)
        for kind, scenario_queries in (("", queries), (":sampled", sampled_queries)):
            scenario_breakdowns = Breakdowns(scenario_queries)
            for period in ("30d", "90d"):
                date_range = parse_range({"period": period}, site.zone, now)
                factor = scenario_queries.sample(site, date_range).factor
                for text in FILTERS:
                    label = f"{period}, {text or 'no filter'}" + (f", 1/{factor}" if kind else "")
                    scenarios.append(Scenario(f"{period}:{text}{kind}", label, site, date_range, text, panels_for(
                        scenario_queries, scenario_breakdowns, site, date_range,
                        parse_filters([text] if text else []), tuple(DIMENSIONS), now), served=served_page(
                        scenario_queries, scenario_breakdowns, site, date_range, text, now, executor)))
        report["sample_above_rows"] = args.sample_above_rows
        short = dataclasses.replace(site, retention_days=ROLLUP_RETENTION_DAYS)
        today = parse_range({"period": "90d"}, site.zone, now).last
        rollup_ranges = (("90d", parse_range({"period": "90d"}, site.zone, now)),
                         ("12 months", DateRange(today - timedelta(days=364), today, site.zone, "custom")))
        for name, date_range in rollup_ranges:
            if not queries.reads_rollups(short, date_range):
                raise RuntimeError(f"{name} would not read rollups")
            scenarios.append(Scenario(f"rollups:{name}", f"{name} from rollups", short, date_range, "", panels_for(
                queries, breakdowns, short, date_range, [], FROM_ROLLUPS, now), served=served_page(
                queries, breakdowns, short, date_range, "", now, executor)))
        report["load_average_before_timing"] = os.getloadavg()
        report["cpu_pressure_before_timing"] = cpu_pressure()
        for scenario in scenarios:
            started = time.perf_counter()
            measure(store, scenario, args.repetitions)
            out(f"  timed {scenario.label}: {time.perf_counter() - started:.1f} s, dashboard median "
                f"{statistics.median(scenario.dashboard_ms):,.0f} ms")
        report["load_average_after_timing"] = os.getloadavg()
        report["cpu_pressure_after_timing"] = cpu_pressure()
        slow = explain_slow(store, scenarios, RESULTS / "dashboard_queries_explain.txt")
        report["scenarios"] = {scenario.key: as_json(scenario) for scenario in scenarios}
        write_tables(out, report, scenarios, slow)
    finally:
        store.close()
        if not args.keep:
            shutil.rmtree(data_dir, ignore_errors=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "dashboard_queries.txt").write_text("\n".join(out.lines) + "\n", encoding="utf-8")
    if args.json:
        (RESULTS / "dashboard_queries.json").write_text(json.dumps(report, indent=1, default=str) + "\n")
    return report


def write_tables(out: Report, report: dict[str, Any], scenarios: list[Scenario], slow: list[str]) -> None:
    data = report["data"]
    hits = data["hits"]
    out()
    out(f"## Data: {hits:,} hits, {data['visits']:,} visits, {data['visitors']:,} visitors, "
        f"{data['pageviews']:,} page views, {data['distinct_pages']:,} pages, {data['first_hit']} to "
        f"{data['last_hit']} UTC")
    out()
    out(f"Bounce rate {data['bounce_rate']}%, mean visit {data['mean_visit_seconds']} s; hits by kind: "
        + ", ".join(f"{name} {count:,}" for name, count in data["hits_by_kind"].items()) + ". Visits whose "
        f"sessions row disagrees with their events (actions, page views, entry and exit page, duration): "
        f"{data['visits_not_matching_their_events']}.")
    generation, rollups = report["generation"], report["rollups"]
    out()
    out(f"Generation {generation['seconds']:.0f} s (" + ", ".join(
        f"{name} {seconds:.1f} s" for name, seconds in generation["steps"].items()) + "); "
        f"RollupBuilder.run: {rollups['days_built']} days in {rollups['seconds']:.1f} s "
        f"({rollups['seconds'] / max(rollups['days_built'], 1):.2f} s per day), OPTIMIZE rollups FINAL "
        f"{rollups['optimize_seconds']:.1f} s.")
    out()
    out("## Bytes on disk (active parts after OPTIMIZE TABLE … FINAL; rollups: the 90 built days)")
    out()
    size_table(out, report["sizes"], hits)
    raw = [s for s in scenarios if not s.key.startswith("rollups:") and not s.key.endswith(":sampled")]
    sampled = [s for s in scenarios if s.key.endswith(":sampled")]
    from_rollups = [s for s in scenarios if s.key.startswith("rollups:")]
    out()
    out(f"## Panel times, raw tables, exact: median / p90 ms over {report['repetitions']} passes after one warm-up "
        "(⚠: median ≥ 150 ms)")
    out()
    timing_table(out, raw)
    out()
    out(f"## Panel times, raw tables, sampled as the server does by default ([dashboards] sample_above_rows = "
        f"{report['sample_above_rows']:,}: 1 in n visitors, n in the column heading)")
    out()
    timing_table(out, sampled)
    out()
    out("## Panel times from rollups (site copy with 30-day raw retention; rollup dimensions only, no filters)")
    out()
    timing_table(out, from_rollups)
    out()
    out("## Process CPU per panel, median ms (this process: ClickHouse's threads and Python; the difference to "
        "the wall time above is mostly waiting for a CPU on the shared machine)")
    out()
    matrix_table(out, scenarios, lambda result: fmt_ms(statistics.median(result.cpu_ms)))
    out()
    out("## Rows to read per panel (EXPLAIN ESTIMATE: the main table's rows after partition and primary-key pruning, "
        "summed over the panel's queries; IN-subqueries not included)")
    out()
    matrix_table(out, scenarios, lambda result: f"{result.rows_to_read:,}")
    out()
    out("## Targets")
    out()
    out("| target | scenario | measured | result |")
    out("| --- | --- | --- | --- |")
    for scenario in scenarios:
        worst = max(scenario.results.values(), key=lambda result: result.median)
        missed = sum(result.median >= PANEL_TARGET_MS for result in scenario.results.values())
        out(f"| every panel < 150 ms median | {scenario.label} | slowest {worst.name} {worst.median:,.0f} ms; "
            f"{missed} of {len(scenario.results)} at or over | {'met' if not missed else '**missed**'} |")
    for scenario in scenarios:
        median = statistics.median(scenario.served_ms)
        out(f"| dashboard page as served < 1 s | {scenario.label} | {median:,.0f} ms median "
            f"(its panels one after another: {statistics.median(scenario.page_ms):,.0f} ms) | "
            f"{'met' if median < DASHBOARD_TARGET_MS else '**missed**'} |")
    for scenario in scenarios:
        median = statistics.median(scenario.dashboard_ms)
        out(f"| whole dashboard (every panel) < 1 s | {scenario.label} | {median:,.0f} ms median "
            f"(dashboard page {statistics.median(scenario.page_ms):,.0f} ms, summary "
            f"{statistics.median(scenario.summary_ms):,.0f} ms) | "
            f"{'met' if median < DASHBOARD_TARGET_MS else '**missed**'} |")
    out()
    load = (report["load_average_before_timing"], report["load_average_after_timing"])
    out(f"Code: {report['code']}. Machine: {report['machine']['nproc']} CPUs ({report['machine']['cpu']}), "
        f"chdb {report['versions']['chdb']} "
        f"(ClickHouse {report['versions']['clickhouse']}); load average before/after timing "
        f"{load[0][0]:.1f} / {load[1][0]:.1f}, CPU pressure (tasks waiting for a CPU, avg60) "
        f"{report['cpu_pressure_before_timing']} / {report['cpu_pressure_after_timing']}. Panels at or over "
        f"150 ms: {len(slow)}; their EXPLAIN indexes = 1 is in bench/results/dashboard_queries_explain.txt.")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hits", type=int, default=10_000_000, help="hits to generate (10,000,000)")
    parser.add_argument("--repetitions", type=int, default=7, help="timed passes after one warm-up (7)")
    parser.add_argument("--data-dir", type=Path, help="where the database goes (bench/results/dashboard-data-HITS)")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards (for --reuse)")
    parser.add_argument("--reuse", action="store_true", help="time a database kept by an earlier --keep run")
    parser.add_argument("--json", action="store_true", help="write bench/results/dashboard_queries.json")
    parser.add_argument("--sample-above-rows", type=int, default=DEFAULT_SAMPLE_ABOVE_ROWS,
                        help="the sampled scenarios' budget (teller's default [dashboards] sample_above_rows)")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    if args.hits < 10_000 or args.repetitions < 1:
        parser.error("--hits at least 10000, --repetitions at least 1")
    if args.reuse:
        args.keep = True
    run(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
