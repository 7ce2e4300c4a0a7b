"""The dashboard's numbers, each one SQL query with every value bound as a parameter.

Metric definitions follow Plausible's where they agree: visitors = unique visitor ids, visits = visits that
started in the range (one collapsed row each in `sessions`, counted with sum(sign)), pageviews = page view
events, bounce rate = visits with one action / visits, visit duration = mean of last hit minus first hit.

A range that reaches back past a site's raw retention is read from the rollup tier (ingest/rollups.py) as a
whole, so its numbers stay consistent across the range: the same counts, with visitors unique within each
calendar month (the rollups' salt changes monthly).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from dashboards.periods import DateRange
from ingest.rollups import raw_horizon
from ingest.sites import Site
from ingest.store import Store

# Each query spells out its range condition so that its SQL stays one literal with every value bound.
CURRENT_VISITOR_WINDOW = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class Totals:
    visitors: int
    visits: int
    pageviews: int
    bounce_rate: float  # percent
    visit_duration: float  # seconds, mean


@dataclass(frozen=True, slots=True)
class DayPoint:
    day: date
    visitors: int
    visits: int
    pageviews: int


@dataclass(frozen=True, slots=True)
class PageRow:
    page: str
    visitors: int
    pageviews: int


def _totals(visitors: int, visits: int, pageviews: int, bounces: int, duration: int) -> Totals:
    visits = int(visits)
    return Totals(int(visitors), visits, int(pageviews),
                  bounce_rate=round(100 * int(bounces) / visits, 1) if visits else 0.0,
                  visit_duration=round(int(duration) / visits, 1) if visits else 0.0)


class StatsQueries:
    def __init__(self, store: Store) -> None:
        self.store = store

    def _rows(self, sql: str, site: Site, date_range: DateRange, **extra: Any) -> list[Any]:
        parameters = {"site": site.site_id, "start": date_range.start_utc, "end": date_range.end_utc, **extra}
        return list(self.store.client().query(sql, parameters=parameters).result_rows)

    @staticmethod
    def reads_rollups(site: Site, date_range: DateRange, now: datetime | None = None) -> bool:
        """True when part of the range is older than the site's raw rows (they have expired)."""
        return date_range.start_utc < raw_horizon(site, now or datetime.now(UTC))

    def _rollup_rows(self, sql: str, site: Site, date_range: DateRange, **extra: Any) -> list[Any]:
        parameters = {"site": site.site_id, "first": date_range.first, "last": date_range.last, **extra}
        return list(self.store.client().query(sql, parameters=parameters).result_rows)

    def totals(self, site: Site, date_range: DateRange) -> Totals:
        if self.reads_rollups(site, date_range):
            [(visitors, visits, pageviews, bounces, duration)] = self._rollup_rows(
                "SELECT uniqCombined64Merge(visitors), sum(visits), sum(pageviews), sum(bounces), sum(duration) "
                "FROM rollups FINAL WHERE site_id = {site:UInt32} AND day BETWEEN {first:Date} AND {last:Date} "
                "AND dimension = ''", site, date_range)
            return _totals(visitors, visits, pageviews, bounces, duration)
        [(visitors, visits, bounces, duration)] = self._rows(
            "SELECT uniq(visitor_id), sum(sign), sum(sign * is_bounce), sum(sign * duration) FROM sessions "
            "WHERE site_id = {site:UInt32} AND start >= {start:DateTime('UTC')} AND start < {end:DateTime('UTC')}",
            site, date_range)
        [(pageviews,)] = self._rows(
            "SELECT countIf(name = 'pageview') FROM events "
            "WHERE site_id = {site:UInt32} AND ts >= {start:DateTime('UTC')} AND ts < {end:DateTime('UTC')}",
            site, date_range)
        return _totals(visitors, visits, pageviews, bounces, duration)

    def timeseries(self, site: Site, date_range: DateRange) -> list[DayPoint]:
        if self.reads_rollups(site, date_range):
            by_day = {row[0]: row[1:] for row in self._rollup_rows(
                "SELECT day, uniqCombined64Merge(visitors), sum(visits), sum(pageviews) FROM rollups FINAL "
                "WHERE site_id = {site:UInt32} AND day BETWEEN {first:Date} AND {last:Date} AND dimension = '' "
                "GROUP BY day", site, date_range)}
            return [DayPoint(day, *(int(value) for value in by_day.get(day, (0, 0, 0)))) for day in date_range.days]
        visits = {row[0]: row for row in self._rows(
            "SELECT toDate(start, {tz:String}) AS day, uniq(visitor_id), sum(sign) FROM sessions "
            "WHERE site_id = {site:UInt32} AND start >= {start:DateTime('UTC')} AND start < {end:DateTime('UTC')} "
            "GROUP BY day", site, date_range, tz=site.timezone)}
        pageviews = {row[0]: row[1] for row in self._rows(
            "SELECT toDate(ts, {tz:String}) AS day, countIf(name = 'pageview') FROM events "
            "WHERE site_id = {site:UInt32} AND ts >= {start:DateTime('UTC')} AND ts < {end:DateTime('UTC')} "
            "GROUP BY day", site, date_range, tz=site.timezone)}
        points = []
        for day in date_range.days:  # days without traffic are zeros, not gaps
            _, visitors, count = visits.get(day, (day, 0, 0))
            points.append(DayPoint(day, int(visitors), int(count), int(pageviews.get(day, 0))))
        return points

    def top_pages(self, site: Site, date_range: DateRange, limit: int = 10) -> list[PageRow]:
        if self.reads_rollups(site, date_range):
            rows = self._rollup_rows(
                "SELECT value, uniqCombined64Merge(visitors), sum(pageviews) AS views FROM rollups FINAL "
                "WHERE site_id = {site:UInt32} AND day BETWEEN {first:Date} AND {last:Date} AND dimension = 'page' "
                "GROUP BY value ORDER BY views DESC, value LIMIT {limit:UInt32}", site, date_range, limit=limit)
            return [PageRow(row[0], int(row[1]), int(row[2])) for row in rows]
        rows = self._rows(
            "SELECT pathname, uniq(visitor_id) AS visitors, count() AS pageviews FROM events "
            "WHERE site_id = {site:UInt32} AND ts >= {start:DateTime('UTC')} AND ts < {end:DateTime('UTC')} "
            "AND name = 'pageview' GROUP BY pathname ORDER BY pageviews DESC, pathname LIMIT {limit:UInt32}",
            site, date_range, limit=limit)
        return [PageRow(row[0], int(row[1]), int(row[2])) for row in rows]

    def dropped(self, site: Site, date_range: DateRange) -> dict[str, int]:
        rows = self.store.client().query(
            "SELECT reason, sum(hits) FROM dropped_hits WHERE site_id = {site:UInt32} "
            "AND day BETWEEN {first:Date} AND {last:Date} GROUP BY reason ORDER BY reason",
            parameters={"site": site.site_id, "first": date_range.first, "last": date_range.last},
        ).result_rows
        return {row[0]: int(row[1]) for row in rows}

    def current_visitors(self, site: Site, now: datetime | None = None) -> int:
        since = (now or datetime.now(UTC)).astimezone(UTC).replace(tzinfo=None) - CURRENT_VISITOR_WINDOW
        rows = self.store.client().query(
            "SELECT uniq(visitor_id) FROM events WHERE site_id = {site:UInt32} AND ts >= {since:DateTime('UTC')}",
            parameters={"site": site.site_id, "since": since},
        ).result_rows
        return int(rows[0][0])
