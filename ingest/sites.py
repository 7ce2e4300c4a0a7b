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
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ingest.actions import SEARCH_PARAMETERS
from ingest.ipmask import parse_range
from ingest.snapshot import Snapshot
from ingest.store import Store
from teller.durations import MAX_COOKIE_SECONDS, MAX_RETENTION_DAYS

# A host name (optionally "*." for every subdomain); ports and schemes are not part of a site's domain.
_DOMAIN = re.compile(r"^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$")
# A query parameter name as it appears before "=": no separators, no white space.
_PARAMETER = re.compile(r"^[^\s&=#?]{1,100}$")
SITE_FIELDS = ("site_id", "name", "domains", "timezone", "retention_days", "created_at", "ipv4_mask_bytes",
               "ipv6_prefix_bits", "geo_full_ip", "cookieless", "visit_timeout_minutes", "excluded_ips",
               "excluded_user_agents", "excluded_params", "visitor_cookie_seconds", "session_cookie_seconds",
               "referral_cookie_seconds", "respect_dnt", "rollup_retention_days", "search_params",
               "search_category_params", "external_id")
SITE_COLUMNS = [*SITE_FIELDS, "version", "is_deleted"]
# Settings a site may change after creation, besides name, domains, timezone and retention.
SETTING_NAMES = ("ipv4_mask_bytes", "ipv6_prefix_bits", "geo_full_ip", "cookieless", "visit_timeout_minutes",
                 "excluded_ips", "excluded_user_agents", "excluded_params", "visitor_cookie_seconds",
                 "session_cookie_seconds", "referral_cookie_seconds", "respect_dnt", "rollup_retention_days",
                 "search_params", "search_category_params")
# Settings that are lists of text (tuples on a Site, arrays in ClickHouse, lists in JSON).
LIST_SETTINGS = ("excluded_ips", "excluded_user_agents", "excluded_params", "search_params", "search_category_params")
# A hosting panel's reference for a site: printable text without surrounding white space.
MAX_EXTERNAL_ID_LENGTH = 200
# Rollups (daily counts, no visitor ids) are kept 25 months unless a site says otherwise: the CNIL's limit.
DEFAULT_ROLLUP_RETENTION_DAYS = 761
# Tables of the raw tier (pseudonymous rows) and of the rollup tier, each with a retention_days column.
# page_visits repeats the page views of events for page filters (migration 19) and goes wherever they go.
RAW_TABLES = ("events", "sessions", "page_visits")
ROLLUP_TABLES = ("rollups", "rollup_months")
# matomo.js's cookie lifetimes: _pk_id 393 days from its creation, _pk_ses 30 minutes, _pk_ref about 6 months.
MATOMO_COOKIE_SECONDS = {"visitor_cookie_seconds": 33_955_200, "session_cookie_seconds": 1_800,
                         "referral_cookie_seconds": 15_768_000}


class SiteError(ValueError):
    """A site field is not allowed; the message says which and why."""


class DuplicateExternalId(SiteError):
    """Another live site has this external id; `site_id` is that site's, so a retried create can find it."""

    def __init__(self, external_id: str, site_id: int) -> None:
        super().__init__(f"site {site_id} already has external_id {external_id!r}")
        self.external_id = external_id
        self.site_id = site_id


@dataclass(frozen=True, slots=True)
class Site:
    site_id: int
    name: str
    domains: tuple[str, ...]
    timezone: str
    retention_days: int
    created_at: datetime
    ipv4_mask_bytes: int = 2  # bytes of an IPv4 address zeroed: 1, 2 or 3
    ipv6_prefix_bits: int = 48  # bits of an IPv6 address kept
    geo_full_ip: bool = False  # geolocate with the full address (in memory only) instead of the masked one
    cookieless: bool = False  # ignore visitor ids from cookies; identify by the daily cookieless hash
    visit_timeout_minutes: int = 30
    excluded_ips: tuple[str, ...] = ()  # CIDR ranges or Matomo wildcards (1.2.3.*) whose hits are dropped
    excluded_user_agents: tuple[str, ...] = ()  # substrings, or /regex/, of user agents whose hits are dropped
    excluded_params: tuple[str, ...] = ()  # query parameters removed from stored URLs
    # Cookie lifetimes and Do Not Track, baked into the tracker script the site loads (/teller.js?idsite=N).
    visitor_cookie_seconds: int = MATOMO_COOKIE_SECONDS["visitor_cookie_seconds"]
    session_cookie_seconds: int = MATOMO_COOKIE_SECONDS["session_cookie_seconds"]
    referral_cookie_seconds: int = MATOMO_COOKIE_SECONDS["referral_cookie_seconds"]
    respect_dnt: bool = False  # send nothing when the browser says Do Not Track or Global Privacy Control
    rollup_retention_days: int = DEFAULT_ROLLUP_RETENTION_DAYS  # the rollup tier; never less than retention_days
    # Page URL parameters that make a page view a site search (keyword) and give its category; Matomo's defaults.
    # An empty keyword list turns detection from the URL off (trackSiteSearch still works).
    search_params: tuple[str, ...] = SEARCH_PARAMETERS
    search_category_params: tuple[str, ...] = ()
    external_id: str = ""  # a hosting panel's own id for the site; unique among live sites when set

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
        data: dict[str, object] = {}
        for name in SITE_FIELDS:
            value = getattr(self, name)
            data[name] = list(value) if isinstance(value, tuple) else value
        data["created_at"] = self.created_at.isoformat()
        return data

    @classmethod
    def from_json(cls, data: dict[str, object]) -> Site:
        values = {name: data[name] for name in SITE_FIELDS if name in data}
        values["created_at"] = datetime.fromisoformat(str(data["created_at"]))
        for name in ("domains", *LIST_SETTINGS):
            if name in values:
                values[name] = tuple(values[name])  # type: ignore[arg-type]
        return cls(**values)  # type: ignore[arg-type]


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


def check_ip_ranges(ranges: Iterable[str]) -> tuple[str, ...]:
    checked = []
    for entry in ranges:
        entry = entry.strip()
        if parse_range(entry) is None:
            raise SiteError(f"excluded IP {entry!r} is not a range such as 10.0.0.0/8, 2001:db8::/32 "
                            "or 1.2.3.*")
        checked.append(entry)
    return tuple(checked)


def check_parameter_names(name: str, values: Iterable[str]) -> tuple[str, ...]:
    checked: list[str] = []
    for value in values:
        parameter = str(value).strip()
        if not parameter:
            continue
        if not _PARAMETER.match(parameter):
            raise SiteError(f"{name}: {parameter!r} is not a query parameter name such as q or search")
        if parameter not in checked:
            checked.append(parameter)
    return tuple(checked)


def check_setting(name: str, value: Any) -> Any:
    """Validate one per-site setting; raises SiteError naming it and what is allowed."""
    if name == "ipv4_mask_bytes":
        if value not in (1, 2, 3):
            raise SiteError("ipv4_mask_bytes must be 1, 2 or 3")
    elif name == "ipv6_prefix_bits":
        if not isinstance(value, int) or not 0 <= value <= 64:
            raise SiteError("ipv6_prefix_bits must be 0 to 64")
    elif name in ("geo_full_ip", "cookieless", "respect_dnt"):
        return bool(value)
    elif name.endswith("_cookie_seconds"):
        if not isinstance(value, int) or not 60 <= value <= MAX_COOKIE_SECONDS:
            raise SiteError(f"{name} must be 60 seconds to 400 days")
    elif name == "rollup_retention_days":
        if not isinstance(value, int) or not 1 <= value <= MAX_RETENTION_DAYS:
            raise SiteError(f"rollup_retention_days must be 1 to {MAX_RETENTION_DAYS}")
    elif name == "visit_timeout_minutes":
        if not isinstance(value, int) or not 1 <= value <= 24 * 60:
            raise SiteError("visit_timeout_minutes must be 1 to 1440")
    elif name == "excluded_ips":
        return check_ip_ranges(value)
    elif name in ("excluded_user_agents", "excluded_params"):
        return tuple(str(item).strip() for item in value if str(item).strip())
    elif name in ("search_params", "search_category_params"):
        return check_parameter_names(name, value)
    return value


def check_tiers(retention_days: int, rollup_retention_days: int) -> None:
    if not 1 <= retention_days <= MAX_RETENTION_DAYS:
        raise SiteError(f"retention_days must be 1 to {MAX_RETENTION_DAYS}")
    if rollup_retention_days < retention_days:
        raise SiteError(f"rollups must be kept at least as long as raw rows ({retention_days} days); "
                        f"rollup_retention_days is {rollup_retention_days}")


def check_external_id(external_id: str) -> str:
    if external_id != external_id.strip() or len(external_id) > MAX_EXTERNAL_ID_LENGTH \
            or not external_id.isprintable():
        raise SiteError(f"external_id must be printable text of at most {MAX_EXTERNAL_ID_LENGTH} characters "
                        "without leading or trailing spaces")
    return external_id


def check_name(name: str) -> str:
    name = name.strip()
    if not 1 <= len(name) <= 200:
        raise SiteError("a site name has 1 to 200 characters")
    return name


class SiteRegistry:
    """Create, read, change and delete sites in ClickHouse."""

    def __init__(self, store: Store, defaults: dict[str, Any] | None = None) -> None:
        self.store = store
        self.defaults = defaults or {}  # settings of new sites, from the config file
        self._lock = threading.Lock()

    def list(self, limit: int | None = None, offset: int = 0, external_id: str | None = None) -> list[Site]:
        """Live sites by id; a page of them with `limit`/`offset`, or the one with `external_id`."""
        result = self.store.client().query(
            "SELECT * FROM sites FINAL WHERE is_deleted = 0 "
            "AND ({external:Nullable(String)} IS NULL OR external_id = {external:Nullable(String)}) "
            "ORDER BY site_id LIMIT {limit:UInt64} OFFSET {offset:UInt64}",
            parameters={"external": external_id, "limit": 2**63 - 1 if limit is None else limit, "offset": offset})
        return [_site_from_row(dict(zip(result.column_names, values, strict=True))) for values in result.result_rows]

    def count(self) -> int:
        return int(self.store.client().query("SELECT count() FROM sites FINAL WHERE is_deleted = 0").result_rows[0][0])

    def get(self, site_id: int) -> Site | None:
        # One row by its key: with thousands of sites, reading them all for one would make every change slower.
        result = self.store.client().query("SELECT * FROM sites FINAL WHERE is_deleted = 0 AND site_id = {site:UInt32}",
                                           parameters={"site": site_id})
        rows = [dict(zip(result.column_names, values, strict=True)) for values in result.result_rows]
        return _site_from_row(rows[0]) if rows else None

    def by_external_id(self, external_id: str) -> Site | None:
        found = self.list(limit=1, external_id=external_id) if external_id else []
        return found[0] if found else None

    def _check_external_id_free(self, external_id: str, site_id: int | None) -> str:
        """The checked external id; raises DuplicateExternalId when another live site has it."""
        check_external_id(external_id)
        other = self.by_external_id(external_id)
        if other is not None and other.site_id != site_id:
            raise DuplicateExternalId(external_id, other.site_id)
        return external_id

    def _write(self, site: Site, deleted: bool = False) -> None:
        # The version is a nanosecond clock so the newest write wins after merges.
        row = [list(value) if isinstance(value, tuple) else value
               for value in (getattr(site, name) for name in SITE_FIELDS)] + [time.time_ns(), int(deleted)]
        self.store.client().insert("sites", [row], column_names=SITE_COLUMNS)

    def add(self, name: str, domains: Iterable[str], timezone: str, retention_days: int,
            external_id: str = "", **settings: Any) -> Site:
        checked = self._check_settings(self.defaults | settings)
        if "rollup_retention_days" not in settings:
            # A site that keeps raw rows longer than the default rollup period keeps its rollups as long.
            checked["rollup_retention_days"] = max(checked.get("rollup_retention_days",
                                                               DEFAULT_ROLLUP_RETENTION_DAYS), retention_days)
        check_tiers(retention_days, checked["rollup_retention_days"])
        # The lock makes "is the external id free" and "which id is next" hold until the write, within this
        # process (which, in embedded mode, is the only one; nodes sharing a ClickHouse server should let one
        # of them provision).
        with self._lock:
            self._check_external_id_free(external_id, None)
            next_id = self.store.client().query("SELECT max(site_id) + 1 FROM sites").result_rows[0][0]
            site = Site(
                site_id=max(int(next_id), 1),
                name=check_name(name),
                domains=normalize_domains(domains),
                timezone=check_timezone(timezone),
                retention_days=retention_days,
                created_at=datetime.now(UTC).replace(microsecond=0),
                external_id=external_id,
                **checked,
            )
            self._write(site)
        return site

    @staticmethod
    def _check_settings(settings: dict[str, Any]) -> dict[str, Any]:
        unknown = set(settings) - set(SETTING_NAMES)
        if unknown:
            raise SiteError(f"unknown site setting(s): {', '.join(sorted(unknown))}")
        return {name: check_setting(name, value) for name, value in settings.items()}

    def update(self, site_id: int, *, name: str | None = None, domains: Iterable[str] | None = None,
               timezone: str | None = None, retention_days: int | None = None, external_id: str | None = None,
               **settings: Any) -> Site:
        site = self.get(site_id)
        if site is None:
            raise KeyError(site_id)
        changed = replace(
            site,
            name=check_name(name) if name is not None else site.name,
            domains=normalize_domains(domains) if domains is not None else site.domains,
            timezone=check_timezone(timezone) if timezone is not None else site.timezone,
            retention_days=retention_days if retention_days is not None else site.retention_days,
            **self._check_settings(settings),
        )
        check_tiers(changed.retention_days, changed.rollup_retention_days)
        with self._lock:
            if external_id is not None:
                changed = replace(changed, external_id=self._check_external_id_free(external_id, site_id))
            self._write(changed)
        if changed.retention_days != site.retention_days:
            self.reapply_retention(RAW_TABLES, site_id, changed.retention_days)
        if changed.rollup_retention_days != site.rollup_retention_days:
            self.reapply_retention(ROLLUP_TABLES, site_id, changed.rollup_retention_days)
        return changed

    def reapply_retention(self, tables: tuple[str, ...], site_id: int, days: int) -> None:
        # Stored rows carry the retention they were written with; rewrite them so the table TTL applies the new
        # policy to old rows too, then apply the TTL now rather than at the next TTL merge.
        client = self.store.client()
        for table in tables:
            client.command("ALTER TABLE {table:Identifier} UPDATE retention_days = {days:UInt16} "
                           "WHERE site_id = {site:UInt32}",
                           parameters={"table": table, "days": days, "site": site_id},
                           settings={"mutations_sync": 2})
            client.command("ALTER TABLE {table:Identifier} MATERIALIZE TTL", parameters={"table": table},
                           settings={"mutations_sync": 2})

    def delete(self, site_id: int) -> Site:
        """Delete the site and every row it owns."""
        site = self.get(site_id)
        if site is None:
            raise KeyError(site_id)
        client = self.store.client()
        for table in (*RAW_TABLES, *ROLLUP_TABLES, "dropped_hits", "cookieless_salts", "rollup_salts"):
            # Lightweight DELETE hides the rows at once; merges remove them from disk.
            client.command("DELETE FROM {table:Identifier} WHERE site_id = {site:UInt32}",
                           parameters={"table": table, "site": site_id})
        self._write(site, deleted=True)
        return site


class SiteCache:
    """The ingest path's view of the sites: a dict in memory, refreshed after changes and every few seconds."""

    def __init__(self, registry: SiteRegistry, max_age_seconds: float = 10.0) -> None:
        self.registry = registry
        self._snapshot: Snapshot[dict[int, Site]] = Snapshot(
            lambda: {site.site_id: site for site in registry.list()}, {}, "the site list", max_age_seconds)

    def invalidate(self) -> None:
        self._snapshot.invalidate()

    def get(self, site_id: int) -> Site | None:
        return self._snapshot.get().get(site_id)


def _site_from_row(row: dict[str, Any]) -> Site:
    return Site(
        site_id=row["site_id"], name=row["name"], domains=tuple(row["domains"]), timezone=row["timezone"],
        retention_days=row["retention_days"], created_at=row["created_at"].replace(tzinfo=UTC),
        ipv4_mask_bytes=row["ipv4_mask_bytes"], ipv6_prefix_bits=row["ipv6_prefix_bits"],
        geo_full_ip=bool(row["geo_full_ip"]), cookieless=bool(row["cookieless"]),
        visit_timeout_minutes=row["visit_timeout_minutes"], excluded_ips=tuple(row["excluded_ips"]),
        excluded_user_agents=tuple(row["excluded_user_agents"]), excluded_params=tuple(row["excluded_params"]),
        visitor_cookie_seconds=row["visitor_cookie_seconds"], session_cookie_seconds=row["session_cookie_seconds"],
        referral_cookie_seconds=row["referral_cookie_seconds"], respect_dnt=bool(row["respect_dnt"]),
        rollup_retention_days=row["rollup_retention_days"], search_params=tuple(row["search_params"]),
        search_category_params=tuple(row["search_category_params"]), external_id=row["external_id"])
