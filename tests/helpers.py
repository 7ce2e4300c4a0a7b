"""Small helpers shared by tests: adding sites and reading rows back from ClickHouse."""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime
from typing import Any

from ingest.ipmask import ClientAddress
from ingest.pipeline import TrackingRequest
from ingest.sites import Site
from teller.runtime import Runtime
from tests.conftest import CHROME_UA


def add_site(runtime: Runtime, name: str = "Shop", domains: tuple[str, ...] = ("shop.example",),
             retention_days: int = 395, timezone: str = "Europe/Amsterdam") -> Site:
    site = runtime.registry.add(name, list(domains), timezone, retention_days)
    runtime.sites.invalidate()
    return site


def event_rows(runtime: Runtime, site: Site) -> list[dict[str, Any]]:
    """Every stored event of a site, after everything spooled was shipped."""
    runtime.drain()
    result = runtime.store.client().query("SELECT * FROM events WHERE site_id = {site:UInt32} ORDER BY ts",
                                          parameters={"site": site.site_id})
    return [dict(zip(result.column_names, row, strict=True)) for row in result.result_rows]


def dropped(runtime: Runtime, site: Site) -> dict[str, int]:
    runtime.drain()
    rows = runtime.store.client().query(
        "SELECT reason, sum(hits) FROM dropped_hits WHERE site_id = {site:UInt32} GROUP BY reason",
        parameters={"site": site.site_id}).result_rows
    return {reason: int(hits) for reason, hits in rows}


def visit_rows(runtime: Runtime, site: Site) -> list[dict[str, Any]]:
    """A site's visits as the dashboard sees them: one +1 row per visit after collapsing."""
    runtime.drain()
    result = runtime.store.client().query(
        "SELECT * FROM sessions FINAL WHERE site_id = {site:UInt32} AND sign = 1 ORDER BY start",
        parameters={"site": site.site_id})
    return [dict(zip(result.column_names, row, strict=True)) for row in result.result_rows]


def tracking_request(site: Site, path: str = "/", at: datetime | None = None, ip: str = "81.2.69.160",
                     **params: str) -> TrackingRequest:
    """A hit as the collector would hand it to the pipeline, from a desktop Chrome."""
    return TrackingRequest({"idsite": str(site.site_id), "rec": "1", "url": f"https://{site.domains[0]}{path}",
                            **params}, CHROME_UA, ClientAddress(ipaddress.ip_address(ip)), at or datetime.now(UTC))


def counts(summary: dict[str, Any]) -> tuple[int, int, int]:
    """Visitors, visits and pageviews of a Stats API summary."""
    totals = summary["totals"]
    return totals["visitors"], totals["visits"], totals["pageviews"]
