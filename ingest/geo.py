"""Country, region and city from a City mmdb (DB-IP City Lite by default, GeoLite2/GeoIP2 by config).

Teller looks up the already-masked address and keeps nothing finer than the city: coordinates, postal codes
and accuracy radii in the database are never read. When the file changes on disk (a monthly database update
replaced it), the next lookup after a short check interval opens the new file; no restart needed.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import maxminddb

log = logging.getLogger(__name__)


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


RELOAD_CHECK_SECONDS = 10.0


def _signature(path: Path) -> tuple[int, int]:
    stat = path.stat()
    return stat.st_mtime_ns, stat.st_size


class GeoLocator:
    def __init__(self, path: Path, reload_check_seconds: float = RELOAD_CHECK_SECONDS) -> None:
        self.path = path
        self.reload_check_seconds = reload_check_seconds
        self._reader = maxminddb.open_database(str(path))
        self._signature = _signature(path)
        self._checked_at = time.monotonic()
        self._cached = lru_cache(maxsize=50_000)(self._lookup)
        self.reloads = 0

    @property
    def database_type(self) -> str:
        return str(self._reader.metadata().database_type)

    def locate(self, masked_ip: str) -> Location:
        if time.monotonic() - self._checked_at >= self.reload_check_seconds:
            self._reload_if_changed()
        return self._cached(masked_ip)

    def _reload_if_changed(self) -> None:
        self._checked_at = time.monotonic()
        try:
            signature = _signature(self.path)
            if signature == self._signature:
                return
            reader = maxminddb.open_database(str(self.path))
        except (OSError, maxminddb.InvalidDatabaseError, ValueError):
            log.warning("geo database %s changed but cannot be opened; keeping the loaded one", self.path)
            return
        # A file replaced by rename stays readable through the old mapping, so swapping is safe mid-lookup.
        old, self._reader, self._signature = self._reader, reader, signature
        self._cached.cache_clear()
        self.reloads += 1
        old.close()
        log.info("reloaded geo database %s (%s)", self.path, self.database_type)

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
