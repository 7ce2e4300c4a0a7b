"""Small helpers shared by tests: adding sites and users, logging in, reading rows back from ClickHouse."""

from __future__ import annotations

import ipaddress
import re
from datetime import UTC, datetime
from typing import Any

import httpx2
from starlette.testclient import TestClient

from ingest.ipmask import ClientAddress
from ingest.pipeline import TrackingRequest
from ingest.sites import Site
from teller.admin import runtime_admin
from teller.runtime import Runtime
from teller.users import Account
from tests.conftest import CHROME_UA

PASSWORD = "correct horse battery staple"


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


def add_user(runtime: Runtime, email: str, *, super_admin: bool = False, sites: dict[int, str] | None = None,
             password: str = PASSWORD) -> Account:
    """A user through the admin layer (as the CLI and admin API add one), with a role on each of `sites`."""
    admin = runtime_admin(runtime, "test:ops")
    user = admin.add_user(email, password, super_admin)
    for site_id, role in (sites or {}).items():
        user = admin.grant(email, site_id, role)
    return user


def csrf_token(html: str) -> str:
    """The CSRF token of the first form on a page."""
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


def log_in(client: TestClient, email: str, password: str = PASSWORD, next_path: str = "/") -> httpx2.Response:
    """The login form, filled in and sent as a browser does; answers the POST (303 on success)."""
    form = client.get("/login")
    return client.post("/login", data={"csrf_token": csrf_token(form.text), "email": email, "password": password,
                                       "next": next_path}, follow_redirects=False)


def super_admin_token(runtime: Runtime, email: str = "monitoring@teller.test") -> dict[str, str]:
    """Headers with a super-admin's Stats API token, as a Prometheus scraper of /metrics would send."""
    add_user(runtime, email, super_admin=True)
    secret, _ = runtime_admin(runtime, "test:ops").add_user_token(email, [], "prometheus")
    return {"Authorization": f"Bearer {secret}"}
