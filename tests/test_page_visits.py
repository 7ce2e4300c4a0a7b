"""page_visits (migration 19): the page views of events again, sorted by path, for page filters. It must hold
exactly the page views of events (filled on upgrade, written with every insert, once per shipped segment) and
follow them out: retention, site deletion."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from ingest.migrations import MIGRATIONS, migrate
from ingest.pipeline import Verdict
from ingest.sites import Site
from ingest.store import Store
from teller.config import Settings
from teller.runtime import Runtime
from tests.helpers import add_site, tracking_request

COLUMNS = "site_id, pathname, visitor_id, visit_id, ts, retention_days"


def page_views(store: Store) -> dict[str, list[tuple[Any, ...]]]:
    """The page views as events holds them and as page_visits does, sorted."""
    client = store.client()
    events = f"SELECT {COLUMNS} FROM events WHERE name = 'pageview'"  # noqa: S608
    copies = f"SELECT {COLUMNS} FROM page_visits"  # noqa: S608
    return {"events": sorted(client.query(events).result_rows), "page_visits": sorted(client.query(copies).result_rows)}


def track(runtime: Runtime, site: Site, visitor: str, path: str, **params: str) -> None:
    request = tracking_request(site, path, at=datetime.now(UTC) - timedelta(minutes=5), cid=visitor, **params)
    assert runtime.pipeline.handle(request).verdict is Verdict.TRACKED


def test_an_upgrade_fills_page_visits_with_the_stored_page_views_once(
        settings: Settings, store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("ingest.migrations.MIGRATIONS", tuple(m for m in MIGRATIONS if m.version < 19))
    runtime = Runtime.open(settings, store=store)
    try:
        site = add_site(runtime, "Fietsen", ("fietsen.example",))
        for visitor, path in (("1111111111111111", "/"), ("1111111111111111", "/prijzen"),
                              ("2222222222222222", "/prijzen")):
            track(runtime, site, visitor, path)
        track(runtime, site, "2222222222222222", "/prijzen", e_c="Video", e_a="Play")  # an event, not a view
        runtime.drain()
        monkeypatch.undo()
        assert store.client().query("EXISTS TABLE page_visits").result_rows == [(0,)]

        assert [migration.version for migration in migrate(store)] == [19]
        stored = page_views(store)
        assert len(stored["events"]) == 3 and stored["page_visits"] == stored["events"]
        # The copy again, as after a crash before the bookkeeping row: still each page view once.
        for statement in next(m for m in MIGRATIONS if m.version == 19).statements:
            assert isinstance(statement, str)
            store.client().command(statement)
        assert page_views(store) == stored

        # From now on ClickHouse writes page_visits with every insert into events.
        track(runtime, site, "3333333333333333", "/contact")
        runtime.drain()
        stored = page_views(store)
        assert len(stored["events"]) == 4 and stored["page_visits"] == stored["events"]
    finally:
        runtime.stop_ingest()
        runtime.geo.close()


def test_a_segment_shipped_again_adds_no_page_visits(runtime: Runtime, tmp_path: Path) -> None:
    site = add_site(runtime, "Fietsen", ("fietsen.example",))
    track(runtime, site, "1111111111111111", "/")
    track(runtime, site, "1111111111111111", "/prijzen")
    runtime.spool.seal_now()
    kept = tmp_path / "replay"
    kept.mkdir()
    for segment in runtime.spool.sealed_segments():
        shutil.copy(segment, kept / segment.name)
    runtime.drain()
    before = page_views(runtime.store)
    assert len(before["page_visits"]) == 2

    for segment in kept.iterdir():  # as if the process died before deleting the shipped segment
        shutil.copy(segment, runtime.spool.directory / segment.name)
    runtime.shipper.ship_pending()
    assert page_views(runtime.store) == before


def test_page_visits_follow_the_sites_retention_and_deletion(runtime: Runtime) -> None:
    keep = add_site(runtime, "Blijft", ("blijft.example",))
    gone = add_site(runtime, "Weg", ("weg.example",))
    for site in (keep, gone):
        track(runtime, site, "1111111111111111", "/")
    runtime.drain()
    client = runtime.store.client()

    def rows(site: Site) -> list[tuple[Any, ...]]:
        return client.query("SELECT retention_days FROM page_visits WHERE site_id = {site:UInt32}",
                            parameters={"site": site.site_id}).result_rows

    runtime.registry.update(keep.site_id, retention_days=7)
    assert rows(keep) == [(7,)]  # rewritten with the events, so the TTL applies the new policy
    runtime.registry.delete(gone.site_id)
    assert rows(gone) == [] and rows(keep) == [(7,)]
