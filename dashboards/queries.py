"""The dashboard's numbers, each one SQL query with every value bound as a parameter.

Metric definitions follow Plausible's where they agree: visitors = unique visitor ids, visits = visits that
started in the range (one collapsed row each in `sessions`, counted with sum(sign)), pageviews = page view
events, bounce rate = visits with one action / visits, visit duration = mean of last hit minus first hit.

A range that reaches back past a site's raw retention is read from the rollup tier (ingest/rollups.py) as a
whole, so its numbers stay consistent across the range: the same counts, with visitors unique within each
calendar month (the rollups' salt changes monthly).

A large range of raw rows may be read from a sample of the visitors (dashboards/sampling.py); every count
returned is then scaled to the whole.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from dashboards.filters import Filter, FilterError, where
from dashboards.periods import DateRange
from dashboards.rollup_top import first_by_views
from dashboards.sampling import EXACT, Sample, Sampler
from ingest.rollups import next_month, raw_horizon
from ingest.sites import Site
from ingest.store import Store

# Each query spells out its range condition so that its SQL stays one literal with every value bound.
CURRENT_VISITOR_WINDOW = timedelta(minutes=5)
REALTIME_WINDOW = timedelta(minutes=30)


@dataclass(frozen=True, slots=True)
class Totals:
    visitors: int
    visits: int
    pageviews: int
    bounce_rate: float  # percent
    visit_duration: float  # seconds, mean

    @property
    def views_per_visit(self) -> float:
        return round(self.pageviews / self.visits, 2) if self.visits else 0.0

    def as_json(self) -> dict[str, float]:
        return {"visitors": self.visitors, "visits": self.visits, "pageviews": self.pageviews,
                "views_per_visit": self.views_per_visit, "bounce_rate": self.bounce_rate,
                "visit_duration": self.visit_duration}


@dataclass(frozen=True, slots=True)
class DayPoint:
    day: date | datetime  # the bucket's start: a local date, or for hourly points a local datetime
    visitors: int
    visits: int
    pageviews: int

    @property
    def label(self) -> str:
        return self.day.isoformat(timespec="minutes") if isinstance(self.day, datetime) else self.day.isoformat()


INTERVALS = ("hour", "day", "week", "month")
MAX_HOURLY_DAYS = 31
# The bucket of a row's time in the site's timezone; hours as UTC epoch seconds, turned local in Python (a
# local hour is not unique on the night clocks go back).
_BUCKET = {"hour": "toUnixTimestamp(toStartOfHour({column}))", "day": "toDate({column}, {{tz:String}})",
           "week": "toMonday({column}, {{tz:String}})", "month": "toStartOfMonth({column}, {{tz:String}})"}
_ROLLUP_BUCKET = {"day": "day", "week": "toMonday(day)", "month": "toStartOfMonth(day)"}


def interval_buckets(date_range: DateRange, interval: str) -> list[date | datetime]:
    """Every bucket start of the range, in order."""
    if interval not in INTERVALS:
        raise FilterError("interval must be one of {allowed}", allowed=", ".join(INTERVALS))
    if interval == "hour":
        if len(date_range.days) > MAX_HOURLY_DAYS:
            raise FilterError("hourly points cover at most {limit} days", limit=MAX_HOURLY_DAYS)
        hours = int((date_range.end_utc - date_range.start_utc).total_seconds() // 3600)
        start = date_range.start_utc.replace(tzinfo=UTC)
        return [(start + timedelta(hours=offset)).astimezone(date_range.zone).replace(tzinfo=None)
                for offset in range(hours)]
    if interval == "day":
        return list(date_range.days)
    starts: list[date | datetime] = []
    for day in date_range.days:
        start = day - timedelta(days=day.weekday()) if interval == "week" else day.replace(day=1)
        if not starts or starts[-1] != start:
            starts.append(start)
    return starts


# Rollup rows of a range: daily rows outside the months read merged, and those months' merged rows.
_ROLLUP_SOURCE = (
    "(SELECT value, visitors, visits, pageviews, bounces, duration FROM rollups FINAL WHERE site_id = {site:UInt32} "
    "AND day BETWEEN {first:Date} AND {last:Date} AND dimension = {dimension:String} "
    "AND toStartOfMonth(day) NOT IN {merged:Array(Date)} UNION ALL "
    "SELECT value, visitors, visits, pageviews, bounces, duration FROM rollup_months FINAL "
    "WHERE site_id = {site:UInt32} AND month IN {merged:Array(Date)} AND dimension = {dimension:String})")


def whole_months(first: date, last: date) -> list[date]:
    """The first days of the calendar months that lie wholly within first..last."""
    month = first if first.day == 1 else next_month(first.replace(day=1))
    months = []
    while next_month(month) - timedelta(days=1) <= last:
        months.append(month)
        month = next_month(month)
    return months


def _bucket_key(value: Any, site: Site, interval: str) -> date | datetime:
    if interval == "hour":
        return datetime.fromtimestamp(int(value), UTC).astimezone(site.zone).replace(tzinfo=None)
    return value  # type: ignore[no-any-return]


def _no_filters_on_rollups(site: Site, filters: Sequence[Filter]) -> None:
    if filters:
        raise FilterError("filters need visit details, which this site keeps {days} days; this range reaches back "
                          "further", days=site.retention_days)


@dataclass(frozen=True, slots=True)
class PageRow:
    page: str
    visitors: int
    pageviews: int


def _totals(visitors: int, visits: int, pageviews: int, bounces: int, duration: int,
            sample: Sample = EXACT) -> Totals:
    visits = int(visits)
    return Totals(sample.count(visitors), sample.count(visits), sample.count(pageviews),
                  bounce_rate=round(100 * int(bounces) / visits, 1) if visits else 0.0,
                  visit_duration=round(int(duration) / visits, 1) if visits else 0.0)


class StatsQueries:
    def __init__(self, store: Store, sample_above_rows: int = 0) -> None:
        self.store = store
        self.sampler = Sampler(store, sample_above_rows)

    def sample(self, site: Site, date_range: DateRange) -> Sample:
        """How the raw rows of this range are read: all of them, or 1 in n visitors (rollups: always all)."""
        if self.reads_rollups(site, date_range):
            return EXACT
        return self.sampler.sample(site.site_id, date_range.start_utc, date_range.end_utc)

    def _rows(self, sql: str, site: Site, date_range: DateRange, **extra: Any) -> list[Any]:
        parameters = {"site": site.site_id, "start": date_range.start_utc, "end": date_range.end_utc, **extra}
        return list(self.store.client().query(sql, parameters=parameters).result_rows)

    @staticmethod
    def reads_rollups(site: Site, date_range: DateRange, now: datetime | None = None) -> bool:
        """True when part of the range is older than the site's raw rows (they have expired)."""
        return date_range.start_utc < raw_horizon(site, now or datetime.now(UTC))

    def query_rows(self, sql: str, parameters: dict[str, Any]) -> list[tuple[Any, ...]]:
        return list(self.store.client().query(sql, parameters=parameters).result_rows)

    def _rollup_rows(self, sql: str, site: Site, date_range: DateRange, **extra: Any) -> list[Any]:
        return self.query_rows(sql, {"site": site.site_id, "first": date_range.first, "last": date_range.last,
                                     **extra})

    def rollup_source(self, site: Site, date_range: DateRange) -> tuple[str, dict[str, Any]]:
        """`(SELECT value, visitors, visits, pageviews, bounces, duration …)`: the range's rollup rows of one
        {dimension:String}, for a FROM clause, and its parameters besides site, first, last and dimension. A whole
        month of the range is read from its merged row when it has one (ingest/rollups.py), the other days from
        their daily rows: the same numbers, with a twelfth of the states to merge for a year."""
        months = whole_months(date_range.first, date_range.last)
        merged = [row[0] for row in self.store.client().query(
            "SELECT DISTINCT month FROM rollup_months FINAL WHERE site_id = {site:UInt32} "
            "AND month IN {months:Array(Date)} AND dimension = ''",
            parameters={"site": site.site_id, "months": months}).result_rows] if months else []
        return _ROLLUP_SOURCE, {"merged": merged}

    def totals(self, site: Site, date_range: DateRange, filters: Sequence[Filter] = ()) -> Totals:
        if self.reads_rollups(site, date_range):
            _no_filters_on_rollups(site, filters)
            source, merged = self.rollup_source(site, date_range)
            [(visitors, visits, pageviews, bounces, duration)] = self._rollup_rows(
                "SELECT uniqCombined64Merge(visitors), sum(visits), sum(pageviews), sum(bounces), sum(duration) "  # noqa: S608 - a constant
                f"FROM {source}", site, date_range, dimension="", **merged)
            return _totals(visitors, visits, pageviews, bounces, duration)
        sample = self.sample(site, date_range)
        visit_filters, visit_values = where(list(filters), "sessions", sample=sample)
        [(visitors, visits, bounces, duration)] = self._rows(
            "SELECT uniq(visitor_id), sum(sign), sum(sign * is_bounce), sum(sign * duration) "  # noqa: S608
            f"FROM sessions{sample.clause} WHERE site_id = {{site:UInt32}} AND start >= {{start:DateTime('UTC')}} "
            "AND start < {end:DateTime('UTC')}" + visit_filters, site, date_range, **visit_values)
        view_filters, view_values = where(list(filters), "events", "pageview", sample)
        [(pageviews,)] = self._rows(
            f"SELECT count() FROM events{sample.clause} WHERE site_id = {{site:UInt32}} "  # noqa: S608
            "AND ts >= {start:DateTime('UTC')} AND ts < {end:DateTime('UTC')} AND name = 'pageview'" + view_filters,
            site, date_range, **view_values)
        return _totals(visitors, visits, pageviews, bounces, duration, sample)

    def timeseries(self, site: Site, date_range: DateRange, interval: str = "day",
                   filters: Sequence[Filter] = ()) -> list[DayPoint]:
        """One point per hour, day, week (from Monday) or month of the range, in the site's timezone; buckets
        without traffic are zeros, not gaps."""
        if self.reads_rollups(site, date_range):
            return self._rollup_points(site, date_range, interval, filters)
        return self.overview(site, date_range, interval, filters)[1]

    def _rollup_points(self, site: Site, date_range: DateRange, interval: str,
                       filters: Sequence[Filter]) -> list[DayPoint]:
        buckets = interval_buckets(date_range, interval)
        _no_filters_on_rollups(site, filters)
        if interval == "hour":
            raise FilterError("hourly points need visit details, which this range reaches back past")
        rows = self._rollup_rows(
            f"SELECT {_ROLLUP_BUCKET[interval]} AS bucket, uniqCombined64Merge(visitors), sum(visits), "  # noqa: S608
            "sum(pageviews) FROM rollups FINAL WHERE site_id = {site:UInt32} AND day BETWEEN {first:Date} "
            "AND {last:Date} AND dimension = '' GROUP BY bucket", site, date_range)
        by_bucket = {row[0]: row[1:] for row in rows}
        return [DayPoint(bucket, *(int(value) for value in by_bucket.get(bucket, (0, 0, 0)))) for bucket in buckets]

    def overview(self, site: Site, date_range: DateRange, interval: str = "day",
                 filters: Sequence[Filter] = ()) -> tuple[Totals, list[DayPoint]]:
        """totals() and timeseries() of one range. Of raw rows, from two queries instead of four: the visits are
        grouped by bucket and over the whole range in one pass (GROUPING SETS), and the range's page views are
        the sum of its buckets' (every row of the range falls in one bucket)."""
        buckets = interval_buckets(date_range, interval)
        if self.reads_rollups(site, date_range):
            return self.totals(site, date_range, filters), self._rollup_points(site, date_range, interval, filters)
        sample = self.sample(site, date_range)
        visit_filters, visit_values = where(list(filters), "sessions", sample=sample)
        bucket = _BUCKET[interval].format(column="start")
        visits: dict[date | datetime, tuple[int, int]] = {}
        whole = (0, 0, 0, 0)
        for is_whole_range, key, visitors, count, bounces, duration in self._rows(
                f"SELECT grouping({bucket}), {bucket}, uniq(visitor_id), sum(sign), sum(sign * is_bounce), "  # noqa: S608
                f"sum(sign * duration) FROM sessions{sample.clause} WHERE site_id = {{site:UInt32}} "
                "AND start >= {start:DateTime('UTC')} AND start < {end:DateTime('UTC')}" + visit_filters
                + f" GROUP BY GROUPING SETS (({bucket}), ())", site, date_range, tz=site.timezone, **visit_values):
            if is_whole_range:  # GROUPING(x) = 1: the set without x, the whole range
                whole = (visitors, count, bounces, duration)
            else:
                visits[_bucket_key(key, site, interval)] = (visitors, count)
        view_filters, view_values = where(list(filters), "events", "pageview", sample)
        pageviews = {_bucket_key(row[0], site, interval): row[1] for row in self._rows(
            f"SELECT {_BUCKET[interval].format(column='ts')} AS bucket, count() FROM events{sample.clause} "  # noqa: S608
            "WHERE site_id = {site:UInt32} AND ts >= {start:DateTime('UTC')} AND ts < {end:DateTime('UTC')} "
            "AND name = 'pageview'" + view_filters + " GROUP BY bucket",
            site, date_range, tz=site.timezone, **view_values)}
        points = []
        for start in buckets:
            visitors, count = visits.get(start, (0, 0))
            points.append(DayPoint(start, sample.count(visitors), sample.count(count),
                                   sample.count(pageviews.get(start, 0))))
        visitors, count, bounces, duration = whole
        return _totals(visitors, count, sum(pageviews.values()), bounces, duration, sample), points

    def top_pages(self, site: Site, date_range: DateRange, limit: int = 10) -> list[PageRow]:
        if self.reads_rollups(site, date_range):
            source, merged = self.rollup_source(site, date_range)
            parameters = {"site": site.site_id, "first": date_range.first, "last": date_range.last,
                          "dimension": "page", **merged}
            rows = first_by_views(self.query_rows, source, parameters, limit)
            return [PageRow(row[0], int(row[1]), int(row[2])) for row in rows]
        sample = self.sample(site, date_range)
        rows = self._rows(
            f"SELECT pathname, uniq(visitor_id) AS visitors, count() AS pageviews FROM events{sample.clause} "  # noqa: S608
            "WHERE site_id = {site:UInt32} AND ts >= {start:DateTime('UTC')} AND ts < {end:DateTime('UTC')} "
            "AND name = 'pageview' GROUP BY pathname ORDER BY pageviews DESC, pathname LIMIT {limit:UInt32}",
            site, date_range, limit=limit)
        return [PageRow(row[0], sample.count(row[1]), sample.count(row[2])) for row in rows]

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

    def realtime(self, site: Site, now: datetime | None = None) -> dict[str, Any]:
        """The last 30 minutes: visitors and page views per minute (oldest first, local time) and the pages
        viewed, besides the current visitors (last 5 minutes)."""
        moment = (now or datetime.now(UTC)).astimezone(UTC).replace(second=0, microsecond=0, tzinfo=None)
        since = moment - REALTIME_WINDOW + timedelta(minutes=1)
        parameters = {"site": site.site_id, "since": since}
        per_minute = {int(minute): (int(visitors), int(views)) for minute, visitors, views in self.store.client().query(
            "SELECT toUnixTimestamp(toStartOfMinute(ts)) AS minute, uniq(visitor_id), countIf(name = 'pageview') "
            "FROM events WHERE site_id = {site:UInt32} AND ts >= {since:DateTime('UTC')} GROUP BY minute",
            parameters=parameters).result_rows}
        pages = self.store.client().query(
            "SELECT pathname, uniq(visitor_id) AS visitors, count() AS views FROM events "
            "WHERE site_id = {site:UInt32} AND ts >= {since:DateTime('UTC')} AND name = 'pageview' "
            "GROUP BY pathname ORDER BY visitors DESC, views DESC, pathname LIMIT 10", parameters=parameters)
        minutes = []
        for offset in range(int(REALTIME_WINDOW.total_seconds() // 60)):
            start = (since + timedelta(minutes=offset)).replace(tzinfo=UTC)
            visitors, views = per_minute.get(int(start.timestamp()), (0, 0))
            minutes.append({"minute": start.astimezone(site.zone).replace(tzinfo=None).isoformat(timespec="minutes"),
                            "visitors": visitors, "pageviews": views})
        return {"current_visitors": self.current_visitors(site, now), "minutes": minutes,
                "pages": [{"page": page, "visitors": int(visitors), "pageviews": int(views)}
                          for page, visitors, views in pages.result_rows]}
