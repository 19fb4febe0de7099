"""Progress: the recorder under concurrent nornir workers, and the live display."""

from __future__ import annotations

import io
import threading

from nornir.core import Nornir
from nornir.core.inventory import Defaults, Groups, Host, Hosts, Inventory
from nornir.core.task import Result, Task
from nornir.plugins.runners import ThreadedRunner
from rich.console import Console

from acmerun.outcome import STATUSES, HostOutcome, NotRun, NotRunKind, Status, StepOutcome
from acmerun.plugins.processors.progress import ProgressRecorder
from acmerun.report.progress import HostLines, LiveProgress
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
    assert "ETA " in out
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
    assert "25/100 hosts 0:00:00 ETA 0:00:00" in lines[0]
    assert lines[1] == "ok=20 unreachable=5  in flight: 0 hosts"


def test_a_rollout_pause_is_counted_down_on_the_progress_line() -> None:
    recorder = ProgressRecorder(total=848)
    for i in range(43):
        recorder.host_done(f"h{i}", Status.CHANGED)
    left: list[float | None] = [599.4]
    console = Console(record=True, width=80, color_system=None, file=io.StringIO())
    display = LiveProgress(recorder, console, lambda: 0, title="t", pause_left=lambda: left[0])
    console.print(display.render())
    assert (
        console.export_text().splitlines()[1]
        == "ok=0 changed=43  pause 0:09:59 before the next batch"
    )
    left[0] = None  # the next batch started
    console.print(display.render())
    assert console.export_text().splitlines()[1] == "ok=0 changed=43  in flight: 0 hosts, 0 groups"


def test_at_80_columns_the_eta_and_the_counts_are_kept() -> None:
    recorder = ProgressRecorder(total=10106)
    for i in range(5300):
        recorder.host_done(f"h{i}", [Status.OK, Status.CHANGED, Status.FAILED][i % 3])
    for i in range(4):
        recorder.host_started(f"x{i}")
    for width in (80, 60):
        console = Console(record=True, width=width, color_system=None, file=io.StringIO())
        title = "upgrade-every-site-of-the-fleet-to-acmeos-5.4.1"
        console.print(LiveProgress(recorder, console, lambda: 1234, title=title).render())
        head, counts = console.export_text().splitlines()
        assert len(head) < width and len(counts) < width, (head, counts)
        assert head.endswith("5300/10106 hosts 0:00:00 ETA 0:00:00"), head
        full = "ok=1767 changed=1767 failed=1766  in flight: 4 hosts, 1234 groups"
        assert counts == (full if width == 80 else full[: width - 2] + "…")
    assert head.startswith("upgrade-ev… ━")  # at 60 columns the title gave way first


def _host_lines(host: HostOutcome, verbosity: int) -> list[str]:
    buffer = io.StringIO()
    console = Console(file=buffer, width=80, color_system=None)
    HostLines(console, verbosity=verbosity, secrets=["hunter2"], color=False)(host)
    return buffer.getvalue().splitlines()


def test_host_lines_say_failures_and_with_v_every_step_masked() -> None:
    host = HostOutcome(
        "leaf002.earth",
        Status.FAILED,
        [
            StepOutcome("pre-check", "t", Status.OK, duration=0.5, result={"pw": "hunter2"}),
            StepOutcome("clean up", "t", Status.FAILED, error="gone (ignored)", duration=0.1),
            StepOutcome("upgrade", "t", Status.FAILED, error="login hunter2\x1b[2J\nmore"),
            StepOutcome("post", "t", Status.SKIPPED, error="not run: upgrade failed"),
        ],
    )
    assert _host_lines(host, 0) == [
        "failed: leaf002.earth | upgrade | login ********\\x1b[2J",
        "    more",
    ]
    assert _host_lines(host, 1) == [
        "ok: leaf002.earth | pre-check (0.5s)",
        "ignored: leaf002.earth | clean up (0.1s) | gone (ignored)",
        "failed: leaf002.earth | upgrade (0.0s) | login ********\\x1b[2J",
        "    more",
        "skipped: leaf002.earth | post (0.0s) | not run: upgrade failed",
    ]
    assert _host_lines(host, 2)[1] == '    result: {"pw": "********"}'
    assert _host_lines(HostOutcome("ok.earth", Status.OK, host.steps[:1]), 0) == []


def test_a_log_steps_message_is_shown_at_v_masked() -> None:
    message = "edge00.earth: rolled back to 5.3.9 (enable hunter2)"
    host = HostOutcome(
        "edge00.earth", Status.OK, [StepOutcome("outcome", "log", Status.OK, result=message)]
    )
    assert _host_lines(host, 0) == []
    assert _host_lines(host, 1) == [
        "ok: edge00.earth | outcome (0.0s) | edge00.earth: rolled back to 5.3.9 (enable ********)"
    ]
