"""Stitching hits into visits the way Matomo and Plausible define them, and keeping each visit's row.

A visitor's hit continues their open visit unless the site's inactivity timeout (30 minutes by default) passed,
the site-local date changed, the hit asks for it (`new_visit=1`), or it brings a different campaign while the
visit did not start as a direct entry (a direct visit takes the campaign over instead, as in Matomo).

Visits are stored like Plausible's sessions table: a VersionedCollapsingMergeTree in which every change writes
the old row again with sign -1 and the new row with sign +1, so "sum(sign)" counts visits and the dashboard
reads one row per visit without joining events. See docs/storage.md.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from ingest.spool import Record
from ingest.tables import SESSIONS

DEFAULT_TIMEOUT_SECONDS = 30 * 60
MAX_OPEN_VISITS = 500_000
CAMPAIGN_FIELDS = ("referrer_type", "referrer_name", "referrer_keyword")
LOCATION_FIELDS = ("country_code", "region", "city")


@dataclass(frozen=True, slots=True)
class Hit:
    """What the visit needs to know about one hit."""

    at: datetime
    local_day: date
    kind: str  # pageview, event, outlink, download, ping
    page: str
    force_new: bool
    timeout_seconds: int
    attributes: Mapping[str, Any]  # referrer, UTM, geo and device columns of the first hit; hostname; retention
    # The location was set by the sender (country/region/city with the site's token): it becomes the visit's,
    # also on a later hit, as Matomo's location columns take an allowed override on an existing visit.
    sets_location: bool = False


@dataclass(slots=True)
class _OpenVisit:
    row: dict[str, Any]  # the current +1 row, SESSIONS columns
    last_seen: float
    local_day: date
    timeout_seconds: int = DEFAULT_TIMEOUT_SECONDS


def _nothing() -> None:
    return None


def _row_values(row: Mapping[str, Any], sign: int) -> list[Any]:
    return [sign if column == "sign" else row[column] for column in SESSIONS.columns]


def current_row(records: Sequence[Record]) -> dict[str, Any]:
    """The visit as it stands after a hit, from the rows VisitTracker.record returned (the +1 row comes last)."""
    _, values = records[-1]
    return dict(zip(SESSIONS.columns, values, strict=True))


class VisitTracker:
    def __init__(self) -> None:
        self._open: dict[tuple[int, int], _OpenVisit] = {}
        self._lock = threading.Lock()
        self._newest = 0.0

    def __len__(self) -> int:
        return len(self._open)

    def record(self, site_id: int, visitor_id: int, hit: Hit) -> tuple[int | None, list[Record], Callable[[], None]]:
        """The visit id for this hit, the session rows to write, and a function that makes the new visit state
        current. The caller applies it only once the rows are safely spooled: a hit that fails after this call
        must leave the visit as it was, or a later -1 row would cancel a row that was never written."""
        seen = hit.at.timestamp()
        key = (site_id, visitor_id)
        with self._lock:
            current = self._open.get(key)
            if current is not None and self._continues(current, hit, seen):
                old, new = current.row, self._updated(current.row, hit)

                def advance() -> None:
                    with self._lock:
                        current.row = new
                        current.last_seen = max(current.last_seen, seen)
                        self._newest = max(self._newest, seen)

                return old["visit_id"], [(SESSIONS.code, _row_values(old, -1)), (SESSIONS.code, _row_values(new, 1))], \
                    advance
            if hit.kind == "ping":
                return None, [], _nothing  # a heartbeat never creates a visit
            row = self._new_row(site_id, visitor_id, hit)

            def open_visit() -> None:
                with self._lock:
                    self._open[key] = _OpenVisit(row, seen, hit.local_day, hit.timeout_seconds)
                    self._newest = max(self._newest, seen)
                    if len(self._open) > MAX_OPEN_VISITS:
                        self._prune()

            return row["visit_id"], [(SESSIONS.code, _row_values(row, 1))], open_visit

    @staticmethod
    def _continues(current: _OpenVisit, hit: Hit, seen: float) -> bool:
        if hit.force_new or seen - current.last_seen > hit.timeout_seconds or current.local_day != hit.local_day:
            return False
        brings_campaign = hit.attributes.get("referrer_type") == "campaign"
        if brings_campaign and current.row["referrer_type"] not in ("direct", ""):
            return all(current.row[field] == hit.attributes.get(field) for field in CAMPAIGN_FIELDS)
        return True

    @staticmethod
    def _new_row(site_id: int, visitor_id: int, hit: Hit) -> dict[str, Any]:
        row = {column: hit.attributes.get(column, "") for column in SESSIONS.columns}
        is_pageview = hit.kind == "pageview"
        row.update(site_id=site_id, visit_id=secrets.randbits(63), visitor_id=visitor_id, sign=1, version=1,
                   start=hit.at, last_seen=hit.at, entry_page=hit.page, exit_page=hit.page,
                   pageviews=int(is_pageview), events=int(not is_pageview), duration=0, is_bounce=1)
        return row

    @staticmethod
    def _updated(old: dict[str, Any], hit: Hit) -> dict[str, Any]:
        new = dict(old)
        new["version"] = old["version"] + 1
        new["last_seen"] = max(old["last_seen"], hit.at)
        # A site's retention applies to every new version of the row, also when it changed mid-visit.
        new["retention_days"] = hit.attributes.get("retention_days", old["retention_days"])
        new["duration"] = max(0, int((new["last_seen"] - new["start"]).total_seconds()))
        if hit.kind == "pageview":
            new["pageviews"] = old["pageviews"] + 1
            new["exit_page"] = hit.page
        elif hit.kind != "ping":
            new["events"] = old["events"] + 1
        # A visit stops being a bounce with a second action; heartbeats are not actions.
        new["is_bounce"] = int(new["pageviews"] + new["events"] <= 1)
        if hit.sets_location:
            for column in LOCATION_FIELDS:
                new[column] = hit.attributes.get(column, "")
        if old["referrer_type"] in ("direct", "") and hit.attributes.get("referrer_type") == "campaign":
            for column in ("referrer", "referrer_host", *CAMPAIGN_FIELDS, "utm_source", "utm_medium", "utm_campaign",
                           "utm_term", "utm_content"):
                new[column] = hit.attributes.get(column, "")
        return new

    def _prune(self) -> None:
        """Forget visits past their own site's timeout; if that is not enough, the least recent quarter too
        (they start a new visit on their next hit), so pruning stays rare even under a flood."""
        self._open = {key: visit for key, visit in self._open.items()
                      if visit.last_seen + visit.timeout_seconds >= self._newest}
        if len(self._open) > MAX_OPEN_VISITS * 3 // 4:
            keep = sorted(self._open.items(), key=lambda item: item[1].last_seen)[len(self._open) // 4:]
            self._open = dict(keep)

    def forget(self, visitor_ids: Iterable[int], site_id: int | None = None) -> int:
        """Close the open visits of these visitors (on one site, or all) without writing anything: after a
        data subject's rows are deleted, a next hit must start a new visit, not cancel and rewrite the deleted
        one. Returns how many visits were closed."""
        wanted = set(visitor_ids)
        with self._lock:
            keys = [key for key in self._open if key[1] in wanted and (site_id is None or key[0] == site_id)]
            for key in keys:
                del self._open[key]
        return len(keys)

    def resume(self, rows: Iterable[Mapping[str, Any]], local_day_of: Any) -> int:
        """Take over visits still open at start-up (rows as stored, +1 only); returns how many."""
        count = 0
        with self._lock:
            for row in rows:
                state = dict(row)
                state["sign"] = 1
                last_seen: datetime = state["last_seen"]
                key = (state["site_id"], state["visitor_id"])
                self._open[key] = _OpenVisit(state, last_seen.timestamp(), local_day_of(state["site_id"], last_seen))
                self._newest = max(self._newest, last_seen.timestamp())
                count += 1
        return count
