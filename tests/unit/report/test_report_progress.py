"""Progress: the recorder under concurrent nornir workers, and the live display."""

from __future__ import annotations

import io
import threading

from nornir.core import Nornir
from nornir.core.inventory import Defaults, Groups, Host, Hosts, Inventory
from nornir.core.task import Result, Task
from nornir.plugins.runners import ThreadedRunner
from rich.console import Console

from acmerun.outcome import STATUSES, HostOutcome, NotRun, NotRunKind, Status
from acmerun.plugins.processors.progress import ProgressRecorder
from acmerun.report.progress import LiveProgress
from acmerun.results import attach, not_run
from tests.support.terminal import Screen


def nornir(count: int, workers: int = 20) -> Nornir:
    hosts = Hosts({f"dev{i:03d}": Host(name=f"dev{i:03d}") for i in range(count)})
    inventory = Inventory(hosts=hosts, groups=Groups(), defaults=Defaults())
    return Nornir(inventory=inventory, runner=ThreadedRunner(num_workers=workers))


def step(task: Task) -> Result:
    return Result(host=task.host, changed=True)


def host_task(task: Task) -> Result:
    """Each host's top-level task ends differently, according to its number."""
    n = int(task.host.name[3:])
    task.run(task=step)  # a subtask: must not be counted as a host
    kind = n % 5
    if kind == 0:
        outcome = HostOutcome(task.host.name, Status.UNREACHABLE)
        return attach(Result(host=task.host, failed=True), outcome)
    if kind == 1:
        return not_run(task.host, NotRun(NotRunKind.HALTED_GROUP, host="h", group="g"))
    if kind == 2:
        raise RuntimeError("boom")
    if kind == 3:
        return Result(host=task.host, changed=True)
    return Result(host=task.host)


def test_recorder_counts_hosts_from_a_threaded_nornir_run() -> None:
    nr = nornir(200)
    recorder = ProgressRecorder(total=200)
    nr.with_processors([recorder]).run(task=host_task)
    snap = recorder.snapshot()
    assert (snap.total, snap.started, snap.done, snap.in_flight) == (200, 200, 200, 0)
    assert snap.counts == {
        Status.OK: 40,
        Status.CHANGED: 40,
        Status.FAILED: 40,
        Status.UNREACHABLE: 40,
        Status.SKIPPED: 40,
        Status.INTERRUPTED: 0,
    }


def test_recorder_under_many_threads() -> None:
    recorder = ProgressRecorder(total=64 * 250)
    statuses = list(STATUSES)
    barrier = threading.Barrier(64)

    def worker(w: int) -> None:
        barrier.wait()
        for i in range(250):
            name = f"w{w}-h{i}"
            recorder.host_started(name)
            recorder.snapshot()
            recorder.host_done(name, statuses[i % len(statuses)])
        # a host reported twice counts once, with its last status
        recorder.host_done(f"w{w}-h0", Status.INTERRUPTED)

    threads = [threading.Thread(target=worker, args=(w,)) for w in range(64)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    snap = recorder.snapshot()
    assert (snap.started, snap.done, snap.in_flight) == (16000, 16000, 0)
    assert sum(snap.counts.values()) == 16000
    assert snap.counts[Status.OK] == 64 * 42 - 64
    assert snap.counts[Status.INTERRUPTED] == 64 * 41 + 64


def test_in_flight_and_hosts_never_started() -> None:
    recorder = ProgressRecorder(total=4)
    recorder.host_started("a")
    recorder.host_started("b")
    recorder.host_done("c", Status.SKIPPED)  # a runner's mark: never started
    snap = recorder.snapshot()
    assert (snap.started, snap.done, snap.in_flight) == (2, 1, 2)


def test_disabled_live_progress_writes_nothing() -> None:
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=True, width=100)
    recorder = ProgressRecorder(total=3)
    with LiveProgress(recorder, console, lambda: 1, enabled=False, refresh_per_second=50):
        recorder.host_started("a")
        recorder.host_done("a", Status.OK)
    assert buffer.getvalue() == ""


def test_live_progress_shows_the_run_then_disappears() -> None:
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=True, width=120, color_system=None)
    recorder = ProgressRecorder(total=10)
    with LiveProgress(recorder, console, lambda: 3, title="upgrade-earth", refresh_per_second=50):
        for i in range(4):
            recorder.host_started(f"h{i}")
        recorder.host_done("h0", Status.CHANGED)
        recorder.host_done("h1", Status.FAILED)
    out = buffer.getvalue()
    # its last picture shows the run as it ended
    assert "upgrade-earth" in out
    assert "2/10 hosts" in out
    assert "changed=1" in out
    assert "failed=1" in out
    assert "in flight: 2 hosts, 3 groups" in out
    assert "ETA 0:00:" in out
    # then it is gone from the terminal: what is printed next starts at its top line
    console.print("RECAP: upgrade-earth")
    assert Screen(width=120).feed(buffer.getvalue()).lines() == ["RECAP: upgrade-earth"]


def test_render_to_a_recording_console() -> None:
    recorder = ProgressRecorder(total=100)
    for i in range(25):
        recorder.host_done(f"h{i}", Status.OK if i % 5 else Status.UNREACHABLE)

    def broken_groups() -> int:
        raise RuntimeError("runner gone")

    console = Console(record=True, width=120, color_system=None, file=io.StringIO())
    console.print(LiveProgress(recorder, console, broken_groups, title="t").render())
    lines = console.export_text().splitlines()
    assert lines[0].startswith("t ━")
    assert "25/100 hosts  0:00:00" in lines[0]
    assert lines[1] == (
        "ok=20 changed=0 failed=0 unreachable=5 skipped=0 interrupted=0  in flight: 0 hosts"
    )
