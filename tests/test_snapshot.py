"""The ingest path's cached copies keep working when ClickHouse is away."""

from __future__ import annotations

from ingest.snapshot import Snapshot


def test_a_failed_refresh_keeps_the_last_good_copy_and_retries_later() -> None:
    answers: list[object] = [{"site": 1}, RuntimeError("ClickHouse is away"), {"site": 2}]

    def load() -> dict[str, int]:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer  # type: ignore[return-value]

    snapshot = Snapshot(load, {}, "the test value", max_age_seconds=3600)
    assert snapshot.get() == {"site": 1}
    snapshot.invalidate()
    assert snapshot.get() == {"site": 1}  # the refresh failed: no error, the old copy
    assert snapshot.get() == {"site": 1}  # and no new query until max_age has passed
    snapshot.invalidate()
    assert snapshot.get() == {"site": 2}
