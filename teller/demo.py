"""The demo: a site with 30 days of realistic traffic, fed through the real ingest path."""

from __future__ import annotations

import ipaddress
import secrets
from datetime import UTC, datetime

from ingest.ipmask import ClientAddress
from ingest.pipeline import TrackingRequest, Verdict
from ingest.sites import Site
from teller.admin import runtime_admin
from teller.audit_log import local_actor
from teller.demo_traffic import generate_demo_hits
from teller.runtime import Runtime

DEMO_SITE_NAME = "Demo: Fietsenwinkel De Spaak"
DEMO_DOMAIN = "demo.teller.localhost"
# localhost and 127.0.0.1 let a newcomer paste the snippet into a local page (file:// counts as localhost).
DEMO_DOMAINS = [DEMO_DOMAIN, "localhost", "127.0.0.1"]
DEMO_TIMEZONE = "Europe/Amsterdam"
DEMO_EMAIL = "demo@teller.local"


def demo_site(runtime: Runtime) -> tuple[Site, bool]:
    """The demo site, created when missing; the flag says whether it was created now."""
    for site in runtime.registry.list():
        if site.name == DEMO_SITE_NAME:
            return site, False
    site = runtime.registry.add(DEMO_SITE_NAME, DEMO_DOMAINS, DEMO_TIMEZONE,
                                runtime.settings.privacy.default_retention_days)
    runtime.sites.invalidate()
    return site, True


def load_demo_traffic(runtime: Runtime, site: Site, days: int = 30, now: datetime | None = None) -> int:
    """Send generated hits through Pipeline.handle, exactly as the collector does; returns hits tracked.

    The generator's addresses go in as the collector's opaque ClientAddress, masked by the site's settings.
    """
    tracked = 0
    for hit in generate_demo_hits(site.site_id, DEMO_DOMAIN, days, now or datetime.now(UTC),
                                  with_actions=True):
        request = TrackingRequest(params=hit.params, user_agent=hit.user_agent,
                                  address=ClientAddress(ipaddress.ip_address(hit.client_ip)), received_at=hit.at,
                                  headers={"accept-language": hit.accept_language})
        if runtime.pipeline.handle(request).verdict is Verdict.TRACKED:
            tracked += 1
    runtime.drain(timeout=300)
    return tracked


def site_has_events(runtime: Runtime, site: Site) -> bool:
    rows = runtime.store.client().query("SELECT count() FROM events WHERE site_id = {site:UInt32}",
                                        parameters={"site": site.site_id}).result_rows
    return bool(rows[0][0])


def demo_login(runtime: Runtime, site: Site) -> tuple[str, str]:
    """The demo user, owner of the demo site, with a new random password (only its hash is stored, so each
    `teller demo` sets one it can print). Returns (email, password)."""
    admin = runtime_admin(runtime, local_actor())
    password = secrets.token_urlsafe(12)
    if any(user.email == DEMO_EMAIL for user in admin.list_users()):
        admin.reset_password(DEMO_EMAIL, password)
    else:
        admin.add_user(DEMO_EMAIL, password, super_admin=False)
    admin.grant(DEMO_EMAIL, site.site_id, "admin")
    return DEMO_EMAIL, password
