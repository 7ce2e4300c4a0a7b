"""Random salts per site and period that ClickHouse deletes on schedule.

The daily salt behind cookieless visitor ids (`cookieless_salts`, one per site-local day, deleted two days
after its day): once it is gone nobody can recompute that day's ids, so cookieless visitors cannot be linked
across days. The rollup tier uses the same book with monthly salts (`rollup_salts`, see ingest/rollups.py).
Salts live in ClickHouse, shared by every Teller node.
"""

from __future__ import annotations

import logging
import secrets
import threading
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta

from ingest.sites import Site
from ingest.store import Store

log = logging.getLogger(__name__)


class SaltBook:
    def __init__(self, store: Store, table: str = "cookieless_salts", keep: timedelta = timedelta(days=2)) -> None:
        self.store = store
        self.table = table
        self.keep = keep  # how long the table's TTL keeps a salt after its day; older ones are not cached
        self._salts: dict[tuple[int, date], bytes] = {}
        self._lock = threading.Lock()

    def salt(self, site_id: int, day: date) -> bytes:
        key = (site_id, day)
        salt = self._salts.get(key)
        if salt is None:
            with self._lock:
                salt = self._salts.get(key) or self._load_or_create(site_id, day)
                self._salts[key] = salt
                self._forget_before(day - self.keep)
        return salt

    def warm(self, sites: Iterable[Site]) -> None:
        """Load or create today's salt of every site at start-up, so the first hits do not wait for ClickHouse
        (chDB's first insert in a process takes over a second)."""
        for site in sites:
            self.salt(site.site_id, datetime.now(site.zone).date())

    def existing(self, site_id: int, day: date) -> bytes | None:
        """The salt of that day if it still exists; never creates one (for recomputing an old id)."""
        return self._salts.get((site_id, day)) or self._read(site_id, day)

    def _read(self, site_id: int, day: date) -> bytes | None:
        rows = self.store.client().query(
            "SELECT salt FROM {table:Identifier} FINAL WHERE site_id = {site:UInt32} AND day = {day:Date}",
            parameters={"table": self.table, "site": site_id, "day": day}).result_rows
        return bytes.fromhex(rows[0][0]) if rows else None

    def _load_or_create(self, site_id: int, day: date) -> bytes:
        try:
            existing = self._read(site_id, day)
            if existing is not None:
                return existing
            self.store.client().insert(self.table, [[site_id, day, secrets.token_hex(32), datetime.now(UTC)]],
                                       column_names=["site_id", "day", "salt", "created_at"])
            # Read back: when two nodes race, the newest write wins for both after this read.
            stored = self._read(site_id, day)
            if stored is not None:
                return stored
        except Exception:
            log.warning("ClickHouse unreachable for a salt in %s of site %d; using a salt held in memory",
                        self.table, site_id)
        return secrets.token_bytes(32)

    def _forget_before(self, oldest: date) -> None:
        for key in [key for key in self._salts if key[1] < oldest]:
            del self._salts[key]
