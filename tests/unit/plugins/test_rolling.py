"""RollingRunner scheduling, on plain nornir with small recording tasks (no lab needed)."""

from __future__ import annotations

import itertools
import os
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from nornir import InitNornir
from nornir.core import Nornir
from nornir.core.configuration import Config
from nornir.core.inventory import Defaults, Group, Groups, Host, Hosts, Inventory, ParentGroups
from nornir.core.plugins.inventory import InventoryPluginRegister
from nornir.core.processor import Processors
from nornir.core.task import AggregatedResult, MultiResult, Result, Task

from acmerun.plugins.runners.rolling import RollingRunner
from acmerun.plugins.runners.strategy import RunnerOptionsError
from acmerun.results import host_outcome

GROUP_BY = "{{ site }}-{{ dev_type }}-{{ rack }}"


def fleet(
    groups: int, per_group: int, *, interleave: bool = False
) -> list[tuple[str, dict[str, Any]]]:
    """Hosts ``r<rack>-<n>`` in racks 0.., each rack one redundancy group ``earth-leaf-<rack>``."""
    pairs = [(g, n) for g in range(groups) for n in range(per_group)]
    if interleave:
        pairs.sort(key=lambda p: (p[1], p[0]))
    return [(f"r{g}-{n}", {"site": "earth", "dev_type": "leaf", "rack": g}) for g, n in pairs]


def make_nornir(
    runner: RollingRunner, hosts: Iterable[tuple[str, dict[str, Any]]], *processors: Any
) -> Nornir:
    defaults = Defaults()
    inventory = Inventory(
        hosts=Hosts({n: Host(name=n, data=d, defaults=defaults) for n, d in hosts}),
        groups=Groups(),
        defaults=defaults,
    )
    return Nornir(
        inventory=inventory, runner=runner, config=Config(), processors=Processors(processors)
    )


@dataclass
class Recorder:
    """Runs as the task: records when each host starts and ends, and what ran at once.

    Hosts named in ``gates`` wait there until all its parties arrived: a barrier that
    times out (a ``BrokenBarrierError``, so a failed host) when the runner does not let
    them all run at once.
    """

    __name__ = "record"

    seconds: float = 0.0
    fail: set[str] = field(default_factory=set)
    durations: dict[str, float] = field(default_factory=dict)
    gates: dict[str, threading.Barrier] = field(default_factory=dict)
    on_start: Callable[[Task], None] | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)
    starts: dict[str, float] = field(default_factory=dict)
    ends: dict[str, float] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)
    running: Counter[str] = field(default_factory=Counter)
    peak: Counter[str] = field(default_factory=Counter)
    total: int = 0
    peak_total: int = 0

    def __call__(self, task: Task) -> Result:
        host = task.host
        group = f"{host['site']}-{host['dev_type']}-{host['rack']}"
        with self.lock:
            self.starts[host.name] = time.monotonic()
            self.order.append(host.name)
            self.running[group] += 1
            self.peak[group] = max(self.peak[group], self.running[group])
            self.total += 1
            self.peak_total = max(self.peak_total, self.total)
        try:
            if self.on_start is not None:
                self.on_start(task)
            if host.name in self.gates:
                self.gates[host.name].wait()
            time.sleep(self.durations.get(host.name, self.seconds))
            if host.name in self.fail:
                raise RuntimeError(f"{host.name} broke")
            return Result(host=host, result="done")
        finally:
            with self.lock:
                self.running[group] -= 1
                self.total -= 1
                self.ends[host.name] = time.monotonic()


def gate(names: Iterable[str]) -> dict[str, threading.Barrier]:
    """One barrier for all ``names``: they must all be in flight at once to pass it."""
    names = list(names)
    barrier = threading.Barrier(len(names), timeout=10)
    return {name: barrier for name in names}


def statuses(result: AggregatedResult) -> dict[str, str]:
    """Each host's fate: ``ran``, ``failed``, or the status the runner marked it with."""
    out = {}
    for name, multi in result.items():
        outcome = host_outcome(name, multi)
        marked = outcome.status if outcome.not_run is not None else None
        out[name] = str(marked) if marked else ("failed" if multi.failed else "ran")
    return out


def test_never_more_than_max_down_per_group_in_flight() -> None:
    for max_down in (1, 2):
        first_wave = [f"r{g}-{n}" for g in range(6) for n in range(max_down)]
        rec = Recorder(seconds=0.02, gates=gate(first_wave))
        runner = RollingRunner(num_workers=20, group_by=GROUP_BY, max_down=max_down)
        result = make_nornir(runner, fleet(6, 5)).run(rec)
        assert set(statuses(result).values()) == {"ran"}
        assert set(rec.peak.values()) == {max_down}
        assert rec.peak_total == 6 * max_down


def test_num_workers_caps_hosts_in_flight_across_groups() -> None:
    rec = Recorder(seconds=0.01, gates=gate([f"r{g}-0" for g in range(4)]))
    result = make_nornir(RollingRunner(num_workers=4), fleet(40, 1)).run(rec)
    assert len(result) == 40 and not result.failed
    assert rec.peak_total == 4


def test_groups_take_turns_for_a_free_worker() -> None:
    rec = Recorder()
    for max_down in (1, 2):
        rec = Recorder()
        runner = RollingRunner(num_workers=1, group_by=GROUP_BY, max_down=max_down)
        make_nornir(runner, fleet(2, 4)).run(rec)
        assert [name.split("-")[0] for name in rec.order] == ["r0", "r1"] * 4


def test_a_failed_host_halts_only_its_group_by_default() -> None:
    rec = Recorder(seconds=0.01, fail={"r1-1"})
    runner = RollingRunner(num_workers=10, group_by=GROUP_BY)
    result = make_nornir(runner, fleet(3, 4)).run(rec)
    assert statuses(result) == {
        **{f"r0-{n}": "ran" for n in range(4)},
        "r1-0": "ran",
        "r1-1": "failed",
        "r1-2": "skipped",
        "r1-3": "skipped",
        **{f"r2-{n}": "ran" for n in range(4)},
    }
    reason = "not started: r1-1 in redundancy group earth-leaf-1 failed"
    assert result["r1-2"][0].result == reason
    assert result["r1-3"][0].result == reason
    assert not result["r1-2"].failed
    assert "r1-2" not in rec.starts


def test_halt_all_starts_no_new_host_anywhere() -> None:
    rec = Recorder(seconds=0.5, fail={"r0-0"}, durations={"r0-0": 0.01})
    runner = RollingRunner(num_workers=2, group_by=GROUP_BY, on_failure="halt_all")
    result = make_nornir(runner, fleet(4, 3, interleave=True)).run(rec)
    fates = statuses(result)
    assert set(rec.starts) == {"r0-0", "r1-0"}
    assert fates.pop("r0-0") == "failed"
    assert fates.pop("r1-0") == "ran"
    assert set(fates.values()) == {"skipped"}
    reason = "not started: r0-0 failed (on_failure: halt_all)"
    assert {result[n][0].result for n in fates} == {reason}


def test_continue_runs_every_host_despite_failures() -> None:
    rec = Recorder(fail={"r0-0", "r1-0"})
    runner = RollingRunner(num_workers=3, group_by=GROUP_BY, on_failure="continue")
    result = make_nornir(runner, fleet(2, 3)).run(rec)
    assert Counter(statuses(result).values()) == {"ran": 4, "failed": 2}


def test_no_host_starts_once_max_fail_percentage_is_exceeded() -> None:
    failing = {"r0-0": 0.01, "r1-0": 0.1, "r2-0": 0.2, "r6-0": 0.0}
    rec = Recorder(seconds=0.6, fail=set(failing), durations=failing)
    runner = RollingRunner(num_workers=4, on_failure="continue", max_fail_percentage=10)
    result = make_nornir(runner, fleet(20, 1)).run(rec)
    third_failure = sorted(rec.ends[n] for n in failing if n in rec.ends)[2]
    assert max(rec.starts.values()) < third_failure
    assert set(rec.starts) == {f"r{g}-0" for g in range(6)}
    skipped = [n for n, s in statuses(result).items() if s == "skipped"]
    assert len(skipped) == 14
    reason = "not started: max_fail_percentage 10% exceeded (3 of 20 hosts failed)"
    assert {result[n][0].result for n in skipped} == {reason}


def test_max_fail_percentage_is_a_limit_to_exceed_not_to_reach() -> None:
    rec = Recorder(fail={"r0-0", "r1-0"})
    runner = RollingRunner(num_workers=2, on_failure="continue", max_fail_percentage=10)
    result = make_nornir(runner, fleet(20, 1)).run(rec)
    assert Counter(statuses(result).values()) == {"ran": 18, "failed": 2}


def test_serial_batches_finish_before_the_next_starts() -> None:
    rec = Recorder(seconds=0.02, gates=gate([f"r{g}-0" for g in range(4, 9)]))
    runner = RollingRunner(num_workers=20, serial=[1, 3, "50%"])
    result = make_nornir(runner, fleet(10, 1)).run(rec)
    assert list(result) == [f"r{g}-0" for g in range(10)] and not result.failed
    batches = [["r0-0"], ["r1-0", "r2-0", "r3-0"], [f"r{g}-0" for g in range(4, 9)], ["r9-0"]]
    for before, after in itertools.pairwise(batches):
        assert max(rec.ends[n] for n in before) <= min(rec.starts[n] for n in after)
    assert rec.peak_total == 5


def test_serial_with_halt_group_skips_the_group_in_later_batches() -> None:
    rec = Recorder(fail={"r0-0"})
    runner = RollingRunner(num_workers=4, group_by=GROUP_BY, serial=2)
    result = make_nornir(runner, fleet(2, 3, interleave=True)).run(rec)
    assert statuses(result) == {
        "r0-0": "failed",
        "r1-0": "ran",
        "r0-1": "skipped",
        "r1-1": "ran",
        "r0-2": "skipped",
        "r1-2": "ran",
    }
    assert result["r0-2"][0].result == "not started: r0-0 in redundancy group earth-leaf-0 failed"


def test_stop_lets_hosts_in_flight_finish_and_marks_the_rest_interrupted() -> None:
    runner = RollingRunner(num_workers=6, group_by=GROUP_BY, max_down=2)

    def stop_in_first_wave(task: Task) -> None:
        if task.host.name == "r1-1":
            runner.stop()

    first_wave = {f"r{g}-{n}" for g in range(3) for n in range(2)}
    rec = Recorder(seconds=0.05, on_start=stop_in_first_wave, gates=gate(first_wave))
    result = make_nornir(runner, fleet(3, 6)).run(rec)
    assert runner.stopped
    assert set(rec.starts) == set(rec.ends) == first_wave
    fates = statuses(result)
    assert {n for n, s in fates.items() if s == "ran"} == first_wave
    interrupted = {n for n, s in fates.items() if s == "interrupted"}
    assert interrupted == {n for n, _ in fleet(3, 6)} - first_wave
    assert {result[n][0].result for n in interrupted} == {"not started: run interrupted"}


def test_stop_from_a_signal_handler_while_waiting(monkeypatch: pytest.MonkeyPatch) -> None:
    runner = RollingRunner(num_workers=2, group_by=GROUP_BY)
    previous = signal.signal(signal.SIGUSR1, lambda signum, frame: runner.stop())
    try:

        def signal_once(task: Task) -> None:
            if task.host.name == "r1-1":
                os.kill(os.getpid(), signal.SIGUSR1)

        slow_rack = {f"r0-{n}": 0.5 for n in range(4)}
        rec = Recorder(seconds=0.01, on_start=signal_once, durations=slow_rack)
        result = make_nornir(runner, fleet(2, 4)).run(rec)
    finally:
        signal.signal(signal.SIGUSR1, previous)
    assert runner.stopped
    assert set(rec.starts) == set(rec.ends) == {"r0-0", "r1-0", "r1-1"}
    assert Counter(statuses(result).values()) == {"ran": 3, "interrupted": 5}


class Marks:
    """A processor that signals once ``expected`` hosts were reported with a marked status."""

    def __init__(self, expected: int) -> None:
        self.expected = expected
        self.marked: list[str] = []
        self.all_marked = threading.Event()

    def task_started(self, task: Task) -> None: ...
    def task_completed(self, task: Task, result: AggregatedResult) -> None: ...
    def task_instance_started(self, task: Task, host: Host) -> None: ...
    def subtask_instance_started(self, task: Task, host: Host) -> None: ...
    def subtask_instance_completed(self, task: Task, host: Host, result: MultiResult) -> None: ...

    def task_instance_completed(self, task: Task, host: Host, result: MultiResult) -> None:
        if host_outcome(host.name, result).not_run is not None:
            self.marked.append(host.name)
            if len(self.marked) == self.expected:
                self.all_marked.set()


def test_hosts_that_will_never_start_are_reported_at_once_on_stop() -> None:
    runner = RollingRunner(num_workers=2, group_by=GROUP_BY)
    marks = Marks(expected=4)
    reported_in_flight: list[bool] = []

    def stop_then_watch(task: Task) -> None:
        if task.host.name == "r0-0":
            runner.stop()
            reported_in_flight.append(marks.all_marked.wait(timeout=5))

    rec = Recorder(on_start=stop_then_watch, gates=gate(["r0-0", "r1-0"]))
    make_nornir(runner, fleet(2, 3), marks).run(rec)
    assert reported_in_flight == [True]
    assert sorted(marks.marked) == ["r0-1", "r0-2", "r1-1", "r1-2"]


def test_a_stopped_runner_starts_nothing_in_later_runs() -> None:
    runner = RollingRunner()
    runner.stop()
    rec = Recorder()
    result = make_nornir(runner, fleet(2, 2)).run(rec)
    assert set(statuses(result).values()) == {"interrupted"}
    assert not rec.starts


def test_ctrl_c_in_the_calling_thread_waits_for_hosts_in_flight_then_propagates() -> None:
    def interrupt_once(task: Task) -> None:
        if task.host.name == "r1-0":
            os.kill(os.getpid(), signal.SIGINT)

    rec = Recorder(seconds=0.1, on_start=interrupt_once, gates=gate(["r0-0", "r1-0"]))
    runner = RollingRunner(num_workers=2, group_by=GROUP_BY)
    with pytest.raises(KeyboardInterrupt):
        make_nornir(runner, fleet(2, 4, interleave=True)).run(rec)
    assert set(rec.starts) == set(rec.ends) == {"r0-0", "r1-0"}


class Completions:
    """A processor counting the hosts reported completed, and failing where told to."""

    def __init__(self, explode_on: str = "") -> None:
        self.explode_on = explode_on
        self.completed: Counter[tuple[str, str]] = Counter()
        self.lock = threading.Lock()

    def task_started(self, task: Task) -> None: ...
    def task_completed(self, task: Task, result: AggregatedResult) -> None: ...
    def subtask_instance_started(self, task: Task, host: Host) -> None: ...
    def subtask_instance_completed(self, task: Task, host: Host, result: MultiResult) -> None: ...

    def task_instance_started(self, task: Task, host: Host) -> None:
        if host.name == self.explode_on:
            raise RuntimeError("processor bug")

    def task_instance_completed(self, task: Task, host: Host, result: MultiResult) -> None:
        with self.lock:
            self.completed[(host.name, result.name)] += 1


def test_every_host_is_in_the_result_in_input_order_and_counted_once() -> None:
    hosts = list(reversed(fleet(5, 4, interleave=True)))
    seen = Completions(explode_on="r3-2")
    rec = Recorder(fail={"r2-3"})
    runner = RollingRunner(num_workers=3, group_by=GROUP_BY, max_fail_percentage=20)
    result = make_nornir(runner, hosts, seen).run(rec, name="Recorder")
    assert list(result) == [n for n, _ in hosts]
    assert seen.completed == Counter({(n, "Recorder"): 1 for n, _ in hosts})
    fates = statuses(result)
    assert fates["r3-2"] == "failed"
    assert "processor bug" in result["r3-2"][0].result
    assert fates["r3-1"] == fates["r3-0"] == "skipped"


def test_group_by_sees_inherited_data_and_the_host_name() -> None:
    defaults = Defaults(data={"site": "earth"})
    racks = {g: Group(f"rack{g}", data={"rack": g}, defaults=defaults) for g in range(3)}
    hosts = {
        f"r{g}-{n}": Host(
            name=f"r{g}-{n}",
            groups=ParentGroups([racks[g]]),
            data={"dev_type": "leaf"},
            defaults=defaults,
        )
        for g in range(3)
        for n in range(3)
    }
    for template in (GROUP_BY, "{{ site }}-{{ name.split('-')[0] }}"):
        nr = Nornir(
            inventory=Inventory(hosts=Hosts(hosts), groups=Groups(), defaults=defaults),
            runner=RollingRunner(num_workers=9, group_by=template),
            config=Config(),
            processors=Processors(),
        )
        # one host of each group must be in flight at once to pass the gate
        rec = Recorder(seconds=0.02, gates=gate(f"r{g}-0" for g in range(3)))
        assert not nr.run(rec).failed
        assert set(rec.peak.values()) == {1}
        assert rec.peak_total == 3


def test_group_by_may_be_a_function_of_the_host() -> None:
    rec = Recorder(seconds=0.02)
    runner = RollingRunner(num_workers=10, group_by=lambda host: host["site"])
    make_nornir(runner, fleet(4, 1)).run(rec)
    assert rec.peak_total == 1


def test_a_host_without_the_group_data_stops_the_run_before_any_host_starts() -> None:
    hosts = [*fleet(2, 2), ("stray", {"site": "earth", "dev_type": "leaf"})]
    rec = Recorder()
    with pytest.raises(RunnerOptionsError) as err:
        make_nornir(RollingRunner(group_by=GROUP_BY), hosts).run(rec)
    assert str(err.value) == (
        "rolling group_by '{{ site }}-{{ dev_type }}-{{ rack }}' cannot name the redundancy"
        " group of host stray: 'rack' is undefined"
    )
    assert not rec.starts


def test_in_flight_counts_for_progress_displays() -> None:
    runner = RollingRunner(num_workers=10, group_by=GROUP_BY, max_down=2)
    wave = threading.Barrier(4, timeout=5)
    seen: list[tuple[int, int]] = []

    def look_when_all_started(task: Task) -> None:
        if task.host.name.endswith(("-0", "-1")):
            wave.wait()
            seen.append((runner.hosts_in_flight(), runner.groups_in_flight()))
            wave.wait()

    make_nornir(runner, fleet(2, 3)).run(Recorder(on_start=look_when_all_started))
    assert seen == [(4, 2)] * 4
    assert (runner.hosts_in_flight(), runner.groups_in_flight()) == (0, 0)


class TinyInventory:
    """An inventory plugin for the plain-nornir test: the ``fleet(3, 4)`` hosts."""

    def load(self) -> Inventory:
        defaults = Defaults()
        hosts = {n: Host(name=n, data=d, defaults=defaults) for n, d in fleet(3, 4)}
        return Inventory(hosts=Hosts(hosts), groups=Groups(), defaults=defaults)


@pytest.fixture
def tiny_inventory() -> Iterator[str]:
    InventoryPluginRegister.register("RollingTestInventory", TinyInventory)
    yield "RollingTestInventory"
    InventoryPluginRegister.deregister("RollingTestInventory")


def test_plain_nornir_finds_the_runner_by_its_entry_point(tiny_inventory: str) -> None:
    nr = InitNornir(
        runner={"plugin": "RollingRunner", "options": {"num_workers": 10, "group_by": GROUP_BY}},
        inventory={"plugin": tiny_inventory},
        logging={"enabled": False},
    )
    assert isinstance(nr.runner, RollingRunner)
    rec = Recorder(seconds=0.02, gates=gate(f"r{g}-0" for g in range(3)))
    result = nr.run(rec)
    assert len(result) == 12 and not result.failed
    assert set(rec.peak.values()) == {1} and rec.peak_total == 3


def test_thousands_of_groups_and_ten_thousand_hosts() -> None:
    rec = Recorder()
    runner = RollingRunner(num_workers=50, group_by=GROUP_BY, max_down=2)
    hosts = [(f"h{i}", {"site": "s", "dev_type": "leaf", "rack": i % 3000}) for i in range(10_000)]
    result = make_nornir(runner, hosts).run(rec)
    assert len(result) == 10_000 and not result.failed
    assert len(rec.starts) == 10_000
    assert max(rec.peak.values()) <= 2
