"""What an authenticated sender may override: the visitor's address (`cip`), the time of the hit (`cdt`, minus
`cdo` seconds) and the location (`country`, `region`, `city`), as in Matomo's Request.php. `lat` and `long`
are accepted and thrown away: Teller never stores a finer location than the city.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from ingest.geo import Location
from ingest.ipmask import ClientAddress
from ingest.numbers import whole_number

PROTECTED_PARAMETERS = ("cip", "cdt", "country", "region", "city")
# Matomo asks for a token only when a custom time is older than this (tracking_requests_require_authentication
# _when_custom_timestamp_newer_than = 86400).
UNAUTHENTICATED_BACKDATING = timedelta(days=1)
OLDEST_CUSTOM_TIME = timedelta(days=20 * 366)  # older custom times are ignored, as in Matomo


class InvalidOverride(ValueError):
    """An override the sender is allowed to give is malformed; the message says which."""


@dataclass(frozen=True, slots=True)
class Overrides:
    address: ClientAddress | None
    at: datetime | None
    location: Location | None


def custom_time(params: Mapping[str, str], now: datetime) -> datetime | None:
    """`cdt` as a UTC datetime (Unix seconds, or "YYYY-MM-DD HH:MM:SS" UTC), minus `cdo`; None when absent,
    unreadable, in the future or older than twenty years (Matomo ignores those)."""
    text = params.get("cdt", "").strip()
    if not text:
        return None
    seconds = whole_number(text.split(".", 1)[0])
    try:
        at = (datetime.fromtimestamp(seconds, UTC) if seconds is not None
              else datetime.fromisoformat(text).replace(tzinfo=UTC))
    except (ValueError, OverflowError, OSError):
        return None
    offset = whole_number(params.get("cdo", ""))
    if offset is not None:
        at -= timedelta(seconds=offset)
    if at > now + timedelta(minutes=1) or at < now - OLDEST_CUSTOM_TIME:
        return None
    return at


def needs_token(params: Mapping[str, str], now: datetime) -> list[str]:
    """The protected parameters in this request that only a token holder may set."""
    needed = [name for name in ("cip", "country", "region", "city") if params.get(name)]
    at = custom_time(params, now)
    if at is not None and at < now - UNAUTHENTICATED_BACKDATING:
        needed.append("cdt")
    return needed


def read_overrides(params: Mapping[str, str], now: datetime) -> Overrides:
    address = None
    if params.get("cip"):
        try:
            address = ClientAddress(ipaddress.ip_address(params["cip"].strip()))
        except ValueError:
            raise InvalidOverride("cip is not an IP address") from None
    location = None
    if any(params.get(name) for name in ("country", "region", "city")):
        country = params.get("country", "").strip().upper()
        if country and (len(country) != 2 or not country.isascii() or not country.isalpha()):
            raise InvalidOverride("country must be a two-letter ISO 3166 code")
        location = Location(country, params.get("region", "").strip()[:100], params.get("city", "").strip()[:100])
    return Overrides(address, custom_time(params, now), location)
