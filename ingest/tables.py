"""The rows Teller writes: column order per table, shared by the pipeline, the spool and the shipper."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class TableSpec:
    code: str  # one letter in spool lines
    name: str
    columns: tuple[str, ...]
    datetime_columns: tuple[str, ...] = ()
    date_columns: tuple[str, ...] = ()

    def decode(self, values: list[Any]) -> list[Any]:
        """Turn a row read back from a spool line (JSON) into the Python values clickhouse-connect inserts."""
        row = list(values)
        for column in self.datetime_columns:
            index = self.columns.index(column)
            row[index] = datetime.fromisoformat(row[index])
        for column in self.date_columns:
            index = self.columns.index(column)
            row[index] = date.fromisoformat(row[index])
        return row


_ORIGIN = (
    "referrer", "referrer_host", "referrer_type", "referrer_name", "referrer_keyword",
    "utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content",
)
_CLIENT = (
    "ip_masked", "country_code", "region", "city", "browser", "browser_version", "os", "os_version", "device_type",
    "device_brand", "device_model", "screen_size", "language",
)

EVENTS = TableSpec(
    code="e",
    name="events",
    columns=("site_id", "ts", "name", "visitor_id", "visit_id", "pageview_id", "hostname", "pathname", "url",
             "title", *_ORIGIN, *_CLIENT, "local_hour", "is_bot", "retention_days"),
    datetime_columns=("ts",),
)

SESSIONS = TableSpec(
    code="s",
    name="sessions",
    columns=("site_id", "visit_id", "visitor_id", "sign", "version", "start", "last_seen", "hostname", "entry_page",
             "exit_page", "pageviews", "events", "duration", "is_bounce", *_ORIGIN, *_CLIENT, "retention_days"),
    datetime_columns=("start", "last_seen"),
)

DROPS = TableSpec(
    code="d",
    name="dropped_hits",
    columns=("site_id", "day", "reason", "hits"),
    date_columns=("day",),
)

TABLES = {spec.code: spec for spec in (EVENTS, SESSIONS, DROPS)}
