"""The rows Teller writes: column order per table, shared by the pipeline, the spool and the shipper."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class TableSpec:
    code: str  # one letter in spool lines
    name: str
    columns: tuple[str, ...]


# What an action carries besides the page: event, site search, goal and ecommerce, content, custom data, timings.
_ACTION = (
    "target_url", "event_category", "event_action", "event_name", "event_value", "search_keyword",
    "search_category", "search_count", "goal_id", "revenue", "order_id", "order_subtotal", "order_tax",
    "order_shipping", "order_discount", "ecommerce_items", "content_name", "content_piece", "content_target",
    "content_interaction", "custom_dimensions", "custom_variables", "user_id", "pf_network", "pf_server",
    "pf_transfer", "pf_dom_processing", "pf_dom_completion", "pf_onload",
)
_ORIGIN = (
    "referrer", "referrer_host", "referrer_type", "referrer_name", "referrer_keyword",
    "utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content",
)
_CLIENT = (
    "ip_masked", "country_code", "region", "city", "browser", "browser_version", "os", "os_version", "device_type",
    "device_brand", "device_model", "screen_size", "language",
)
# The client columns an action copies from its visit (the visit's first hit) rather than from its own hit, as
# Plausible's events carry their session's columns: a report on actions then filters by the visit's place or
# device on `events` alone, and gets the same actions as through the visit. The address stays the hit's own.
VISIT_CLIENT_COLUMNS = tuple(column for column in _CLIENT if column != "ip_masked")
# Added by migration 9 (tracking_extras), so at the end of the table: product view, cookie attribution, and the
# referrer a conversion is credited to.
_TRACKING_EXTRAS = (
    "product_sku", "product_name", "product_category", "product_price", "attribution_referrer",
    "attribution_campaign", "attribution_keyword", "conversion_referrer_type", "conversion_referrer_name",
    "conversion_referrer_keyword",
)
_ATTRIBUTION_TIME = ("attribution_time",)  # added by migration 11

EVENTS = TableSpec(
    code="e",
    name="events",
    columns=("site_id", "ts", "name", "visitor_id", "visit_id", "pageview_id", "hostname", "pathname", "url",
             "title", *_ACTION, *_ORIGIN, *_CLIENT, "local_hour", "is_bot", "retention_days", *_TRACKING_EXTRAS,
             *_ATTRIBUTION_TIME),

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
