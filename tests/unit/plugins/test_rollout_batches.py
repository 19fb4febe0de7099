"""RollingRunner rollouts: canary, gate, pause, health budget, failure counts across batches.

Plain nornir with the recording task of ``test_rolling`` (no lab needed).
"""

from __future__ import annotations

import itertools
import threading
from collections import Counter
from typing import Any

import pytest
from nornir.core.inventory import Host
from nornir.core.task import Result, Task

from acmerun.plugins.runners.rolling import RollingRunner
from acmerun.plugins.runners.strategy import RunnerOptionsError
from acmerun.rollout import Batch
from acmerun.stop import StopToken
from tests.unit.plugins.test_rolling import GROUP_BY, Recorder, fleet, make_nornir, statuses


class GateTask:
    """A gate that records where it ran and fails on the hosts in ``fail``."""

    __name__ = "gate"

    def __init__(self, fail: set[str] | None = None) -> None:
        self.fail = fail or set()
        self.lock = threading.Lock()
        self.ran: list[str] = []

    def __call__(self, task: Task) -> Result:
        with self.lock:
            self.ran.append(task.host.name)
        if task.host.name in self.fail:
            raise RuntimeError(f"{task.host.name} lost its neighbors")
        return Result(host=task.host, result="healthy")


def names(n: int) -> list[str]:
    return [f"r{g}-0" for g in range(n)]


def test_the_canary_runs_alone_then_serial_batches_the_others() -> None:
    rec = Recorder(seconds=0.01)
    batches: list[Batch] = []
    runner = RollingRunner(num_workers=20, canary=1, serial=[2, "50%"], batches=batches)
    result = make_nornir(runner, fleet(8, 1)).run(rec)
    assert not result.failed
    assert [b.hosts for b in batches] == [
        ("r0-0",),
        ("r1-0", "r2-0"),
        ("r3-0", "r4-0", "r5-0"),
        ("r6-0", "r7-0"),
    ]
    assert [b.canary for b in batches] == [True, False, False, False]
    for before, after in itertools.pairwise(batches):
        assert before.ended is not None and after.started is not None
        assert before.ended <= after.started
        assert max(rec.ends[n] for n in before.hosts) <= min(rec.starts[n] for n in after.hosts)


def test_a_canary_given_by_host_names_runs_those_hosts_first() -> None:
    rec = Recorder()
    batches: list[Batch] = []
    runner = RollingRunner(num_workers=4, canary=["r3-*", "r5-0"], batches=batches)
    make_nornir(runner, fleet(6, 1)).run(rec)
    assert [b.hosts for b in batches] == [("r3-0", "r5-0"), ("r0-0", "r1-0", "r2-0", "r4-0")]
    assert set(rec.order[:2]) == {"r3-0", "r5-0"}


def test_a_percentage_canary_takes_at_least_one_host() -> None:
    batches: list[Batch] = []
    runner = RollingRunner(canary="2%", batches=batches)
    make_nornir(runner, fleet(10, 1)).run(Recorder())
    assert [len(b.hosts) for b in batches] == [1, 9]


def test_a_failed_gate_stops_the_rollout_and_skips_the_rest_with_its_message() -> None:
    rec = Recorder()
    check = GateTask(fail={"r0-0"})
    batches: list[Batch] = []
    runner = RollingRunner(num_workers=4, canary=1, serial=2, gate=check, batches=batches)
    result = make_nornir(runner, fleet(6, 1)).run(rec)
    assert set(rec.starts) == {"r0-0"} and check.ran == ["r0-0"]
    assert Counter(statuses(result).values()) == {"ran": 1, "skipped": 5}
    reason = "not started: the gate after batch 1 failed on r0-0: r0-0 lost its neighbors"
    assert {result[n][0].result for n in names(6)[1:]} == {reason}
    assert batches[0].gate == "failed" and batches[0].stopped == reason
    assert batches[0].gate_message.startswith("r0-0: ")
    assert [b.started for b in batches[1:]] == [None, None, None]


def test_a_passing_gate_runs_on_every_host_of_each_batch() -> None:
    check = GateTask()
    batches: list[Batch] = []
    runner = RollingRunner(num_workers=4, serial=[1, 3], gate=check, batches=batches)
    result = make_nornir(runner, fleet(4, 1)).run(Recorder())
    assert not result.failed
    assert sorted(check.ran) == names(4)
    assert [b.gate for b in batches] == ["passed", "passed"]
    assert batches[1].gate_hosts == ("r1-0", "r2-0", "r3-0")


def test_gate_on_once_runs_the_gate_on_one_host_of_the_batch() -> None:
    check = GateTask()
    runner = RollingRunner(num_workers=4, serial=3, gate=check, gate_on="once")
    make_nornir(runner, fleet(6, 1)).run(Recorder())
    assert check.ran == ["r0-0", "r3-0"]


def test_the_gate_never_runs_as_a_host_of_the_run() -> None:
    """The gate's results are no host results: the progress processors never see them."""
    rec = Recorder()
    runner = RollingRunner(serial=1, gate=GateTask())
    result = make_nornir(runner, fleet(3, 1)).run(rec)
    assert {r[0].result for r in result.values()} == {"done"}


def test_max_failed_in_batch_counts_over_the_whole_run_never_per_batch() -> None:
    # one failure per batch: each batch alone is within the limit of 1, the run is not
    rec = Recorder(fail={"r0-0", "r2-0"})
    runner = RollingRunner(num_workers=2, serial=2, on_failure="continue", max_failed_in_batch=1)
    result = make_nornir(runner, fleet(8, 1)).run(rec)
    assert set(rec.starts) == set(names(4))
    assert Counter(statuses(result).values()) == {"failed": 2, "ran": 2, "skipped": 4}
    assert result["r7-0"][0].result == "not started: 2 hosts failed (max_failed_in_batch 1)"


def test_max_fail_percentage_counts_over_the_whole_run_never_per_batch() -> None:
    # 10 hosts, 10%: one failure in each batch of 5 is 10% of the batch but 20% of the run
    rec = Recorder(fail={"r0-0", "r5-0"})
    runner = RollingRunner(num_workers=1, serial=5, on_failure="continue", max_fail_percentage=10)
    result = make_nornir(runner, fleet(10, 1)).run(rec)
    assert set(rec.starts) == set(names(6))
    assert Counter(statuses(result).values()) == {"failed": 2, "ran": 4, "skipped": 4}
    expected = "not started: max_fail_percentage 10% exceeded (2 of 10 hosts failed)"
    assert result["r9-0"][0].result == expected


def test_the_health_budget_stops_before_a_batch_with_devices_found_down() -> None:
    down = {"r4-0", "r5-0"}
    probed: list[str] = []

    def probe(host: Host) -> bool:
        probed.append(host.name)
        return host.name not in down

    batches: list[Batch] = []
    rec = Recorder()
    runner = RollingRunner(
        serial=4, max_unhealthy_percent=20, probe=probe, batches=batches, num_workers=1
    )
    result = make_nornir(runner, fleet(10, 1)).run(rec)
    assert set(rec.starts) == set(names(4))
    assert sorted(probed) == names(8)
    reason = "not started: 2 of 10 hosts unhealthy before batch 2 (max_unhealthy_percent 20%)"
    assert {result[n][0].result for n in names(10)[4:]} == {reason}
    assert batches[1].stopped == reason and batches[1].started is None


def test_the_health_budget_counts_the_hosts_failed_so_far() -> None:
    rec = Recorder(fail={"r0-0", "r1-0"})
    runner = RollingRunner(
        serial=2, on_failure="continue", max_unhealthy_percent=20, probe=lambda h: True
    )
    result = make_nornir(runner, fleet(10, 1)).run(rec)
    assert Counter(statuses(result).values()) == {"failed": 2, "skipped": 8}


class SignalInPause(StopToken):
    """A stop token that gets SIGINT's interrupt as soon as a pause starts waiting on it."""

    def __init__(self) -> None:
        super().__init__()
        self.left: list[float | None] = []
        self.runner: RollingRunner | None = None

    def wait(self, timeout: float) -> bool:
        assert self.runner is not None
        self.left.append(self.runner.pause_left())
        self.interrupt()
        return super().wait(timeout)


def test_a_stop_during_the_pause_ends_it_at_once() -> None:
    token = SignalInPause()
    batches: list[Batch] = []
    runner = RollingRunner(serial=1, pause=600, stop=token, batches=batches)
    token.runner = runner
    result = make_nornir(runner, fleet(3, 1)).run(Recorder())
    assert len(token.left) == 1 and 590 < (token.left[0] or 0) <= 600
    assert runner.pause_left() is None
    assert statuses(result) == {"r0-0": "ran", "r1-0": "interrupted", "r2-0": "interrupted"}
    first = batches[0]
    assert first.pause_started is not None and first.pause_ended is not None
    assert (first.pause_ended - first.pause_started).total_seconds() < 60
    assert batches[1].stopped == "not started: run interrupted"  # it never started
    assert batches[1].started is None


def test_the_pause_comes_between_batches_not_after_the_last() -> None:
    batches: list[Batch] = []
    runner = RollingRunner(serial=2, pause=0.05, batches=batches)
    make_nornir(runner, fleet(4, 1)).run(Recorder())
    assert batches[0].pause_ended is not None and batches[1].pause_started is None
    assert batches[0].pause_ended <= batches[1].started  # type: ignore[operator]


def test_rolling_groups_hold_inside_each_batch() -> None:
    rec = Recorder(seconds=0.01)
    runner = RollingRunner(num_workers=10, group_by=GROUP_BY, canary=1, serial="50%")
    make_nornir(runner, fleet(3, 4)).run(rec)
    assert max(rec.peak.values()) == 1


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"gate_on": "each"}, "rolling gate_on must be batch or once, not 'each'"),
        ({"pause": -1}, "rolling pause must be seconds >= 0, not -1"),
        ({"max_failed_in_batch": -1}, "rolling max_failed_in_batch must be a whole number >= 0"),
        ({"max_unhealthy_percent": 0}, "rolling max_unhealthy_percent must be a number from 0"),
        ({"canary": "150%"}, "rolling canary '150%' is not a host count, a percentage"),
    ],
)
def test_bad_rollout_options_are_refused(options: dict[str, Any], message: str) -> None:
    with pytest.raises(RunnerOptionsError, match=message.replace("(", r"\(")):
        RollingRunner(**options)
