"""The lab's session log: counts per calendar second and per device, memory bounded."""

from __future__ import annotations

from acmerun.lab.sessions import SessionLog


def test_sessions_are_counted_per_calendar_second_and_per_device() -> None:
    log = SessionLog()
    for device, at in (("a", 100.1), ("b", 100.9), ("a", 101.0), ("c", 103.5)):
        log.opened(device, at)
    snapshot = log.snapshot()
    assert snapshot["total"] == 4
    assert snapshot["per_second"] == [[100, 2], [101, 1], [103, 1]]
    assert snapshot["busiest"] == {"second": 100, "sessions": 2}
    assert snapshot["devices"]["a"] == {"sessions": 2, "last": 101.0}
    assert [r["device"] for r in snapshot["recent"]] == ["a", "b", "a", "c"]


def test_the_log_keeps_only_the_newest_seconds_and_sessions() -> None:
    log = SessionLog(max_seconds=3, max_recent=2)
    for second in range(10):
        log.opened("a", second + 0.5)
    snapshot = log.snapshot()
    assert snapshot["total"] == 10
    assert snapshot["per_second"] == [[7, 1], [8, 1], [9, 1]]
    assert [r["at"] for r in snapshot["recent"]] == [8.5, 9.5]
    assert snapshot["devices"] == {"a": {"sessions": 10, "last": 9.5}}


def test_an_empty_log_has_no_busiest_second() -> None:
    assert SessionLog().snapshot() == {
        "total": 0,
        "per_second": [],
        "busiest": None,
        "devices": {},
        "recent": [],
    }
