"""The rollup tier: per site and site-local day, counts and unique-visitor states per dimension value.

Rollups outlive the raw rows (a site's `rollup_retention_days`, 25 months by default, against 13 for raw rows)
and keep long-range dashboards fast. They hold no visitor ids and no addresses: unique visitors are a
mergeable `uniqCombined64` state of sipHash64(monthly salt, visitor id), and the monthly salt is deleted by
its table's TTL two months after its month, after which no state can be tested for a known visitor id. Within
a month the states merge exactly; a range over several months counts a visitor once per month.

A day is built from the raw tables by INSERT … SELECT and rebuilt while it can still change: until two hours
after its local midnight (late hits and spool replays), so each day is final long before its raw rows expire.
A rebuild replaces the previous one (ReplacingMergeTree on built_at). The server runs `RollupBuilder.run`
every few minutes; a day older than the raw retention is never rebuilt, since its raw rows are incomplete.
Once a month's last day is final, its days are merged into one row per dimension value (`rollup_months`),
which long ranges read for their whole months: 12 states per value for a year instead of 365.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, time, timedelta

from ingest.salts import SaltBook
from ingest.sites import Site
from ingest.store import Store

log = logging.getLogger(__name__)

# A day is rebuilt until this long after it ended, then left as final.
FINAL_AFTER = timedelta(hours=2)
BUILD_INTERVAL_SECONDS = 300.0
# Visit-level dimensions read from `sessions`: the name in `rollups.dimension` and the column it comes from.
VISIT_DIMENSIONS = (
    ("entry_page", "entry_page"), ("exit_page", "exit_page"), ("channel", "referrer_type"),
    ("referrer", "if(referrer_name != '', referrer_name, referrer_host)"), ("utm_source", "utm_source"),
    ("utm_medium", "utm_medium"), ("utm_campaign", "utm_campaign"), ("country", "country_code"),
    ("region", "region"), ("city", "city"), ("device", "device_type"), ("browser", "browser"), ("os", "os"),
)
DIMENSIONS = ("", "page", *(name for name, _ in VISIT_DIMENSIONS))  # "" is the day's totals

_COLUMNS = "site_id, day, dimension, value, visitors, visits, pageviews, bounces, duration, retention_days, built_at"
_VISITOR_STATE = "uniqCombined64State(sipHash64({salt:String}, visitor_id))"
_DAY = "{site:UInt32}, {day:Date}"
_TAIL = "{retention:UInt16}, {built:DateTime64(3, 'UTC')}"
_IN_SESSIONS = ("site_id = {site:UInt32} AND start >= {start:DateTime('UTC')} AND start < {end:DateTime('UTC')}")
_IN_EVENTS = "site_id = {site:UInt32} AND ts >= {start:DateTime('UTC')} AND ts < {end:DateTime('UTC')}"

# The day's totals: visits, bounces and durations of the visits that started that day, page views by time.
_TOTALS_SQL = f"""
INSERT INTO rollups ({_COLUMNS})
SELECT {_DAY}, '', '', v.state, v.visits, e.pageviews, v.bounces, v.duration, {_TAIL}
FROM (SELECT {_VISITOR_STATE} AS state, sum(sign) AS visits, sum(sign * is_bounce) AS bounces,
             sum(sign * duration) AS duration FROM sessions WHERE {_IN_SESSIONS}) AS v
CROSS JOIN (SELECT countIf(name = 'pageview') AS pageviews FROM events WHERE {_IN_EVENTS}) AS e
"""  # noqa: S608 - built from constants; every value is bound
# Pages: a visit never spans two local days (visits end at local midnight), so distinct visits add up by day.
_PAGES_SQL = f"""
INSERT INTO rollups ({_COLUMNS})
SELECT {_DAY}, 'page', pathname, {_VISITOR_STATE}, uniqExact(visit_id), count(), 0, 0, {_TAIL}
FROM events WHERE {_IN_EVENTS} AND name = 'pageview'
GROUP BY pathname
"""  # noqa: S608 - built from constants; every value is bound
_DIMENSION_ARRAY = ", ".join(f"('{name}', toString({column}))" for name, column in VISIT_DIMENSIONS)
_VISIT_DIMENSIONS_SQL = f"""
INSERT INTO rollups ({_COLUMNS})
SELECT {_DAY}, dimension.1, dimension.2, {_VISITOR_STATE}, sum(sign), sum(sign * pageviews),
       sum(sign * is_bounce), sum(sign * duration), {_TAIL}
FROM sessions ARRAY JOIN [{_DIMENSION_ARRAY}] AS dimension
WHERE {_IN_SESSIONS}
GROUP BY dimension.1, dimension.2
HAVING sum(sign) > 0
"""  # noqa: S608 - built from constants; every value is bound

# One day's rollup rows, built from its raw rows: {day} is the day stored, {start}/{end} the raw rows read, {salt}
# the month's visitor salt.
DAY_STATEMENTS = (_TOTALS_SQL, _PAGES_SQL, _VISIT_DIMENSIONS_SQL)


# A finished month: its days merged into one row per dimension value (`rollup_months`), so a long range merges
# one visitor state per month and value instead of one per day. The days of a month share its salt, so the merge
# is exact: a range reads the same numbers from a month's row as from its days.
_MONTH_SQL = f"""
INSERT INTO rollup_months (site_id, month, {_COLUMNS.removeprefix("site_id, day, ")})
SELECT {{site:UInt32}}, {{month:Date}}, dimension, value, uniqCombined64MergeState(visitors), sum(visits),
       sum(pageviews), sum(bounces), sum(duration), {_TAIL}
FROM rollups FINAL WHERE site_id = {{site:UInt32}} AND day >= {{month:Date}} AND day < {{next:Date}}
GROUP BY dimension, value
"""  # noqa: S608 - built from constants; every value is bound


def next_month(month: date) -> date:
    return (month.replace(day=28) + timedelta(days=4)).replace(day=1)


def utc_bounds(site: Site, day: date) -> tuple[datetime, datetime]:
    """Naive UTC datetimes of the day's local midnight and the next one."""
    def midnight(local_day: date) -> datetime:
        return datetime.combine(local_day, time(), tzinfo=site.zone).astimezone(UTC).replace(tzinfo=None)
    return midnight(day), midnight(day + timedelta(days=1))


def raw_horizon(site: Site, now: datetime) -> datetime:
    """Naive UTC time before which the site's raw rows have expired."""
    return now.astimezone(UTC).replace(tzinfo=None) - timedelta(days=site.retention_days)


class RollupBuilder:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.salts = SaltBook(store, table="rollup_salts", keep=timedelta(days=62))
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def build_day(self, site: Site, day: date, now: datetime | None = None) -> None:
        start, end = utc_bounds(site, day)
        built = (now or datetime.now(UTC)).astimezone(UTC).replace(tzinfo=None)
        parameters = {"site": site.site_id, "day": day, "start": start, "end": end,
                      "salt": self.salts.salt(site.site_id, day.replace(day=1)).hex(),
                      "retention": site.rollup_retention_days, "built": built}
        client = self.store.client()
        for sql in DAY_STATEMENTS:
            client.command(sql, parameters=parameters)

    def pending_days(self, site: Site, now: datetime) -> list[date]:
        """Days with raw visits, still wholly within the raw retention, never built or not final yet."""
        horizon = raw_horizon(site, now)
        client = self.store.client()
        raw_days = [row[0] for row in client.query(
            "SELECT toDate(start, {tz:String}) AS day FROM sessions WHERE site_id = {site:UInt32} "
            "AND start >= {since:DateTime('UTC')} GROUP BY day ORDER BY day",
            parameters={"tz": site.timezone, "site": site.site_id, "since": horizon}).result_rows]
        if not raw_days:
            return []
        built = dict(client.query(
            "SELECT day, max(built_at) FROM rollups WHERE site_id = {site:UInt32} AND dimension = '' "
            "AND day >= {first:Date} GROUP BY day",
            parameters={"site": site.site_id, "first": raw_days[0]}).result_rows)
        pending = []
        for day in raw_days:
            start, end = utc_bounds(site, day)
            if start < horizon:
                continue  # the raw rows of its first hours are gone: the rollup built earlier stays
            built_at = built.get(day)
            if built_at is None or built_at.replace(tzinfo=None) < end + FINAL_AFTER:
                pending.append(day)
        return pending

    def build_month(self, site: Site, month: date, now: datetime | None = None) -> None:
        built = (now or datetime.now(UTC)).astimezone(UTC).replace(tzinfo=None)
        self.store.client().command(_MONTH_SQL, parameters={
            "site": site.site_id, "month": month, "next": next_month(month),
            "retention": site.rollup_retention_days, "built": built})

    def pending_months(self, site: Site, now: datetime) -> list[date]:
        """Finished months (their last day final) with daily rollups built after the month's merged row, or
        without one; not a month whose first day is past the rollup retention (its days are incomplete)."""
        today = now.astimezone(site.zone).date()
        moment = now.astimezone(UTC).replace(tzinfo=None)
        client = self.store.client()
        parameters = {"site": site.site_id, "since": today - timedelta(days=site.rollup_retention_days),
                      "this_month": today.replace(day=1)}
        days_built = client.query(
            "SELECT toStartOfMonth(day) AS month, max(built_at) FROM rollups WHERE site_id = {site:UInt32} "
            "AND dimension = '' AND day < {this_month:Date} GROUP BY month HAVING month > {since:Date} ORDER BY month",
            parameters=parameters).result_rows
        merged = {month: built_at.replace(tzinfo=None) for month, built_at in client.query(
            "SELECT month, max(built_at) FROM rollup_months WHERE site_id = {site:UInt32} AND dimension = '' "
            "GROUP BY month",
            parameters=parameters).result_rows}
        pending = []
        for month, built_at in days_built:
            if moment < utc_bounds(site, next_month(month))[0] + FINAL_AFTER:
                continue  # its last day can still change
            if month not in merged or merged[month] < built_at.replace(tzinfo=None):
                pending.append(month)
        return pending

    def run(self, sites: Iterable[Site], now: datetime | None = None) -> int:
        """Build every pending day of every site, then its pending months; returns the number of days built."""
        now = now or datetime.now(UTC)
        count = 0
        for site in sites:
            for day in self.pending_days(site, now):
                self.build_day(site, day, now)
                count += 1
            for month in self.pending_months(site, now):
                self.build_month(site, month, now)
        return count

    def start(self, sites: Callable[[], Iterable[Site]], interval: float = BUILD_INTERVAL_SECONDS) -> None:
        """Build in a background thread now and every `interval` seconds; `sites()` lists the sites."""
        def loop() -> None:
            while not self._stop.is_set():
                try:
                    built = self.run(sites())
                    if built:
                        log.info("built rollups of %d site-days", built)
                except Exception as error:
                    log.warning("building rollups failed (%s); retrying in %.0f s", error, interval)
                self._stop.wait(interval)

        self._thread = threading.Thread(target=loop, name="teller-rollups", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
