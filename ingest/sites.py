"""Sites: who may send hits, from which hosts, in which timezone, kept for how long.

Sites live in ClickHouse (one store for everything, shared by every Teller node on a server DSN). The ingest
path reads them through SiteCache, an in-memory copy refreshed on change and every few seconds, so a hit
never waits on a query.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ingest.store import Store

# A host name (optionally "*." for every subdomain); ports and schemes are not part of a site's domain.
_DOMAIN = re.compile(r"^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$")
SITE_COLUMNS = ["site_id", "name", "domains", "timezone", "retention_days", "created_at", "version", "is_deleted"]


class SiteError(ValueError):
    """A site field is not allowed; the message says which and why."""


@dataclass(frozen=True, slots=True)
class Site:
    site_id: int
    name: str
    domains: tuple[str, ...]
    timezone: str
    retention_days: int
    created_at: datetime

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def allows_host(self, host: str) -> bool:
        """True when a page on `host` belongs to this site: a listed domain, its www., or a *. wildcard."""
        host = host.lower().rstrip(".")
        for domain in self.domains:
            if domain.startswith("*."):
                if host == domain[2:] or host.endswith(domain[1:]):
                    return True
            elif host in (domain, "www." + domain):
                return True
        return False

    def as_json(self) -> dict[str, object]:
        return {
            "site_id": self.site_id,
            "name": self.name,
            "domains": list(self.domains),
            "timezone": self.timezone,
            "retention_days": self.retention_days,
            "created_at": self.created_at.isoformat(),
        }


def normalize_domains(domains: Iterable[str]) -> tuple[str, ...]:
    cleaned: list[str] = []
    for raw in domains:
        domain = raw.strip().lower()
        if domain.startswith(("http://", "https://")):
            domain = domain.split("://", 1)[1]
        domain = domain.split("/", 1)[0].rstrip(".")
        if not _DOMAIN.match(domain):
            raise SiteError(f"domain {raw!r} is not a host name such as example.com or *.example.com")
        if domain not in cleaned:
            cleaned.append(domain)
    if not cleaned:
        raise SiteError("a site needs at least one domain")
    return tuple(cleaned)


def check_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise SiteError(f"timezone {name!r} is not an IANA zone such as Europe/Amsterdam") from None
    return name


def check_name(name: str) -> str:
    name = name.strip()
    if not 1 <= len(name) <= 200:
        raise SiteError("a site name has 1 to 200 characters")
    return name


class SiteRegistry:
    """Create, read, change and delete sites in ClickHouse."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._lock = threading.Lock()

    def list(self) -> list[Site]:
        rows = self.store.client().query(
            "SELECT site_id, name, domains, timezone, retention_days, created_at "
            "FROM sites FINAL WHERE is_deleted = 0 ORDER BY site_id"
        ).result_rows
        return [Site(r[0], r[1], tuple(r[2]), r[3], r[4], r[5].replace(tzinfo=UTC)) for r in rows]

    def get(self, site_id: int) -> Site | None:
        return next((site for site in self.list() if site.site_id == site_id), None)

    def _write(self, site: Site, deleted: bool = False) -> None:
        # The version is a nanosecond clock so the newest write wins after merges.
        row = [site.site_id, site.name, list(site.domains), site.timezone, site.retention_days,
               site.created_at, time.time_ns(), int(deleted)]
        self.store.client().insert("sites", [row], column_names=SITE_COLUMNS)

    def add(self, name: str, domains: Iterable[str], timezone: str, retention_days: int) -> Site:
        with self._lock:
            next_id = self.store.client().query("SELECT max(site_id) + 1 FROM sites").result_rows[0][0]
            site = Site(
                site_id=max(int(next_id), 1),
                name=check_name(name),
                domains=normalize_domains(domains),
                timezone=check_timezone(timezone),
                retention_days=retention_days,
                created_at=datetime.now(UTC).replace(microsecond=0),
            )
            self._write(site)
        return site

    def update(self, site_id: int, *, name: str | None = None, domains: Iterable[str] | None = None,
               timezone: str | None = None, retention_days: int | None = None) -> Site:
        site = self.get(site_id)
        if site is None:
            raise KeyError(site_id)
        changed = replace(
            site,
            name=check_name(name) if name is not None else site.name,
            domains=normalize_domains(domains) if domains is not None else site.domains,
            timezone=check_timezone(timezone) if timezone is not None else site.timezone,
            retention_days=retention_days if retention_days is not None else site.retention_days,
        )
        self._write(changed)
        if changed.retention_days != site.retention_days:
            # Stored rows carry the retention they were written with; rewrite them so the table TTL applies
            # the new policy to old rows too. The mutation drops rows already past it.
            self.store.client().command(
                "ALTER TABLE events UPDATE retention_days = {days:UInt16} WHERE site_id = {site:UInt32}",
                parameters={"days": changed.retention_days, "site": site_id},
                settings={"mutations_sync": 2},
            )
        return changed

    def delete(self, site_id: int) -> Site:
        """Delete the site and every row it owns."""
        site = self.get(site_id)
        if site is None:
            raise KeyError(site_id)
        client = self.store.client()
        for table in ("events", "dropped_hits"):
            # Lightweight DELETE hides the rows at once; merges remove them from disk.
            client.command("DELETE FROM {table:Identifier} WHERE site_id = {site:UInt32}",
                           parameters={"table": table, "site": site_id})
        self._write(site, deleted=True)
        return site


class SiteCache:
    """The ingest path's view of the sites: a dict in memory, refreshed after changes and every few seconds."""

    def __init__(self, registry: SiteRegistry, max_age_seconds: float = 10.0) -> None:
        self.registry = registry
        self.max_age_seconds = max_age_seconds
        self._sites: dict[int, Site] = {}
        self._loaded_at = float("-inf")
        self._lock = threading.Lock()

    def invalidate(self) -> None:
        self._loaded_at = float("-inf")

    def get(self, site_id: int) -> Site | None:
        if time.monotonic() - self._loaded_at > self.max_age_seconds:
            with self._lock:
                if time.monotonic() - self._loaded_at > self.max_age_seconds:
                    self._sites = {site.site_id: site for site in self.registry.list()}
                    self._loaded_at = time.monotonic()
        return self._sites.get(site_id)
