"""Date ranges as marketing asks for them ("last 30 days"), in the site's timezone, turned into UTC bounds."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from dashboards.reasons import ExplainedError

MAX_RANGE_DAYS = 3700
# Dates outside these years are junk for web analytics, and near date.max the UTC bounds overflow.
EARLIEST = date(2000, 1, 1)
LATEST = date(2200, 12, 31)
RELATIVE_DAYS = {"7d": 7, "30d": 30, "90d": 90}
PERIODS = ("today", "yesterday", *RELATIVE_DAYS, "month", "year", "custom")
COMPARISONS = ("previous", "year")


class PeriodError(ExplainedError):
    """A period parameter is not allowed; the message says which and what is."""


@dataclass(frozen=True, slots=True)
class DateRange:
    first: date  # inclusive, site-local
    last: date  # inclusive, site-local
    zone: ZoneInfo
    period: str

    @property
    def days(self) -> list[date]:
        return [self.first + timedelta(days=offset) for offset in range((self.last - self.first).days + 1)]

    def _utc(self, day: date) -> datetime:
        return datetime.combine(day, time(), tzinfo=self.zone).astimezone(UTC).replace(tzinfo=None)

    @property
    def start_utc(self) -> datetime:
        """Naive UTC datetime of the first local midnight (ClickHouse DateTime('UTC') parameter)."""
        return self._utc(self.first)

    @property
    def end_utc(self) -> datetime:
        """Naive UTC datetime of the local midnight after the last day (exclusive bound)."""
        return self._utc(self.last + timedelta(days=1))


def _parse_date(name: str, value: str) -> date:
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise PeriodError("{name}={value!r} is not a date like 2026-01-31", name=name, value=value) from None
    if not EARLIEST <= day <= LATEST:
        raise PeriodError("{name}={value!r} is outside {earliest} to {latest}", name=name, value=value,
                          earliest=EARLIEST, latest=LATEST)
    return day


def parse_range(query: Mapping[str, str], zone: ZoneInfo, now: datetime) -> DateRange:
    """Read `period` (today, yesterday, 7d, 30d, 90d, custom) and for custom `from` and `to`."""
    period = query.get("period", "30d")
    today = now.astimezone(zone).date()
    if period == "today":
        return DateRange(today, today, zone, period)
    if period == "yesterday":
        yesterday = today - timedelta(days=1)
        return DateRange(yesterday, yesterday, zone, period)
    if period in RELATIVE_DAYS:
        # "Last 30 days" includes today, as in Plausible's realtime-friendly default.
        return DateRange(today - timedelta(days=RELATIVE_DAYS[period] - 1), today, zone, period)
    if period == "month":  # this calendar month so far
        return DateRange(today.replace(day=1), today, zone, period)
    if period == "year":  # this calendar year so far
        return DateRange(today.replace(month=1, day=1), today, zone, period)
    if period == "custom":
        if "from" not in query or "to" not in query:
            raise PeriodError("period=custom needs from and to, e.g. from=2026-01-01&to=2026-01-31")
        first, last = _parse_date("from", query["from"]), _parse_date("to", query["to"])
        if first > last:
            raise PeriodError("from must not be after to")
        if (last - first).days >= MAX_RANGE_DAYS:
            raise PeriodError("a range spans at most {limit} days", limit=MAX_RANGE_DAYS)
        return DateRange(first, last, zone, period)
    raise PeriodError("period={period!r} is not one of {allowed}", period=period, allowed=", ".join(PERIODS))


def comparison_range(date_range: DateRange, compare: str) -> DateRange:
    """The range to compare with: the same number of days just before, or the same dates a year earlier."""
    if compare == "previous":
        length = timedelta(days=len(date_range.days))
        return DateRange(date_range.first - length, date_range.last - length, date_range.zone, "custom")
    if compare == "year":
        return DateRange(_year_earlier(date_range.first), _year_earlier(date_range.last), date_range.zone, "custom")
    raise PeriodError("compare={compare!r} is not one of {allowed}", compare=compare[:20],
                      allowed=", ".join(COMPARISONS))


def _year_earlier(day: date) -> date:
    # 29 February has no twin a year earlier: use the 28th.
    return day.replace(year=day.year - 1, day=min(day.day, 28) if day.month == 2 else day.day)
