"""Small helpers shared by tests: adding sites and reading rows back from ClickHouse."""

from __future__ import annotations

from typing import Any

from ingest.sites import Site
from teller.runtime import Runtime


def add_site(runtime: Runtime, name: str = "Shop", domains: tuple[str, ...] = ("shop.example",),
             retention_days: int = 395, timezone: str = "Europe/Amsterdam") -> Site:
    site = runtime.registry.add(name, list(domains), timezone, retention_days)
    runtime.sites.invalidate()
    return site


def event_rows(runtime: Runtime, site: Site) -> list[dict[str, Any]]:
    """Every stored event of a site, after the writer flushed what it holds."""
    runtime.writer.wait_until_written()
    result = runtime.store.client().query("SELECT * FROM events WHERE site_id = {site:UInt32} ORDER BY ts",
                                          parameters={"site": site.site_id})
    return [dict(zip(result.column_names, row, strict=True)) for row in result.result_rows]


def dropped(runtime: Runtime, site: Site) -> dict[str, int]:
    runtime.writer.wait_until_written()
    rows = runtime.store.client().query(
        "SELECT reason, sum(hits) FROM dropped_hits WHERE site_id = {site:UInt32} GROUP BY reason",
        parameters={"site": site.site_id}).result_rows
    return {reason: int(hits) for reason, hits in rows}
