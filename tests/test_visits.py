"""Visit boundaries and visit rows: 30 minutes of inactivity, site-local midnight, new_visit=1, campaigns,
heartbeats; entry and exit page, page count, duration and bounce."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from ingest.tables import SESSIONS
from ingest.visits import Hit, VisitTracker

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
DIRECT = {"referrer_type": "direct"}


def hit(tracker: VisitTracker, at: datetime, page: str = "/", visitor: int = 7, kind: str = "pageview",
        force_new: bool = False, timeout: int = 1800, **attributes: Any) -> tuple[int | None, list[dict[str, Any]]]:
    visit, records, advance = tracker.record(1, visitor, Hit(at, at.astimezone(AMSTERDAM).date(), kind, page,
                                                             force_new, timeout, DIRECT | attributes))
    advance()  # as the pipeline does once the rows are spooled
    return visit, [dict(zip(SESSIONS.columns, values, strict=True)) for _, values in records]


START = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def test_thirty_minutes_of_inactivity_start_a_new_visit() -> None:
    tracker = VisitTracker()
    first, _ = hit(tracker, START)
    assert hit(tracker, START + timedelta(minutes=29))[0] == first
    assert hit(tracker, START + timedelta(minutes=58))[0] == first  # 29 minutes after the last hit
    assert hit(tracker, START + timedelta(minutes=88, seconds=1))[0] != first
    # A site's own timeout applies.
    assert hit(tracker, START + timedelta(minutes=99), timeout=600)[0] != first


def test_site_local_midnight_starts_a_new_visit() -> None:
    tracker = VisitTracker()
    # 23:50 and 00:05 in Amsterdam (UTC+1 in winter) are 15 minutes apart but on two local days.
    before, _ = hit(tracker, datetime(2026, 1, 5, 22, 50, tzinfo=UTC))
    after, _ = hit(tracker, datetime(2026, 1, 5, 23, 5, tzinfo=UTC))
    assert before != after
    assert hit(tracker, datetime(2026, 1, 5, 23, 20, tzinfo=UTC))[0] == after


def test_new_visit_parameter_and_other_visitors() -> None:
    tracker = VisitTracker()
    first, _ = hit(tracker, START)
    assert hit(tracker, START + timedelta(minutes=1), force_new=True)[0] != first
    assert hit(tracker, START, visitor=8)[0] != first


def test_a_different_campaign_starts_a_new_visit_unless_the_visit_was_direct() -> None:
    tracker = VisitTracker()
    spring = {"referrer_type": "campaign", "referrer_name": "spring", "referrer_keyword": ""}
    summer = spring | {"referrer_name": "summer"}
    search, _ = hit(tracker, START, referrer_type="search", referrer_name="Google", referrer_keyword="")
    in_spring, _ = hit(tracker, START + timedelta(minutes=1), **spring)
    assert in_spring != search
    assert hit(tracker, START + timedelta(minutes=2), **spring)[0] == in_spring  # the same campaign continues
    assert hit(tracker, START + timedelta(minutes=3), **summer)[0] != in_spring

    direct, _ = hit(tracker, START, visitor=9)
    upgraded, rows = hit(tracker, START + timedelta(minutes=1), visitor=9, **spring)
    assert upgraded == direct  # a direct visit takes the campaign over (Matomo)
    assert rows[-1]["referrer_type"] == "campaign" and rows[-1]["referrer_name"] == "spring"


def test_visit_rows_collapse_to_entry_exit_pages_duration_and_bounce() -> None:
    tracker = VisitTracker()
    _, [first] = hit(tracker, START, "/landing")
    assert (first["sign"], first["version"], first["pageviews"], first["is_bounce"]) == (1, 1, 1, 1)
    _, [cancel, second] = hit(tracker, START + timedelta(seconds=40), "/next")
    assert cancel == first | {"sign": -1}  # the old row again, with sign -1 and its own version
    assert (second["version"], second["entry_page"], second["exit_page"]) == (2, "/landing", "/next")
    assert (second["pageviews"], second["duration"], second["is_bounce"]) == (2, 40, 0)


def test_heartbeat_extends_a_visit_but_never_creates_one() -> None:
    tracker = VisitTracker()
    assert hit(tracker, START, kind="ping") == (None, [])
    visit, _ = hit(tracker, START, "/article")
    pinged, [_, row] = hit(tracker, START + timedelta(seconds=75), kind="ping")
    assert pinged == visit
    assert (row["duration"], row["pageviews"], row["events"], row["is_bounce"]) == (75, 1, 0, 1)


def test_a_hit_that_is_not_spooled_leaves_the_visit_as_it_was() -> None:
    tracker = VisitTracker()
    hit(tracker, START, "/landing")
    day = START.astimezone(AMSTERDAM).date()
    # The pipeline computed the next version but the spool refused it: it never calls advance().
    tracker.record(1, 7, Hit(START + timedelta(seconds=30), day, "pageview", "/lost", False, 1800, DIRECT))
    _, [cancel, row] = hit(tracker, START + timedelta(seconds=60), "/next")
    assert cancel["version"] == 1 and cancel["exit_page"] == "/landing"  # cancels the row that was written
    assert (row["version"], row["pageviews"], row["exit_page"]) == (2, 2, "/next")
