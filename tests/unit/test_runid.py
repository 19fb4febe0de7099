"""Run ids: sortable by start time, unique, and safe in a file name."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from acmerun.session.runid import is_run_id, new_run_id


def test_ids_sort_by_start_and_are_unique() -> None:
    start = datetime(2026, 12, 3, 13, 21, 0, tzinfo=timezone.utc)
    earlier = new_run_id(start)
    later = new_run_id(start + timedelta(seconds=1))
    assert earlier.startswith("20261203T132100Z-")
    assert earlier < later
    assert len({new_run_id(start) for _ in range(1000)}) == 1000
    assert all(is_run_id(i) for i in (earlier, later))


def test_a_path_is_not_an_id() -> None:
    assert not is_run_id("report.json")
    assert not is_run_id("../20261203T132100Z-3f9a1c2b")
    assert not is_run_id("20261203T132100Z-3f9a1c2b\n")
