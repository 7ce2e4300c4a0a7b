"""Country, region and city from a City mmdb (DB-IP City Lite by default, GeoLite2/GeoIP2 by config).

Teller looks up the already-masked address and keeps nothing finer than the city: coordinates, postal codes
and accuracy radii in the database are never read.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import maxminddb


@dataclass(frozen=True, slots=True)
class Location:
    country_code: str
    region: str
    city: str


NOWHERE = Location("", "", "")


def _english_name(record: Any) -> str:
    if not isinstance(record, dict):
        return ""
    names = record.get("names")
    return str(names.get("en", "")) if isinstance(names, dict) else ""


class GeoLocator:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._reader = maxminddb.open_database(str(path))
        self.locate = lru_cache(maxsize=50_000)(self._lookup)

    def _lookup(self, ip: str) -> Location:
        try:
            record = self._reader.get(ip)
        except ValueError:
            return NOWHERE
        if not isinstance(record, dict):
            return NOWHERE
        country = record.get("country") or record.get("registered_country") or {}
        subdivisions = record.get("subdivisions") or [{}]
        return Location(
            country_code=str(country.get("iso_code", "")) if isinstance(country, dict) else "",
            region=_english_name(subdivisions[0]),
            city=_english_name(record.get("city")),
        )

    def locate_uncached(self, ip: str) -> Location:
        """For a full address a site chose to geolocate with: never kept in the cache, used and forgotten."""
        return self._lookup(ip)

    def close(self) -> None:
        self._reader.close()
