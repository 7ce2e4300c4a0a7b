"""A value loaded from ClickHouse and kept in memory for the ingest path, refreshed every few seconds.

Hits never wait on a query except the first after `max_age_seconds`; when ClickHouse is away the last good
value is kept (hits keep flowing into the spool) and the next refresh is tried after `max_age_seconds`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")


class Snapshot(Generic[T]):
    def __init__(self, load: Callable[[], T], empty: T, what: str, max_age_seconds: float = 10.0) -> None:
        self.load = load
        self.what = what
        self.max_age_seconds = max_age_seconds
        self._value = empty
        self._loaded_at = float("-inf")
        self._lock = threading.Lock()

    def invalidate(self) -> None:
        """Reload on the next read (after a change made through this process)."""
        self._loaded_at = float("-inf")

    def get(self) -> T:
        if time.monotonic() - self._loaded_at > self.max_age_seconds:
            with self._lock:
                if time.monotonic() - self._loaded_at > self.max_age_seconds:
                    try:
                        self._value = self.load()
                    except Exception:
                        log.warning("cannot refresh %s from ClickHouse; using the copy loaded before", self.what)
                    self._loaded_at = time.monotonic()
        return self._value
