"""Stitching hits into visits the way Matomo and Plausible define them.

A visitor's hit continues their current visit unless 30 minutes passed since their last hit, the site-local
date changed, or the hit asks for a new visit (`new_visit=1`). State is a bounded in-memory map; entries
older than the timeout are useless and are pruned.
"""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass
from datetime import date, datetime

VISIT_TIMEOUT_SECONDS = 30 * 60
MAX_OPEN_VISITS = 1_000_000


@dataclass(slots=True)
class _OpenVisit:
    visit_id: int
    last_seen: float
    local_day: date


class VisitStitcher:
    def __init__(self, timeout_seconds: int = VISIT_TIMEOUT_SECONDS) -> None:
        self.timeout_seconds = timeout_seconds
        self._open: dict[tuple[int, int], _OpenVisit] = {}
        self._lock = threading.Lock()
        self._newest = 0.0

    def visit_for(self, site_id: int, visitor: int, at: datetime, local_day: date, force_new: bool) -> int:
        seen = at.timestamp()
        key = (site_id, visitor)
        with self._lock:
            current = self._open.get(key)
            if (current is None or force_new or seen - current.last_seen > self.timeout_seconds
                    or current.local_day != local_day):
                current = _OpenVisit(secrets.randbits(63), seen, local_day)
                self._open[key] = current
                if len(self._open) > MAX_OPEN_VISITS:
                    self._prune()
            current.last_seen = max(current.last_seen, seen)
            self._newest = max(self._newest, seen)
            return current.visit_id

    def _prune(self) -> None:
        horizon = self._newest - self.timeout_seconds
        self._open = {key: visit for key, visit in self._open.items() if visit.last_seen >= horizon}
