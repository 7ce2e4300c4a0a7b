"""From one tracking request to one stored row: validate, enrich, stitch, queue.

The collector builds a TrackingRequest (the client address already masked) and calls Pipeline.handle. The
demo loader calls the same method, so demo data takes the exact path of a real hit.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import Enum
from urllib.parse import SplitResult, urlsplit

from ingest.geo import GeoLocator
from ingest.identity import InvalidVisitorId, visitor_id
from ingest.sites import Site, SiteCache
from ingest.useragent import parse_user_agent
from ingest.visits import VisitStitcher
from ingest.writer import BatchWriter

MAX_URL_LENGTH = 2048
MAX_TITLE_LENGTH = 500
_SCREEN = re.compile(r"^\d{1,5}x\d{1,5}$")
_LANGUAGE = re.compile(r"^[a-zA-Z]{1,8}(-[a-zA-Z0-9]{1,8})*$")


@dataclass(frozen=True, slots=True)
class TrackingRequest:
    """One hit as the collector received it. `ip_masked` is already truncated: no full address in here."""

    params: dict[str, str]
    user_agent: str
    accept_language: str
    ip_masked: str
    received_at: datetime  # UTC-aware


class Verdict(Enum):
    TRACKED = "tracked"
    EXCLUDED = "excluded"  # dropped on purpose; answered like a success, as Matomo does
    INVALID = "invalid"  # the sender made a mistake it should hear about (HTTP 400)
    OVERLOADED = "overloaded"  # the write queue is full (HTTP 503)


@dataclass(frozen=True, slots=True)
class Outcome:
    verdict: Verdict
    reason: str


TRACKED = Outcome(Verdict.TRACKED, "tracked")


def _split_url(value: str) -> SplitResult | None:
    try:
        parts = urlsplit(value[:MAX_URL_LENGTH])
    except ValueError:
        return None
    return parts if parts.scheme in ("http", "https", "file") else None


def _host(parts: SplitResult) -> str:
    # RFC 8089: a file URL with an empty authority means "localhost"; newcomers test with local files.
    if parts.scheme == "file":
        return (parts.hostname or "localhost").lower()
    return (parts.hostname or "").lower()


def _language(params: dict[str, str], accept_language: str) -> str:
    first = (params.get("lang") or accept_language).split(",", 1)[0].split(";", 1)[0].strip()
    return first.lower() if _LANGUAGE.match(first) else ""


def _local_hour(params: dict[str, str]) -> int:
    hour = params.get("h", "")
    return int(hour) if hour.isdigit() and int(hour) < 24 else -1


def _event_name(params: dict[str, str]) -> str:
    # Matomo's priority (core/Tracker/Action.php): download > outlink > event > page view.
    if params.get("download"):
        return "download"
    if params.get("link"):
        return "outlink"
    if params.get("e_c") and params.get("e_a"):
        return "event"
    return "pageview"


class Pipeline:
    def __init__(self, sites: SiteCache, geo: GeoLocator, writer: BatchWriter, stitcher: VisitStitcher,
                 secret_key: str) -> None:
        self.sites = sites
        self.geo = geo
        self.writer = writer
        self.stitcher = stitcher
        self.secret_key = secret_key.encode("utf-8")
        self.outcomes: Counter[str] = Counter()  # reason -> hits, for /metrics

    def _drop(self, site: Site, at: datetime, reason: str) -> Outcome:
        self.writer.count_drop(site.site_id, at.astimezone(site.zone).date(), reason)
        self.outcomes[reason] += 1
        return Outcome(Verdict.EXCLUDED, reason)

    def handle(self, request: TrackingRequest) -> Outcome:
        params = request.params
        site_text = params.get("idsite", "")
        site = self.sites.get(int(site_text)) if site_text.isdigit() and len(site_text) < 10 else None
        if site is None:
            self.outcomes["unknown_site"] += 1
            return Outcome(Verdict.INVALID, f"idsite {site_text[:20]!r} is not a site of this Teller")
        at = request.received_at
        if params.get("rec") != "1":
            return self._drop(site, at, "rec_missing")
        if at < datetime.now(UTC) - timedelta(days=site.retention_days):
            # Only a backdated hit can be this old; storing it would keep data the site promised to delete.
            return self._drop(site, at, "past_retention")
        agent = parse_user_agent(request.user_agent)
        if agent.is_bot and params.get("bots") != "1":
            return self._drop(site, at, "bot")

        page = _split_url(params.get("url", ""))
        if page is None:
            return self._drop(site, at, "invalid_url")
        host = _host(page)
        if not site.allows_host(host):
            return self._drop(site, at, "wrong_host")

        local_day = at.astimezone(site.zone).date()
        try:
            visitor = visitor_id(params, site.site_id, local_day, request.ip_masked, request.user_agent,
                                 self.secret_key)
        except InvalidVisitorId as error:
            self.outcomes["invalid_cid"] += 1
            return Outcome(Verdict.INVALID, str(error))
        visit = self.stitcher.visit_for(site.site_id, visitor, at, local_day, params.get("new_visit") == "1")

        referrer = params.get("urlref", "")[:MAX_URL_LENGTH]
        referrer_parts = _split_url(referrer)
        referrer_host = _host(referrer_parts) if referrer_parts else ""
        if referrer_host and site.allows_host(referrer_host):
            referrer_host = ""  # a page of the site itself is no referrer
        location = self.geo.locate(request.ip_masked)
        screen = params.get("res", "")
        row = (
            site.site_id, at, _event_name(params), visitor, visit, params.get("pv_id", "")[:6], host,
            page.path or "/", page.geturl(), params.get("action_name", "")[:MAX_TITLE_LENGTH], referrer,
            referrer_host, request.ip_masked, location.country_code, location.region, location.city,
            agent.browser, agent.browser_version, agent.os, agent.os_version, agent.device_type,
            screen if _SCREEN.match(screen) else "", _language(params, request.accept_language),
            _local_hour(params), site.retention_days,
        )
        if not self.writer.submit(row):
            self.outcomes["overloaded"] += 1
            return Outcome(Verdict.OVERLOADED, "the write queue is full")
        self.outcomes["tracked"] += 1
        return TRACKED
