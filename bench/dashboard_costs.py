"""Where the dashboard's time goes on the 10-million-hit site, and what two rollup layouts would save.

    .venv/bin/python bench/dashboard_queries.py --keep            # once: generates and keeps the database
    .venv/bin/python bench/dashboard_costs.py [--data-dir DIR] [--repetitions 5]

Runs on the database bench/dashboard_queries.py kept (bench/results/dashboard-data-10000000 by default):

1. The slow panels' queries taken apart over the last 90 days: reading page views, grouping them by path,
   each unique count, the load-time average, the IN-set an action filter builds, the same on a UInt64 column.
2. The rollups over 12 months as stored (ORDER BY site_id, day, dimension, value), then in two scratch copies
   in a database of their own, deleted afterwards: ordered by (site_id, dimension, day, value), and merged per
   month (the visitor states share a salt within a month, so monthly states are exact).

Each query: one warm-up, then --repetitions runs; median wall time and process CPU time (ClickHouse's
threads included, so it does not depend on how busy the machine is). Nothing in Teller's tables changes.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from bench.servers import REPO
from bench.synthetic_site import POPULAR_PAGE
from dashboards.periods import DateRange, parse_range
from ingest.sites import SiteRegistry
from ingest.store import Store

RESULTS = REPO / "bench" / "results"
# The page load time of dashboards/breakdowns.py: the sum of the pf_* timings the browser sent.
_LOAD_TIME = " + ".join(f"greatest({column}, 0)" for column in (
    "pf_network", "pf_server", "pf_transfer", "pf_dom_processing", "pf_dom_completion", "pf_onload"))
SCRATCH = "teller_bench_costs"
_EVENTS = "FROM events WHERE site_id = {site:UInt32} AND ts >= {start:DateTime('UTC')} AND ts < {end:DateTime('UTC')}"
_VIEWS = _EVENTS + " AND name = 'pageview'"
_SESSIONS = ("FROM sessions WHERE site_id = {site:UInt32} AND start >= {start:DateTime('UTC')} "
             "AND start < {end:DateTime('UTC')}")
RAW = (
    ("page views: count()", f"SELECT count() {_VIEWS}"),
    ("page views: uniq(visitor_id), no grouping", f"SELECT uniq(visitor_id) {_VIEWS}"),
    ("page views: GROUP BY pathname, count()", f"SELECT pathname, count() AS c {_VIEWS} GROUP BY pathname "
     "ORDER BY c DESC LIMIT 10"),
    ("page views: GROUP BY pathname, uniq(visitor_id), count() (top_pages)", "SELECT pathname, uniq(visitor_id), "
     f"count() AS c {_VIEWS} GROUP BY pathname ORDER BY c DESC LIMIT 10"),
    ("the same with uniqHLL12(visitor_id)", f"SELECT pathname, uniqHLL12(visitor_id), count() AS c {_VIEWS} "
     "GROUP BY pathname ORDER BY c DESC LIMIT 10"),
    ("page views: GROUP BY local_hour, count()", f"SELECT local_hour, count() {_VIEWS} GROUP BY local_hour"),
    ("page views: GROUP BY local_hour, uniq(visitor_id), uniq(visit_id), count() (hour)", "SELECT local_hour, "
     f"uniq(visitor_id), uniq(visit_id), count() {_VIEWS} GROUP BY local_hour"),
    ("page views: load time avgIf, no grouping", f"SELECT avgIf({_LOAD_TIME}, pf_onload > 0) {_VIEWS}"),
    ("action filter's IN-set: page views with pathname = {page}", f"SELECT count() {_VIEWS} "
     "AND pathname = {page:String}"),
    ("the same test on a UInt64: cityHash64(visit_id) = constant", f"SELECT count() {_VIEWS} "
     "AND cityHash64(visit_id) = {hash:UInt64}"),
    ("visits: GROUP BY entry_page, sum(sign)", f"SELECT entry_page, sum(sign) AS v {_SESSIONS} GROUP BY entry_page "
     "ORDER BY v DESC LIMIT 10"),
    ("visits: GROUP BY entry_page, uniq(visitor_id), sum(sign)", "SELECT entry_page, uniq(visitor_id), "
     f"sum(sign) AS v {_SESSIONS} GROUP BY entry_page ORDER BY v DESC LIMIT 10"),
    ("visits: GROUP BY device_type, sum(sign)", f"SELECT device_type, sum(sign) {_SESSIONS} GROUP BY device_type"),
    ("visits: GROUP BY device_type, uniq(visitor_id), sum(sign)", "SELECT device_type, uniq(visitor_id), "
     f"sum(sign) {_SESSIONS} GROUP BY device_type"),
)
_ROLLUP_DAYS = " FINAL WHERE site_id = {site:UInt32} AND day BETWEEN {first:Date} AND {last:Date}"
_ROLLUP_MONTHS = " FINAL WHERE site_id = {site:UInt32} AND month BETWEEN {first_month:Date} AND {last_month:Date}"
_FROM = " FROM {db:Identifier}.{table:Identifier}{range}"
ROLLUP_QUERIES = (
    ("totals", "SELECT uniqCombined64Merge(visitors), sum(visits), sum(pageviews)" + _FROM + " AND dimension = ''"),
    ("device", "SELECT value, uniqCombined64Merge(visitors) AS visitors, sum(visits)" + _FROM
     + " AND dimension = 'device' GROUP BY value ORDER BY visitors DESC LIMIT 10"),
    ("page", "SELECT value, uniqCombined64Merge(visitors), sum(pageviews) AS views" + _FROM
     + " AND dimension = 'page' GROUP BY value ORDER BY views DESC, value LIMIT 10"),
)


@dataclass(frozen=True, slots=True)
class Cost:
    name: str
    wall_ms: float
    cpu_ms: float
    rows: int


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def timed(store: Store, name: str, sql: str, parameters: dict[str, Any], repetitions: int) -> Cost:
    client = store.client()
    client.query(sql, parameters=parameters)  # warm-up
    walls, cpus = [], []
    for _ in range(repetitions):
        cpu = cpu_seconds()
        started = time.perf_counter()
        client.query(sql, parameters=parameters)
        walls.append((time.perf_counter() - started) * 1000)
        cpus.append((cpu_seconds() - cpu) * 1000)
    rows = sum(int(row[3]) for row in client.query("EXPLAIN ESTIMATE " + sql, parameters=parameters).result_rows)
    return Cost(name, statistics.median(walls), statistics.median(cpus), rows)


def build_scratch(store: Store) -> None:
    client = store.client()
    client.command("DROP DATABASE IF EXISTS {db:Identifier}", parameters={"db": SCRATCH})
    client.command("CREATE DATABASE {db:Identifier}", parameters={"db": SCRATCH})
    scratch = {"db": SCRATCH}
    client.command("CREATE TABLE {db:Identifier}.rollups_by_dimension AS rollups ENGINE = "
                   "ReplacingMergeTree(built_at) PARTITION BY toYYYYMM(day) ORDER BY (site_id, dimension, day, value)",
                   parameters=scratch)
    client.command("INSERT INTO {db:Identifier}.rollups_by_dimension SELECT * FROM rollups", parameters=scratch)
    client.command("CREATE TABLE {db:Identifier}.rollups_by_month ENGINE = ReplacingMergeTree(built_at) "
                   "PARTITION BY toYear(month) ORDER BY (site_id, dimension, month, value) AS "
                   "SELECT site_id, toStartOfMonth(day) AS month, dimension, value, "
                   "uniqCombined64MergeState(visitors) AS visitors, sum(visits) AS visits, "
                   "sum(pageviews) AS pageviews, sum(bounces) AS bounces, sum(duration) AS duration, "
                   "max(built_at) AS built_at FROM rollups FINAL GROUP BY site_id, month, dimension, value",
                   parameters=scratch)
    for table in ("rollups_by_dimension", "rollups_by_month"):
        client.command("OPTIMIZE TABLE {db:Identifier}.{table:Identifier} FINAL",
                       parameters={"db": SCRATCH, "table": table})


def sizes(store: Store) -> dict[str, tuple[int, int]]:
    rows = store.client().query(
        "SELECT concat(database, '.', table), sum(rows), sum(bytes_on_disk) FROM system.parts WHERE active "
        "AND ((database = {db:String} AND table = 'rollups') OR database = {scratch:String}) "
        "GROUP BY database, table", parameters={"db": store.database, "scratch": SCRATCH}).result_rows
    return {str(name): (int(count), int(size)) for name, count, size in rows}


def run(data_dir: Path, repetitions: int) -> list[str]:
    meta = json.loads((data_dir / "bench-meta.json").read_text())
    store = Store(f"chdb://{data_dir / 'clickhouse'}", "teller")
    lines: list[str] = []

    def out(text: str = "") -> None:
        print(text, flush=True)
        lines.append(text)

    try:
        site = SiteRegistry(store).get(meta["site_id"])
        if site is None:
            raise SystemExit(f"no site {meta['site_id']} in {data_dir}")
        now = datetime.fromisoformat(meta["now"])
        days90 = parse_range({"period": "90d"}, site.zone, now)
        parameters = {"site": site.site_id, "start": days90.start_utc, "end": days90.end_utc,
                      "page": POPULAR_PAGE, "hash": 2**62}
        out(f"## Cost split, last 90 days ({days90.first} to {days90.last}), median of {repetitions} runs")
        out()
        out("| query | wall ms | process CPU ms | rows to read |")
        out("| --- | ---: | ---: | ---: |")
        for name, sql in RAW:
            cost = timed(store, name.format(page=POPULAR_PAGE), sql, parameters, repetitions)
            out(f"| {cost.name} | {cost.wall_ms:,.0f} | {cost.cpu_ms:,.0f} | {cost.rows:,} |")
        started = time.perf_counter()
        build_scratch(store)
        out()
        out(f"Scratch rollup copies built in {time.perf_counter() - started:.0f} s; rows and bytes on disk: "
            + ", ".join(f"{name} {count:,} rows, {size / 1e6:,.0f} MB" for name, (count, size) in
                        sorted(sizes(store).items())) + ".")
        last = days90.last
        year = DateRange(last - timedelta(days=364), last, site.zone, "custom")
        months = {"site": site.site_id, "first": year.first, "last": year.last,
                  "first_month": year.first.replace(day=1), "last_month": year.last.replace(day=1)}
        out()
        out(f"## Rollups over 12 months ({year.first} to {year.last}), median of {repetitions} runs: wall / CPU ms "
            "(rows to read)")
        out()
        out("| panel | as stored: (site_id, day, dimension, value) | (site_id, dimension, day, value) "
            "| per month: (site_id, dimension, month, value) |")
        out("| --- | ---: | ---: | ---: |")
        layouts = ((store.database, "rollups", _ROLLUP_DAYS), (SCRATCH, "rollups_by_dimension", _ROLLUP_DAYS),
                   (SCRATCH, "rollups_by_month", _ROLLUP_MONTHS))
        for name, template in ROLLUP_QUERIES:
            cells = []
            for database, table, where in layouts:
                sql = template.replace("{range}", where)
                cost = timed(store, name, sql, months | {"db": database, "table": table}, repetitions)
                cells.append(f"{cost.wall_ms:,.0f} / {cost.cpu_ms:,.0f} ({cost.rows:,})")
            out(f"| {name} | " + " | ".join(cells) + " |")
    finally:
        try:
            store.client().command("DROP DATABASE IF EXISTS {db:Identifier}", parameters={"db": SCRATCH})
        finally:
            store.close()
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, default=RESULTS / "dashboard-data-10000000",
                        help="a database kept by dashboard_queries.py --keep")
    parser.add_argument("--repetitions", type=int, default=5)
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    if not (args.data_dir / "bench-meta.json").exists():
        parser.error(f"{args.data_dir} holds no kept database: run bench/dashboard_queries.py --keep first")
    lines = run(args.data_dir, args.repetitions)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "dashboard_costs.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
