"""Visit boundaries: 30 minutes of inactivity, site-local midnight, new_visit=1."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from ingest.visits import VisitStitcher

AMSTERDAM = ZoneInfo("Europe/Amsterdam")


def visit(stitcher: VisitStitcher, at: datetime, visitor: int = 7, force_new: bool = False) -> int:
    return stitcher.visit_for(1, visitor, at, at.astimezone(AMSTERDAM).date(), force_new)


def test_thirty_minutes_of_inactivity_start_a_new_visit() -> None:
    stitcher = VisitStitcher()
    start = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
    first = visit(stitcher, start)
    assert visit(stitcher, start + timedelta(minutes=29)) == first
    assert visit(stitcher, start + timedelta(minutes=58)) == first  # 29 minutes after the last hit
    assert visit(stitcher, start + timedelta(minutes=88, seconds=1)) != first


def test_site_local_midnight_starts_a_new_visit() -> None:
    stitcher = VisitStitcher()
    # 23:50 and 00:05 in Amsterdam (UTC+1 in winter) are 15 minutes apart but on two local days.
    before = visit(stitcher, datetime(2026, 1, 5, 22, 50, tzinfo=UTC))
    after = visit(stitcher, datetime(2026, 1, 5, 23, 5, tzinfo=UTC))
    assert before != after
    # 00:30 UTC is still the same Amsterdam day as 23:05 UTC.
    assert visit(stitcher, datetime(2026, 1, 5, 23, 20, tzinfo=UTC)) == after


def test_new_visit_parameter_and_other_visitors() -> None:
    stitcher = VisitStitcher()
    at = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
    first = visit(stitcher, at)
    assert visit(stitcher, at + timedelta(minutes=1), force_new=True) != first
    assert visit(stitcher, at, visitor=8) != first
