"""From one tracking request to durable rows: validate, exclude, enrich, stitch, spool.

The collector builds a TrackingRequest and calls Pipeline.handle; the demo loader calls the same method, so
demo data takes the exact path of a real hit. The outcome carries a spool ticket: the collector answers only
once that ticket is on disk.
"""

from __future__ import annotations

import contextlib
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from enum import Enum
from typing import Any
from urllib.parse import SplitResult, urlsplit

from ingest.actions import MAX_URL_LENGTH, UNCLAIMED_CUSTOM_ACTION, describe
from ingest.attribution import CONVERSION_KINDS, CookieAttribution, credited_referrer, no_credit
from ingest.bots import bot_reason, excluded_by_user_agent, is_referrer_spam
from ingest.charset import page_codec
from ingest.clienthints import device_detail, hints_from, refine
from ingest.geo import GeoLocator
from ingest.identity import InvalidVisitorId, visitor_id
from ingest.ipmask import ClientAddress
from ingest.numbers import whole_number
from ingest.overrides import InvalidOverride, needs_token, read_overrides
from ingest.referrers import classify_referrer, clean_url
from ingest.salts import SaltBook
from ingest.sites import Site, SiteCache
from ingest.spool import Spool, SpoolFull
from ingest.tables import DROPS, EVENTS, VISIT_CLIENT_COLUMNS
from ingest.tokens import TokenCache
from ingest.useragent import parse_user_agent
from ingest.visits import Hit, VisitTracker, current_row

MAX_TITLE_LENGTH = 500
_SCREEN = re.compile(r"^\d{1,5}x\d{1,5}$")
_LANGUAGE = re.compile(r"^[a-zA-Z]{1,8}(-[a-zA-Z0-9]{1,8})*$")


@dataclass(frozen=True, slots=True)
class TrackingRequest:
    """One hit as the collector received it. The address is opaque: only masked text comes out of it."""

    params: dict[str, str]
    user_agent: str
    address: ClientAddress
    received_at: datetime  # UTC-aware
    headers: Mapping[str, str] = field(default_factory=dict)  # lower-case names


class Verdict(Enum):
    TRACKED = "tracked"
    EXCLUDED = "excluded"  # dropped on purpose; answered like a success, as Matomo does
    INVALID = "invalid"  # the sender made a mistake it should hear about (HTTP 400)
    OVERLOADED = "overloaded"  # the spool is full (HTTP 503)
    UNCLAIMED = "unclaimed"  # ca=1 that no action claims: refused (Matomo fails it) rather than count a page view


@dataclass(frozen=True, slots=True)
class Outcome:
    verdict: Verdict
    reason: str
    ticket: int = 0  # the spool line to wait for before acknowledging


def _split_url(value: str) -> SplitResult | None:
    try:
        parts = urlsplit(value[:MAX_URL_LENGTH])
        parts.port  # noqa: B018 - raises ValueError for a malformed port
    except ValueError:
        return None
    return parts if parts.scheme in ("http", "https", "file") else None


def _host(parts: SplitResult) -> str:
    # RFC 8089: a file URL with an empty authority means "localhost"; newcomers test with local files.
    if parts.scheme == "file":
        return (parts.hostname or "localhost").lower()
    return (parts.hostname or "").lower()


def _language(params: Mapping[str, str], headers: Mapping[str, str]) -> str:
    first = (params.get("lang") or headers.get("accept-language", "")).split(",", 1)[0].split(";", 1)[0].strip()
    return first.lower() if _LANGUAGE.match(first) else ""


def _local_hour(params: Mapping[str, str]) -> int:
    hour = whole_number(params.get("h", ""), limit=23)
    return -1 if hour is None else hour


class Pipeline:
    def __init__(self, sites: SiteCache, geo: GeoLocator, spool: Spool, visits: VisitTracker, salts: SaltBook,
                 tokens: TokenCache, secret_key: str) -> None:
        self.sites = sites
        self.tokens = tokens
        self.geo = geo
        self.spool = spool
        self.visits = visits
        self.salts = salts
        self.secret_key = secret_key.encode("utf-8")
        self.outcomes: Counter[str] = Counter()  # reason -> hits, for /metrics

    def _drop(self, site: Site, day: date, reason: str) -> Outcome:
        self.outcomes[reason] += 1
        # With a full spool the count is lost, not the visitor's data; /metrics still has it.
        with contextlib.suppress(SpoolFull):
            self.spool.append([(DROPS.code, [site.site_id, day, reason, 1])])
        return Outcome(Verdict.EXCLUDED, reason)

    def handle(self, request: TrackingRequest) -> Outcome:
        params = request.params
        site_text = params.get("idsite", "")
        site_id = whole_number(site_text, limit=2**32 - 1)
        site = self.sites.get(site_id) if site_id is not None else None
        if site is None:
            self.outcomes["unknown_site"] += 1
            return Outcome(Verdict.INVALID, f"idsite {site_text[:20]!r} is not a site of this Teller")
        now = request.received_at
        protected = needs_token(params, now)
        if protected and not self.tokens.allows(params.get("token_auth", ""), site.site_id):
            self.outcomes["token_required"] += 1
            return Outcome(Verdict.INVALID, f"{', '.join(protected)} need a valid token_auth of site "
                                            f"{site.site_id} (teller token add --site {site.site_id})")
        try:
            overrides = read_overrides(params, now)
        except InvalidOverride as error:
            self.outcomes["invalid_override"] += 1
            return Outcome(Verdict.INVALID, str(error))
        at = overrides.at or now
        address = overrides.address or request.address
        local_day = at.astimezone(site.zone).date()
        if params.get("rec") != "1":
            return self._drop(site, local_day, "rec_missing")
        if at < datetime.now(UTC) - timedelta(days=site.retention_days):
            # Only a backdated hit can be this old; storing it would keep data the site promised to delete.
            return self._drop(site, local_day, "past_retention")
        if not self.spool.has_room():
            # Refuse before the visit state moves on, so visit rows never go out of step with what is stored.
            self.outcomes["overloaded"] += 1
            return Outcome(Verdict.OVERLOADED, "the spool is full")
        if site.excluded_ips and address.in_ranges(site.excluded_ips):
            return self._drop(site, local_day, "excluded_ip")

        keep_bots = params.get("bots") == "1"
        reason = bot_reason(request.user_agent, request.headers)
        # bots=1 keeps a bot's hit (flagged); a prefetch is never a view, whoever asks (Matomo checks it last).
        if reason is not None and (not keep_bots or reason == "prefetch"):
            return self._drop(site, local_day, reason)
        if site.excluded_user_agents and excluded_by_user_agent(request.user_agent, site.excluded_user_agents):
            return self._drop(site, local_day, "excluded_user_agent")

        page = _split_url(params.get("url", ""))
        if page is None:
            return self._drop(site, local_day, "invalid_url")
        host = _host(page)
        if not site.allows_host(host):
            return self._drop(site, local_day, "wrong_host")
        referrer = classify_referrer(params.get("urlref", "")[:MAX_URL_LENGTH], page.geturl(), site.allows_host,
                                     params)
        if referrer.host and is_referrer_spam(referrer.host):
            return self._drop(site, local_day, "referrer_spam")
        action = describe(params, page, site.search_params, site.search_category_params,
                          page_codec(params.get("cs", "")))
        kind = action.kind
        if kind == UNCLAIMED_CUSTOM_ACTION:
            self.outcomes["unclaimed_custom_action"] += 1
            return Outcome(Verdict.UNCLAIMED, "ca=1 marks a custom action for a Matomo plugin, but the hit has no "
                                              "event, content, site search, link or download to record; like "
                                              "Matomo, Teller does not count it as a page view")

        masked = address.masked(site.ipv4_mask_bytes, site.ipv6_prefix_bits)
        if overrides.location is not None:
            location = overrides.location
        elif site.geo_full_ip:
            location = self.geo.locate_uncached(address.unmasked_text())
        else:
            location = self.geo.locate(masked)
        # With the `ua` parameter (server-side tracking) the Sec-CH-UA headers describe the sender, not the visitor.
        hints = hints_from(params.get("uadata", ""), {} if params.get("ua") else request.headers)
        agent = refine(parse_user_agent(request.user_agent), hints)
        device = device_detail(request.user_agent, hints)
        try:
            visitor = visitor_id(params, site.site_id, local_day, masked, request.user_agent, self.secret_key,
                                 lambda: self.salts.salt(site.site_id, local_day), cookieless=site.cookieless)
        except InvalidVisitorId as error:
            self.outcomes["invalid_cid"] += 1
            return Outcome(Verdict.INVALID, str(error))

        screen = params.get("res", "")
        attributes: dict[str, Any] = {
            "hostname": host, "referrer": referrer.url, "referrer_host": referrer.host,
            "referrer_type": referrer.type, "referrer_name": referrer.name, "referrer_keyword": referrer.keyword,
            "utm_source": referrer.utm_source, "utm_medium": referrer.utm_medium,
            "utm_campaign": referrer.utm_campaign, "utm_term": referrer.utm_term, "utm_content": referrer.utm_content,
            "ip_masked": masked, "country_code": location.country_code, "region": location.region,
            "city": location.city, "browser": agent.browser, "browser_version": agent.browser_version,
            "os": agent.os, "os_version": agent.os_version, "device_type": agent.device_type,
            "device_brand": device.brand, "device_model": device.model,
            "screen_size": screen if _SCREEN.match(screen) else "", "language": _language(params, request.headers),
            "retention_days": site.retention_days,
        }
        # Matomo removes the parameters that carried a site search from the stored URL.
        stored_url = clean_url(page.geturl(), site.excluded_params + action.stripped)
        pathname = page.path or "/"
        visit_id, records, advance_visit = self.visits.record(site.site_id, visitor, Hit(
            at=at, local_day=local_day, kind=kind, page=pathname, force_new=params.get("new_visit") == "1",
            timeout_seconds=site.visit_timeout_minutes * 60, attributes=attributes,
            sets_location=overrides.location is not None))
        if visit_id is None:
            return self._drop(site, local_day, "ping_without_visit")
        if kind != "ping":
            visit = current_row(records)
            cookie = CookieAttribution.from_params(params)
            credit = credited_referrer(cookie, visit, site.allows_host) if kind in CONVERSION_KINDS else no_credit()
            event = {**attributes, **{column: visit[column] for column in VISIT_CLIENT_COLUMNS}, **action.fields,
                     **cookie.columns(), **credit, "site_id": site.site_id, "ts": at,
                     "name": kind, "visitor_id": visitor,
                     "visit_id": visit_id, "pageview_id": params.get("pv_id", "")[:6], "pathname": pathname,
                     "url": stored_url, "title": params.get("action_name", "")[:MAX_TITLE_LENGTH],
                     "local_hour": _local_hour(params), "is_bot": int(reason is not None)}
            records.append((EVENTS.code, [event[column] for column in EVENTS.columns]))
        try:
            ticket = self.spool.append(records)
        except SpoolFull as error:
            self.outcomes["overloaded"] += 1
            return Outcome(Verdict.OVERLOADED, str(error))
        advance_visit()  # only now: the rows that move the visit on are safely queued
        self.outcomes["tracked"] += 1
        return Outcome(Verdict.TRACKED, "tracked", ticket)
