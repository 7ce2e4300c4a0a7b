"""Moves sealed spool segments into ClickHouse, one columnar batch per table per segment.

A segment is deleted only after every table's insert succeeded. Each insert carries a deduplication token made
of the segment name and the table, and the tables keep a deduplication window, so a segment shipped again after
a crash (inserted, not yet deleted) adds no duplicate rows. If ClickHouse is down the segments wait on disk and
the shipper retries with back-off; the spool keeps accepting hits up to its disk budget.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path

from ingest.spool import Spool, decode_lines
from ingest.store import Store
from ingest.tables import TABLES

log = logging.getLogger(__name__)
MAX_BACKOFF_SECONDS = 30.0


class Shipper:
    def __init__(self, spool: Spool, store: Store) -> None:
        self.spool = spool
        self.store = store
        self._wake = threading.Event()
        spool.add_sealed_listener(self._wake)
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()  # one shipment at a time (thread, tests and shutdown alike)
        # Metrics
        self.batches = 0
        self.rows_shipped: Counter[str] = Counter()
        self.insert_seconds = 0.0
        self.last_batch_rows = 0
        self.errors = 0
        self.last_error = ""
        self.healthy = True

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="teller-shipper", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def _run(self) -> None:
        backoff = 0.5
        while not self._stopping:
            self._wake.wait(timeout=1.0)
            self._wake.clear()
            try:
                self.ship_pending()
                backoff = 0.5
            except Exception as error:
                self.errors += 1
                self.healthy = False
                self.last_error = f"{type(error).__name__}: {str(error)[:300]}"
                log.warning("shipping to ClickHouse failed (%s); %d segments wait on disk, retrying in %.1f s",
                            self.last_error, len(self.spool.sealed_segments()), backoff)
                deadline = time.monotonic() + backoff
                while not self._stopping and time.monotonic() < deadline:
                    time.sleep(0.05)
                backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)
                self._wake.set()

    def ship_pending(self) -> int:
        """Ship every sealed segment, oldest first; returns how many were shipped. Raises on the first failure."""
        shipped = 0
        with self._lock:
            for segment in self.spool.sealed_segments():
                if not segment.exists():
                    continue
                self._ship(segment)
                shipped += 1
        return shipped

    def _ship(self, segment: Path) -> None:
        encoded, good, columns = decode_lines(segment.read_bytes())
        if good < segment.stat().st_size:
            log.error("spool segment %s is damaged after byte %d; shipping the intact part", segment.name, good)
        rows: dict[str, list[bytes]] = defaultdict(list)
        for code, row in encoded:
            rows[code].append(row)
        client = self.store.client()
        started = time.monotonic()
        total = 0
        for code, table_rows in rows.items():
            spec = TABLES[code]
            # ClickHouse parses the rows itself (JSONCompactEachRow): no per-value work in Python, so shipping
            # hardly competes with the request path for the interpreter.
            client.raw_insert(spec.name, columns.get(code, list(spec.columns)), insert_block=b"\n".join(table_rows),
                              fmt="JSONCompactEachRow",
                              settings={"insert_deduplication_token": f"{segment.stem}:{spec.name}",
                                        # page_visits (migration 19) is written by a view of the events
                                        # insert; without this, a retry that events deduplicates would
                                        # still write the view's rows again.
                                        "deduplicate_blocks_in_dependent_materialized_views": 1})
            self.rows_shipped[spec.name] += len(table_rows)
            total += len(table_rows)
        self.insert_seconds += time.monotonic() - started
        self.batches += 1
        self.last_batch_rows = total
        self.healthy = True
        self.spool.remove_segment(segment)
