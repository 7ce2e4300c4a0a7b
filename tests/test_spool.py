"""The write-ahead spool and its shipper: acknowledged means on disk, replay ships once, full means 503."""

from __future__ import annotations

import asyncio
import json
import shutil
import zlib
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from ingest.actions import describe
from ingest.attribution import CookieAttribution
from ingest.migrations import migrate
from ingest.shipper import Shipper
from ingest.spool import Spool, SpoolFull, decode_lines
from ingest.store import Store
from ingest.tables import DROPS, EVENTS


def event(site_id: int, path: str) -> tuple[str, list[object]]:
    values: dict[str, object] = {column: "" for column in EVENTS.columns}
    values |= describe({}, urlsplit("https://shop.example/")).fields  # typed defaults of the action columns
    values |= CookieAttribution.from_params({}).columns()  # and of the attribution columns
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
        rows, _, columns = decode_lines(open_segment.read_bytes())
        assert columns["e"] == list(EVENTS.columns)
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
        records, good, _ = decode_lines(sealed.read_bytes())
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


def test_segment_names_never_repeat_across_restarts(tmp_path: Path, store: Store) -> None:
    # The name is the ClickHouse deduplication token: a repeat after a restart would silently drop new hits.
    migrate(store)
    for run, path in enumerate(("/first-run", "/second-run")):
        spool = Spool(tmp_path / "spool", budget_bytes=1 << 20, segment_seconds=60)
        spool.append([event(1, path)])
        spool.seal_now()
        assert Shipper(spool, store).ship_pending() == 1
        spool.close()
        assert list((tmp_path / "spool").iterdir()) == [], run  # shipped and deleted: a clean restart
    assert stored_paths(store) == ["/first-run", "/second-run"]


def test_a_failing_disk_fails_waiting_requests_instead_of_hanging(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    def full_disk(fd: int) -> None:
        raise OSError(28, "No space left on device")

    spool = Spool(tmp_path, budget_bytes=1 << 20, segment_seconds=60)
    monkeypatch.setattr("ingest.spool.os.fsync", full_disk)
    ticket = spool.append([event(1, "/lost")])

    async def wait() -> None:
        await asyncio.wait_for(spool.committed(ticket), timeout=10)

    with pytest.raises(SpoolFull, match="cannot write to disk"):
        asyncio.run(wait())
    assert not spool.has_room()
    with pytest.raises(SpoolFull):
        spool.append([event(1, "/later")])
    spool.close()


def write_old_segment(spool_dir: Path, old_columns: list[str], path: str) -> None:
    """A sealed segment as an older Teller wrote it: its header lists the event columns it knew."""
    spool_dir.mkdir()
    _, values = event(1, path)
    row = dict(zip(EVENTS.columns, values, strict=True))
    payload = b"e" + json.dumps([row[column] for column in old_columns], default=str).encode()
    line = b"%08x " % zlib.crc32(payload) + payload + b"\n"
    header = b"#" + json.dumps({"e": old_columns}).encode() + b"\n"
    (spool_dir / "00000000000000000001-old-000001.seg").write_bytes(header + line)


def test_a_segment_written_before_a_schema_change_still_ships(tmp_path: Path, store: Store) -> None:
    migrate(store)
    # An older Teller's segment: its events had no user_id column yet.
    write_old_segment(tmp_path / "spool", [column for column in EVENTS.columns if column != "user_id"],
                      "/from-an-older-version")
    spool = Spool(tmp_path / "spool", budget_bytes=1 << 20)
    assert Shipper(spool, store).ship_pending() == 1
    assert stored_paths(store) == ["/from-an-older-version"]
    spool.close()


def test_a_segment_from_before_migration_9_ships_with_the_new_columns_empty(tmp_path: Path, store: Store) -> None:
    migrate(store)
    # Before migration 9 events ended at retention_days: no product, attribution or conversion columns.
    old_columns = list(EVENTS.columns[:EVENTS.columns.index("retention_days") + 1])
    assert "product_sku" not in old_columns and len(old_columns) < len(EVENTS.columns)
    write_old_segment(tmp_path / "spool", old_columns, "/before-9")
    spool = Spool(tmp_path / "spool", budget_bytes=1 << 20)
    assert Shipper(spool, store).ship_pending() == 1
    spool.close()
    rows = store.client().query("SELECT pathname, product_category, product_price, attribution_referrer, "
                                "conversion_referrer_type FROM events").result_rows
    assert rows == [("/before-9", [], Decimal("0"), "", "")]
