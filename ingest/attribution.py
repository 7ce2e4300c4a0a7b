"""Which referrer a goal or ecommerce conversion is credited to: Matomo's goal attribution.

matomo.js (and teller.js) keep what brought the visitor in the `_pk_ref` cookie for about six months and send it
on every hit: `_rcn` and `_rck` (campaign name and keyword) and `_ref` (the referrer URL). A conversion is credited
like Matomo does (plugins/Referrers/Columns/Base.php; the reference, section 5, "Goal attribution"):
1. the cookie's campaign, when `_rcn` is set;
2. else the cookie's referrer URL, when it classifies as a search engine, a website or a social network;
3. else the visit's own referrer.
So a visitor who came from a newsletter last week and returns directly today to buy is credited to the
newsletter, not to "direct". Step 2 also accepts an AI assistant: Matomo has no such list, so it classifies those
hosts as websites and credits them.

Every events row keeps the cookie's values as sent (`attribution_*`, `_refts` as `attribution_time`);
conversion rows (goal, ecommerce order, cart update, Matomo's log_conversion) also get the credited referrer
(`conversion_referrer_*`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from ingest.numbers import whole_number
from ingest.referrers import MAX_FIELD_LENGTH, classify_referrer, clean_url

CONVERSION_KINDS = frozenset(("goal", "ecommerce_order", "cart_update"))
# Referrer types of `_ref` that earn the credit; a direct or campaign classification falls through to the visit.
CREDITED_TYPES = frozenset(("search", "website", "social", "ai"))
MAX_REFERRER_LENGTH = 1024  # Matomo reads at most this much of `_ref`, as matomo.js writes it
NO_TIME = datetime.fromtimestamp(0, UTC)  # the column's default: no `_refts` sent
EARLIEST_TIME = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class CookieAttribution:
    """The `_pk_ref` cookie's values as the hit sent them."""

    referrer: str  # `_ref`, without click ids and session ids
    campaign: str  # `_rcn`
    keyword: str  # `_rck`
    time: datetime = NO_TIME  # `_refts`: when the cookie recorded the referrer

    @classmethod
    def from_params(cls, params: Mapping[str, str], now: datetime | None = None) -> CookieAttribution:
        referrer = params.get("_ref", "").strip()[:MAX_REFERRER_LENGTH]
        return cls(clean_url(referrer) if referrer else "", params.get("_rcn", "").strip()[:MAX_FIELD_LENGTH],
                   params.get("_rck", "").strip()[:MAX_FIELD_LENGTH], _cookie_time(params.get("_refts", ""), now))

    def columns(self) -> dict[str, Any]:
        return {"attribution_referrer": self.referrer, "attribution_campaign": self.campaign,
                "attribution_keyword": self.keyword, "attribution_time": self.time}


def _cookie_time(text: str, now: datetime | None) -> datetime:
    """`_refts` in seconds since the epoch; "0", junk, or a time before 2000 or in the future: none."""
    seconds = whole_number(text, limit=2**32 - 1)
    if seconds is None:
        return NO_TIME
    moment = datetime.fromtimestamp(seconds, UTC)
    return moment if EARLIEST_TIME <= moment <= (now or datetime.now(UTC)) + timedelta(days=1) else NO_TIME


def credited_referrer(cookie: CookieAttribution, visit: Mapping[str, Any],
                      site_hosts: Callable[[str], bool]) -> dict[str, str]:
    """The conversion_referrer_* columns of a conversion; `visit` is the visit's row (its referrer_* columns)."""
    if cookie.campaign:
        # Campaign names and keywords are lowercased everywhere, as Matomo does, so reports group them.
        return _columns("campaign", cookie.campaign.lower(), cookie.keyword.lower())
    if cookie.referrer:
        # No landing page: only the referrer URL decides (Matomo passes an empty current URL here too).
        referrer = classify_referrer(cookie.referrer, "", site_hosts)
        if referrer.type in CREDITED_TYPES:
            return _columns(referrer.type, referrer.name, referrer.keyword)
    return _columns(visit.get("referrer_type", "") or "direct", visit.get("referrer_name", ""),
                    visit.get("referrer_keyword", ""))


def no_credit() -> dict[str, str]:
    """The conversion_referrer_* columns of a row that is not a conversion."""
    return _columns("", "", "")


def _columns(kind: str, name: str, keyword: str) -> dict[str, str]:
    return {"conversion_referrer_type": kind, "conversion_referrer_name": name, "conversion_referrer_keyword": keyword}
