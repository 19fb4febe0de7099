"""The run journal, the event stream, and ``acmerun resume`` after ``kill -9``.

Real ``acmerun`` processes against a real lab process. The kills are aimed at
events, never at times: the lab's install record reaching a count drawn at
random, read from ``GET /lab/installs``.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import signal
import stat
import tempfile
import urllib.request
from collections import Counter, defaultdict
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from acmerun.acmeos.defaults import MASK
from tests.support import processes
from tests.support.fleet import fleet_runbook

# no soak and no health budget (a device rebooting at the crash is the resume's to wait for):
# these tests are about crashes
FLEET = fleet_runbook(Path(tempfile.mkdtemp(prefix="acmerun-journal-")), "0", health_budget=False)
TARGET = "9.9.1"


def get(lab: processes.LabProcess, path: str) -> Any:
    with urllib.request.urlopen(lab.url + path, timeout=30) as answer:
        return json.load(answer)


def journals() -> list[Path]:
    return sorted((Path(os.environ["ACMERUN_STATE_DIR"]) / "journal").glob("*.jsonl"))


def events_of(path: Path) -> list[dict[str, Any]]:
    """The whole lines of a journal or events file (a line a kill cut short is left out)."""
    found = []
    for line in path.read_text().splitlines():
        try:
            found.append(json.loads(line))
        except ValueError:
            continue
    return found


def by_host(events: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Each host's events, in their order."""
    found: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for event in events:
        found[event.get("host", "")].append(event)
    return dict(found)


def validator() -> jsonschema.protocols.Validator:
    schema = json.loads(resources.files("acmerun.journal").joinpath("schema.json").read_text())
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def check_lines(events: list[dict[str, Any]]) -> None:
    check = validator()
    for event in events:
        check.validate(event)


def groups(lab: processes.LabProcess) -> dict[tuple[str, str, int], list[str]]:
    found: dict[tuple[str, str, int], list[str]] = defaultdict(list)
    for h in get(lab, "/api/v1/inventory/hosts")["hosts"]:
        found[(h["site"], h["dev_type"], h["rack"])].append(h["name"])
    return found


def groups_ever_two_down(lab: processes.LabProcess) -> list[tuple[str, str]]:
    """Pairs of devices of one redundancy group whose downtime overlapped (the lab's record)."""
    downtime = get(lab, "/lab/downtime")
    overlaps = []
    for names in groups(lab).values():
        for a, b in itertools.combinations(sorted(names), 2):
            for (sa, ea), (sb, eb) in itertools.product(downtime[a], downtime[b]):
                ea = float("inf") if ea is None else ea
                eb = float("inf") if eb is None else eb
                if sa < eb and sb < ea:
                    overlaps.append((a, b))
    return overlaps


def installs(lab: processes.LabProcess) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = get(lab, "/lab/installs")["installs"]
    return found


@pytest.fixture
def small_lab(tmp_path: Path) -> Any:
    lab = processes.start_lab("--reboot-seconds", "0.05", cwd=tmp_path)
    yield lab
    processes.stop([lab])


def test_a_run_writes_its_journal_and_events_every_line_valid_and_masked(
    small_lab: processes.LabProcess, tmp_path: Path
) -> None:
    env = processes.environment(small_lab.url)
    upgrade = str(FLEET)
    run = processes.run_acmerun(
        upgrade, "-e", f"target_version={TARGET}", "--events", "ev.jsonl", "-q",
        env=env, cwd=tmp_path,
    )  # fmt: skip
    assert (run.returncode, run.stdout, run.stderr) == (0, "", "")
    [journal] = journals()
    assert stat.S_IMODE(journal.stat().st_mode) == 0o600
    assert stat.S_IMODE(journal.parent.stat().st_mode) == 0o700
    events, journaled = events_of(tmp_path / "ev.jsonl"), events_of(journal)
    # the same lines; hosts running at once may interleave differently, each host in order
    assert sorted(map(json.dumps, events)) == sorted(map(json.dumps, journaled))
    assert by_host(events) == by_host(journaled)
    check_lines(events)
    start, end = events[0], events[-1]
    hosts = start["hosts"]
    assert len(hosts) == 10 and journal.stem == start["run_id"]
    assert start["options"]["extra_vars"] == {"target_version": TARGET}
    assert (end["event"], end["exit_code"], end["totals"]["changed"]) == ("run_end", 0, 10)
    kinds = Counter(e["event"] for e in events)
    assert kinds["host_start"] == kinds["host_end"] == 10
    assert kinds["step_start"] == kinds["step_end"] == 30
    ends = [e for e in events if e["event"] == "step_end" and e["step"] == "upgrade"]
    assert {e["status"] for e in ends} == {"changed"}
    # a check run has no journal, and its events go to stdout, the recap to stderr
    check = processes.run_acmerun(upgrade, "--check", "--events", "-", env=env, cwd=tmp_path)
    assert check.returncode == 0, check.stderr
    lines = [json.loads(line) for line in check.stdout.splitlines()]
    check_lines(lines)
    assert lines[0]["check"] is True and lines[-1]["event"] == "run_end"
    assert "TOTALS" in check.stderr and "Traceback" not in check.stderr
    assert journals() == [journal]


def test_events_to_a_symbolic_link_is_exit_5_and_the_target_untouched(
    small_lab: processes.LabProcess, tmp_path: Path
) -> None:
    target = tmp_path / "precious"
    target.write_text("keep\n")
    (tmp_path / "ev.jsonl").symlink_to(target)
    run = processes.run_acmerun(
        str(FLEET), "--events", "ev.jsonl",
        env=processes.environment(small_lab.url), cwd=tmp_path,
    )  # fmt: skip
    assert (run.returncode, run.stdout) == (5, "")
    assert run.stderr == (
        "acmerun: error: --events: ev.jsonl is a symbolic link; name the file itself\n"
    )
    assert target.read_text() == "keep\n"
    assert not journals()
    assert installs(small_lab) == []


def test_resume_refuses_a_finished_run_a_changed_runbook_and_no_run_at_all(
    small_lab: processes.LabProcess, tmp_path: Path
) -> None:
    env = processes.environment(small_lab.url)
    runbook = tmp_path / "upgrade.yml"
    runbook.write_text((FLEET).read_text())
    none = processes.run_acmerun("resume", env=env, cwd=tmp_path)
    folder = Path(os.environ["ACMERUN_STATE_DIR"]) / "journal"
    assert (none.returncode, none.stdout) == (8, "")
    assert none.stderr == f"acmerun: error: no unfinished run to resume in {folder}\n"
    done = processes.run_acmerun(str(runbook), "-q", env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    [journal] = journals()
    again = processes.run_acmerun("resume", journal.stem, env=env, cwd=tmp_path)
    assert (again.returncode, again.stdout, again.stderr) == (
        8, "", f"acmerun: error: run {journal.stem} finished (exit code 0): nothing to resume\n",
    )  # fmt: skip
    # the same run cut short (its end torn away): its runbook changed since, so refused
    lines = journal.read_bytes().splitlines(keepends=True)
    journal.write_bytes(b"".join(lines[:-1]) + lines[-1][:20])
    runbook.write_text(runbook.read_text().replace("max_cpu: 90", "max_cpu: 80"))
    changed = processes.run_acmerun("resume", str(runbook), env=env, cwd=tmp_path)
    assert (changed.returncode, changed.stdout) == (8, "")
    assert changed.stderr == (
        f"acmerun: error: run {journal.stem}: {runbook} changed since the run started; "
        "nothing was run (start a new run)\n"
    )
    unknown = processes.run_acmerun("resume", "20990101T000000Z-00000000", env=env, cwd=tmp_path)
    assert (unknown.returncode, unknown.stdout) == (5, "")
    assert unknown.stderr == (
        f"acmerun: error: no journal of run 20990101T000000Z-00000000 in {folder}\n"
    )
    assert len(installs(small_lab)) == 10  # the first run's, none since


def resumes() -> int:
    return sum(
        1 for path in journals() for line in path.read_text().splitlines() if '"resume"' in line
    )


def kill_and_resume(sites: tuple[str, ...], leaves: int | None, kills: int, tmp_path: Path) -> None:
    """An upgrade of the fleet killed ``kills`` times at random install counts, resumed each time.

    Ends with every device on the target, no device installed twice, no redundancy
    group ever with two devices down, and a report naming every host.
    """
    lab = processes.start_lab(
        "--install-seconds", "0.1", "--reboot-seconds", "0.3", cwd=tmp_path,
        sites=sites, leaves=leaves, ready_timeout=120,
    )  # fmt: skip
    try:
        fleet = len(get(lab, "/lab/devices"))
        env = processes.environment(lab.url)
        draw = random.Random(os.environ.get("RESUME_SEED", "0"))
        moments = sorted(draw.sample(range(5, fleet - 5), kills))
        first = (str(FLEET), "-e", f"target_version={TARGET}", "-q")
        for n, moment in enumerate(moments):
            args = first if n == 0 else ("resume", "-q")
            run = processes.start_acmerun(*args, env=env, cwd=tmp_path)
            try:
                # a resumed run is killed once it took over (its resume line is in the journal)
                processes.wait_until(
                    lambda: resumes() >= n and len(installs(lab)) >= moment,  # noqa: B023
                    f"{moment} installs",
                    timeout=120,
                )
            finally:
                os.kill(run.pid, signal.SIGKILL)
                run.kill()
            assert run.returncode == -signal.SIGKILL
        [journal] = journals()
        last = processes.run_acmerun(
            "resume", journal.stem, "--report", "r.json", "-q", env=env, cwd=tmp_path, timeout=300
        )
        assert (last.returncode, last.stdout, last.stderr) == (0, "", "")
        report = json.loads((tmp_path / "r.json").read_text())
        assert report["run_id"] == journal.stem
        assert len(report["hosts"]) == fleet
        assert {h["status"] for h in report["hosts"].values()} <= {"changed", "ok"}
        devices = get(lab, "/lab/devices")
        assert {d["version"] for d in devices.values()} == {TARGET}
        done = installs(lab)
        assert {r["result"] for r in done} == {"installed"}
        twice = [k for k, c in Counter((r["device"], r["to"]) for r in done).items() if c > 1]
        assert twice == []
        assert len(done) == fleet
        assert groups_ever_two_down(lab) == []
        events = events_of(journal)
        check_lines(events)
        assert [e["event"] for e in events].count("resume") == kills
    finally:
        processes.stop([lab])


def test_kill_9_at_random_moments_then_resume_upgrades_every_device_once(tmp_path: Path) -> None:
    kill_and_resume(("earth",), None, 3, tmp_path)


@pytest.mark.slow
def test_kill_9_of_the_848_device_fleet_upgrade_then_resume(tmp_path: Path) -> None:
    # the whole fleet, killed 4 times (RESUME_SEED draws the moments; about 20 s unloaded)
    kill_and_resume((), None, 4, tmp_path)


def test_a_secret_extra_var_is_masked_in_the_journal_and_given_again_on_resume(
    small_lab: processes.LabProcess, tmp_path: Path
) -> None:
    from tests.support.credentials import LAB_PASSWORD

    env = processes.environment(small_lab.url)
    secret = f"device_password={LAB_PASSWORD}"
    args = (str(FLEET), "-e", f"target_version={TARGET}", "-e", secret)
    done = processes.run_acmerun(*args, "-q", env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    [journal] = journals()
    start = events_of(journal)[0]
    assert start["options"]["extra_vars"] == {"target_version": TARGET, "device_password": MASK}
    # the run's end torn away by a crash: every host is done, the run is not
    lines = journal.read_bytes().splitlines(keepends=True)
    journal.write_bytes(b"".join(lines[:-1]) + lines[-1][:30])
    missing = processes.run_acmerun("resume", env=env, cwd=tmp_path)
    assert (missing.returncode, missing.stdout) == (5, "")
    assert missing.stderr == (
        f"acmerun: error: run {journal.stem} was given a secret -e device_password: give it "
        f"again (acmerun resume {journal.stem} -e device_password=...)\n"
    )
    resumed = processes.run_acmerun(
        "resume", "-e", secret, "--report", "r.json", "-q", env=env, cwd=tmp_path
    )
    assert (resumed.returncode, resumed.stdout, resumed.stderr) == (0, "", "")
    report = json.loads((tmp_path / "r.json").read_text())
    assert len(report["hosts"]) == 10
    assert {h["status"] for h in report["hosts"].values()} == {"changed"}  # kept as they ended
    assert len(installs(small_lab)) == 10  # no host ran again
    events = events_of(journal)
    check_lines(events)
    assert [e["event"] for e in events][-2:] == ["resume", "run_end"]


def test_devices_rebooting_when_the_run_died_are_waited_for_before_their_group_goes_on(
    tmp_path: Path,
) -> None:
    # reboots long enough that the resumed run is up before the devices are, even loaded
    lab = processes.start_lab("--install-seconds", "0.2", "--reboot-seconds", "12", cwd=tmp_path)
    try:
        env = processes.environment(lab.url)
        first = processes.start_acmerun(
            str(FLEET), "-e", f"target_version={TARGET}", "-q",
            env=env, cwd=tmp_path,
        )  # fmt: skip
        try:
            # the first device installed: it and the others of the first wave reboot now
            processes.wait_until(lambda: len(installs(lab)) >= 1, "a first install")
        finally:
            first.kill()
        resumed = processes.run_acmerun(
            "resume", "--report", "r.json", "-q", env=env, cwd=tmp_path, timeout=120
        )
        assert (resumed.returncode, resumed.stdout, resumed.stderr) == (0, "", ""), resumed.stdout
        [journal] = journals()
        [resume] = [e for e in events_of(journal) if e["event"] == "resume"]
        at = datetime.fromisoformat(resume["at"]).timestamp()
        downtime = get(lab, "/lab/downtime")
        down_then = [h for h in resume["in_flight"] if any(s < at < e for s, e in downtime[h])]
        assert down_then, "no device was still rebooting when the resumed run started"
        report = json.loads((tmp_path / "r.json").read_text())
        assert {h["status"] for h in report["hosts"].values()} <= {"changed", "ok"}
        assert all(report["hosts"][h]["status"] == "ok" for h in down_then)  # nothing to do
        assert {d["version"] for d in get(lab, "/lab/devices").values()} == {TARGET}
        assert len(installs(lab)) == 10
        assert groups_ever_two_down(lab) == []
    finally:
        processes.stop([lab])
