"""The rows Teller writes: column order per table, shared by the pipeline, the spool and the shipper."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class TableSpec:
    code: str  # one letter in spool lines
    name: str
    columns: tuple[str, ...]


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

)

SESSIONS = TableSpec(
    code="s",
    name="sessions",
    columns=("site_id", "visit_id", "visitor_id", "sign", "version", "start", "last_seen", "hostname", "entry_page",
             "exit_page", "pageviews", "events", "duration", "is_bounce", *_ORIGIN, *_CLIENT, "retention_days"),

)

DROPS = TableSpec(
    code="d",
    name="dropped_hits",
    columns=("site_id", "day", "reason", "hits"),
)

TABLES = {spec.code: spec for spec in (EVENTS, SESSIONS, DROPS)}
