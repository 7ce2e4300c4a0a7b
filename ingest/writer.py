"""The batch writer: rows are queued in memory and inserted into ClickHouse by one background thread.

ClickHouse wants few large inserts, not one per hit, so the thread flushes when a batch is full, when the
oldest queued row has waited `flush_interval` seconds, and on shutdown. If ClickHouse refuses a batch the rows
stay queued and the insert is retried with back-off; when the queue is full `submit` says no and the
collector answers 503 instead of losing hits silently.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Sequence
from datetime import date

from ingest.store import Store

log = logging.getLogger(__name__)

EVENT_COLUMNS: tuple[str, ...] = (
    "site_id", "ts", "name", "visitor_id", "visit_id", "pageview_id", "hostname", "pathname", "url", "title",
    "referrer", "referrer_host", "ip_masked", "country_code", "region", "city", "browser", "browser_version",
    "os", "os_version", "device_type", "screen_size", "language", "local_hour", "retention_days",
)
DropKey = tuple[int, date, str]


class BatchWriter:
    def __init__(self, store: Store, batch_rows: int, flush_interval: float, queue_rows: int) -> None:
        self.store = store
        self.batch_rows = batch_rows
        self.flush_interval = flush_interval
        self.queue_rows = queue_rows
        self._rows: list[Sequence[object]] = []
        self._drops: Counter[DropKey] = Counter()
        self._oldest_at = 0.0
        self._cond = threading.Condition()
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._in_flight = 0
        self._writing = False  # a batch (rows or drop counts) is being inserted right now
        self.rows_written = 0
        self.insert_errors = 0

    # Called from the request path: must never block on ClickHouse.
    def submit(self, row: Sequence[object]) -> bool:
        with self._cond:
            if len(self._rows) + self._in_flight >= self.queue_rows:
                return False
            first = not self._rows
            if first:
                self._oldest_at = time.monotonic()
            self._rows.append(row)
            # Wake the writer for the first row (its flush deadline starts now) and for a full batch.
            if first or len(self._rows) >= self.batch_rows:
                self._cond.notify()
        return True

    def count_drop(self, site_id: int, day: date, reason: str) -> None:
        with self._cond:
            if not self._rows and not self._drops:
                self._oldest_at = time.monotonic()
                self._cond.notify()
            self._drops[(site_id, day, reason)] += 1

    @property
    def queued(self) -> int:
        with self._cond:
            return len(self._rows) + self._in_flight

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="teller-writer", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Flush everything queued and stop the thread."""
        with self._cond:
            self._stopping = True
            self._cond.notify()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        else:
            self.flush()

    def flush(self) -> None:
        """Write everything queued now, in the caller's thread (used when no writer thread runs)."""
        while self._write_batch():
            pass

    def _pending(self) -> bool:
        with self._cond:
            return bool(self._rows or self._drops or self._writing)

    def wait_until_written(self, timeout: float = 30.0) -> None:
        """Block until every queued row and drop count is in ClickHouse (tests and the demo loader use this)."""
        deadline = time.monotonic() + timeout
        while self._pending() and time.monotonic() < deadline:
            time.sleep(0.01)
        if self._pending():
            raise TimeoutError(f"{self.queued} rows still queued after {timeout} s")

    def _run(self) -> None:
        backoff = 0.5
        while True:
            with self._cond:
                while not self._stopping and not self._due():
                    self._cond.wait(timeout=self._wait_time())
                stopping = self._stopping
            try:
                while self._write_batch():
                    if not stopping and not self._due():
                        break
                backoff = 0.5
            except Exception:
                self.insert_errors += 1
                log.exception("ClickHouse insert failed; %d rows stay queued, retrying in %.1f s",
                              self.queued, backoff)
                time.sleep(backoff)
                backoff = min(backoff * 2, 30.0)
                continue
            if stopping:
                return

    def _due(self) -> bool:
        if len(self._rows) >= self.batch_rows:
            return True
        has_work = bool(self._rows) or bool(self._drops)
        return has_work and time.monotonic() - self._oldest_at >= self.flush_interval

    def _wait_time(self) -> float:
        if not self._rows and not self._drops:
            return self.flush_interval
        return max(0.001, self.flush_interval - (time.monotonic() - self._oldest_at))

    def _write_batch(self) -> bool:
        """Insert one batch; True when something was written. Rows return to the queue if the insert fails."""
        with self._cond:
            batch, self._rows = self._rows[: self.batch_rows], self._rows[self.batch_rows:]
            drops, self._drops = self._drops, Counter()
            self._in_flight = len(batch)
            self._writing = True
            self._oldest_at = time.monotonic()
        try:
            client = self.store.client()
            if batch:
                client.insert("events", batch, column_names=list(EVENT_COLUMNS))
            if drops:
                counts = [[site, day, reason, hits] for (site, day, reason), hits in drops.items()]
                client.insert("dropped_hits", counts, column_names=["site_id", "day", "reason", "hits"])
        except Exception:
            with self._cond:
                self._rows[:0] = batch
                self._drops.update(drops)
                self._in_flight = 0
                self._writing = False
            raise
        with self._cond:
            self._in_flight = 0
            self._writing = False
            self.rows_written += len(batch)
        return bool(batch) or bool(drops)
