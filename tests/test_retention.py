"""Each site's rows expire by the table TTL at that site's own retention, in one shared table."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from ingest.pipeline import Verdict
from ingest.sites import Site
from teller.runtime import Runtime
from tests.helpers import add_site, dropped, event_rows, tracking_request


def hit(runtime: Runtime, site: Site, age: timedelta, path: str) -> None:
    request = tracking_request(site, path, at=datetime.now(UTC) - age)
    assert runtime.pipeline.handle(request).verdict is Verdict.TRACKED


def force_ttl(runtime: Runtime) -> None:
    # TTLs are applied by merges; OPTIMIZE … FINAL forces one now instead of waiting for the background merge.
    runtime.store.client().command("OPTIMIZE TABLE events FINAL")
    runtime.store.client().command("OPTIMIZE TABLE sessions FINAL")


def paths(runtime: Runtime, site: Site) -> list[str]:
    return [row["pathname"] for row in event_rows(runtime, site)]


def test_rows_expire_at_each_sites_own_retention(runtime: Runtime) -> None:
    short = add_site(runtime, "Short", ("short.example",), retention_days=3)
    long = add_site(runtime, "Long", ("long.example",), retention_days=30)
    # Five seconds short of three days old: inside Short's policy when written, past it five seconds later.
    almost_expired = timedelta(days=3) - timedelta(seconds=5)
    for site in (short, long):
        hit(runtime, site, almost_expired, "/almost-three-days")
        hit(runtime, site, timedelta(days=1), "/yesterday")
    assert paths(runtime, short) == paths(runtime, long) == ["/almost-three-days", "/yesterday"]

    time.sleep(6)
    force_ttl(runtime)
    assert paths(runtime, short) == ["/yesterday"]
    assert paths(runtime, long) == ["/almost-three-days", "/yesterday"]


def test_hits_already_past_retention_are_never_stored(runtime: Runtime) -> None:
    site = add_site(runtime, "Short", ("short.example",), retention_days=3)
    old = tracking_request(site, "/ten-days", at=datetime.now(UTC) - timedelta(days=10))
    assert runtime.pipeline.handle(old).verdict is Verdict.EXCLUDED
    hit(runtime, site, timedelta(hours=1), "/recent")
    assert paths(runtime, site) == ["/recent"]
    assert dropped(runtime, site) == {"past_retention": 1}


def test_changing_retention_applies_to_stored_rows(runtime: Runtime) -> None:
    site = add_site(runtime, "Shrinking", ("shrink.example",), retention_days=30)
    other = add_site(runtime, "Other", ("other.example",), retention_days=30)
    for target in (site, other):
        hit(runtime, target, timedelta(days=10), "/old")
        hit(runtime, target, timedelta(days=1), "/new")
    assert paths(runtime, site) == ["/old", "/new"]

    runtime.registry.update(site.site_id, retention_days=7)
    force_ttl(runtime)
    rows = event_rows(runtime, site)
    assert [row["pathname"] for row in rows] == ["/new"]
    assert {row["retention_days"] for row in rows} == {7}
    assert paths(runtime, other) == ["/old", "/new"]
