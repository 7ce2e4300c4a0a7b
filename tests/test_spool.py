"""The write-ahead spool and its shipper: acknowledged means on disk, replay ships once, full means 503."""

from __future__ import annotations

import asyncio
import json
import shutil
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from ingest.migrations import migrate
from ingest.shipper import Shipper
from ingest.spool import Spool, SpoolFull, decode_lines
from ingest.store import Store
from ingest.tables import DROPS, EVENTS


def event(site_id: int, path: str) -> tuple[str, list[object]]:
    values: dict[str, object] = {column: "" for column in EVENTS.columns}
    values |= {"site_id": site_id, "ts": datetime.now(UTC), "name": "pageview", "visitor_id": 1, "visit_id": 1,
               "pathname": path, "local_hour": -1, "is_bot": 0, "retention_days": 30}
    return EVENTS.code, [values[column] for column in EVENTS.columns]


def stored_paths(store: Store) -> list[str]:
    return [row[0] for row in store.client().query("SELECT pathname FROM events ORDER BY pathname").result_rows]


def test_a_ticket_is_committed_only_once_the_line_is_on_disk(tmp_path: Path) -> None:
    spool = Spool(tmp_path, budget_bytes=1 << 20, commit_interval=0.01, segment_seconds=60)
    try:
        tickets = [spool.append([event(1, f"/{index}")]) for index in range(50)]

        async def wait_all() -> None:
            await asyncio.gather(*(spool.committed(ticket) for ticket in tickets))

        asyncio.run(asyncio.wait_for(wait_all(), timeout=10))
        [open_segment] = list(tmp_path.glob("*.open"))
        rows, _ = decode_lines(open_segment.read_bytes())
        pathname = EVENTS.columns.index("pathname")
        assert [json.loads(row)[pathname] for _, row in rows] == [f"/{i}" for i in range(50)]
    finally:
        spool.close()
    assert list(tmp_path.glob("*.open")) == [] and len(list(tmp_path.glob("*.seg"))) == 1


def test_recovery_seals_open_segments_and_cuts_a_torn_last_line(tmp_path: Path) -> None:
    spool = Spool(tmp_path, budget_bytes=1 << 20, segment_seconds=60)
    spool.wait_committed(spool.append([event(1, "/a")]))
    spool.wait_committed(spool.append([event(1, "/b")]))
    # Simulate a crash: copy the open segment as it is on disk and add half a line nobody was told about.
    [open_segment] = list(tmp_path.glob("*.open"))
    crashed = tmp_path / "crashed"
    crashed.mkdir()
    torn = crashed / open_segment.name
    shutil.copy(open_segment, torn)
    with torn.open("ab") as handle:
        handle.write(b"0badc0de [[\"e\", [1, ")
    spool.close()

    recovered = Spool(crashed, budget_bytes=1 << 20)
    try:
        [sealed] = recovered.sealed_segments()
        records, good = decode_lines(sealed.read_bytes())
        assert good == sealed.stat().st_size
        assert len(records) == 2
    finally:
        recovered.close()


def test_past_the_budget_append_refuses(tmp_path: Path) -> None:
    spool = Spool(tmp_path, budget_bytes=4096, segment_seconds=60)
    try:
        with pytest.raises(SpoolFull):
            for index in range(1000):
                spool.append([event(1, f"/{index}")])
        assert not spool.has_room()
    finally:
        spool.close()


def test_shipping_a_segment_twice_stores_its_rows_once(tmp_path: Path, store: Store) -> None:
    migrate(store)
    spool = Spool(tmp_path / "spool", budget_bytes=1 << 20, segment_seconds=60)
    spool.append([event(1, "/one"), (DROPS.code, [1, date.today(), "bot", 1])])
    spool.append([event(1, "/two"), (DROPS.code, [1, date.today(), "bot", 1])])
    spool.seal_now()
    [segment] = spool.sealed_segments()
    copy = tmp_path / "copy.seg"
    shutil.copy(segment, copy)
    shipper = Shipper(spool, store)
    assert shipper.ship_pending() == 1
    assert spool.sealed_segments() == []
    # A crash after the insert and before the delete: the same segment comes back at the next start.
    shutil.copy(copy, segment)
    assert shipper.ship_pending() == 1
    assert stored_paths(store) == ["/one", "/two"]
    drops = store.client().query("SELECT sum(hits) FROM dropped_hits").result_rows[0][0]
    assert drops == 2
    spool.close()
