"""The batch writer flushes on size, on time and on shutdown, into the real embedded ClickHouse."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from ingest.migrations import migrate
from ingest.store import Store
from ingest.writer import EVENT_COLUMNS, BatchWriter


def row(site_id: int = 1) -> tuple[object, ...]:
    values: dict[str, object] = {column: "" for column in EVENT_COLUMNS}
    values |= {"site_id": site_id, "ts": datetime.now(UTC), "name": "pageview", "visitor_id": 1, "visit_id": 1,
               "local_hour": -1, "retention_days": 30}
    return tuple(values[column] for column in EVENT_COLUMNS)


def stored(store: Store) -> int:
    return int(store.client().query("SELECT count() FROM events").result_rows[0][0])


def wait_stored(store: Store, expected: int, timeout: float = 10) -> int:
    deadline = time.monotonic() + timeout
    while stored(store) < expected and time.monotonic() < deadline:
        time.sleep(0.02)
    return stored(store)


def test_flushes_when_a_batch_is_full(store: Store) -> None:
    migrate(store)
    writer = BatchWriter(store, batch_rows=3, flush_interval=60, queue_rows=1000)
    writer.start()
    try:
        for _ in range(3):
            assert writer.submit(row())
        assert wait_stored(store, 3) == 3  # long before the 60 s timer
    finally:
        writer.stop()


def test_flushes_on_time(store: Store) -> None:
    migrate(store)
    writer = BatchWriter(store, batch_rows=1000, flush_interval=0.2, queue_rows=1000)
    writer.start()
    try:
        writer.submit(row())
        time.sleep(0.05)
        assert stored(store) == 0  # not yet: the batch is neither full nor old
        assert wait_stored(store, 1) == 1
    finally:
        writer.stop()


def test_flushes_everything_on_shutdown(store: Store) -> None:
    migrate(store)
    writer = BatchWriter(store, batch_rows=1000, flush_interval=60, queue_rows=10_000)
    writer.start()
    for _ in range(2500):
        writer.submit(row())
    writer.stop()
    assert stored(store) == 2500


def test_a_full_queue_refuses_instead_of_growing(store: Store) -> None:
    migrate(store)
    writer = BatchWriter(store, batch_rows=1000, flush_interval=60, queue_rows=5)  # no thread: nothing drains
    assert all(writer.submit(row()) for _ in range(5))
    assert not writer.submit(row())
    writer.flush()
    assert stored(store) == 5
    assert writer.submit(row())
