"""The HTML report's page: what it holds, how it scales, and the records it reads."""

from __future__ import annotations

import json
import os
import re
from datetime import timedelta
from pathlib import Path

from acmerun.errors import ExitCode
from acmerun.outcome import Downtime, HostOutcome, RunOutcome, Status, StepOutcome
from acmerun.report.html import HtmlReport, render
from acmerun.report.html_tables import PAGE
from acmerun.report.html_timeline import MAX_LANES
from acmerun.report.json import outcome_from_report, report_data
from tests.unit.report.conftest import STARTED, mixed, step


def timed(outcome: RunOutcome, group: bool = True) -> RunOutcome:
    """``outcome`` with start and end times (one after another) and groups."""
    at = outcome.started
    for name in sorted(outcome.hosts):
        host = outcome.hosts[name]
        host.group = f"rack-{name[:4]}" if group else ""
        if host.not_run is None and host.steps:
            host.started, host.ended = at, at + timedelta(seconds=host.duration)
            at += timedelta(seconds=1)
    return outcome


def bars(page: str) -> list[str]:
    return re.findall(r'<rect class="bar [a-z]+" data-host="([^"]*)"', page)


def test_the_new_fields_round_trip_and_reach_the_json_report() -> None:
    outcome = timed(mixed())
    spine = outcome.hosts["spine01.earth"]
    down = Downtime(STARTED + timedelta(seconds=2), STARTED + timedelta(seconds=20.5))
    spine.steps[1].down = down
    data = report_data(outcome, exit_code=2)
    record = data["hosts"]["spine01.earth"]
    assert record["group"] == "rack-spin"
    assert record["started"] == "2026-11-24T15:17:03.000Z"
    assert record["steps"][1]["down"] == {
        "start": "2026-11-24T15:17:02.000Z",
        "end": "2026-11-24T15:17:20.500Z",
    }
    back, code = outcome_from_report(json.loads(json.dumps(data)))
    assert code == 2
    again = back.hosts["spine01.earth"]
    assert (again.started, again.ended, again.group) == (spine.started, spine.ended, spine.group)
    assert again.steps[1].down == down and down.seconds == 18.5
    assert HostOutcome.from_dict("h", {"status": "ok"}).started is None  # an older report


def test_the_page_holds_the_summary_the_failures_and_every_host(tmp_path: Path) -> None:
    outcome = timed(mixed())
    report = HtmlReport(tmp_path / "run.html", exit_code=ExitCode.HOST_FAILED)
    report.write(outcome)
    page = (tmp_path / "run.html").read_text()
    assert os.stat(tmp_path / "run.html").st_mode & 0o777 == 0o640
    for status, count in outcome.totals().items():
        assert f'data-status="{status}">{count}</span>' in page
    assert '<span id="exit-code">2</span> (a host failed)' in page
    assert not re.search(r"<script|<link|\b(src|href)=", page)  # nothing to run or fetch
    for host, _, error in outcome.failures():
        assert f'<td class="host">{host}</td>' in page
        assert error.split("\n")[0] in page
    assert sorted(bars(page)) == sorted(n for n, h in outcome.hosts.items() if h.started)
    assert "1 not run" in page  # edge01, skipped with its group
    for name in outcome.hosts:
        assert f'data-host="{name}"' in page


def test_every_string_is_masked_then_escaped() -> None:
    outcome = timed(mixed())
    evil = HostOutcome(
        "<script>x</script>",
        Status.FAILED,
        [step("login", Status.FAILED, error="pw hunter22 & <b>bold</b>")],
        duration=1.0,
        group="g<1>",
    )
    outcome.hosts[evil.name] = evil
    outcome.target = "target: inventory https://ops:hunter22@inv"
    page = render(outcome, exit_code=2, secrets=["hunter22"])
    assert "hunter22" not in page
    assert "<script>x" not in page and "&lt;script&gt;x&lt;/script&gt;" in page
    assert "pw ******** &amp; &lt;b&gt;bold&lt;/b&gt;" in page
    assert "https://ops:********@inv" in page


def test_a_secret_is_masked_before_a_long_lane_label_is_cut() -> None:
    outcome = timed(mixed())
    secret = "S3cretS3cretS3cret"
    for host in outcome.hosts.values():
        host.group = "x" * 20 + secret
    page = render(outcome, exit_code=2, secrets=[secret])
    assert "S3cr" not in page  # not even the part of it a cut label would keep
    assert "x" * 20 + "********" in page


def test_without_groups_lanes_are_worker_slots() -> None:
    outcome = timed(mixed(), group=False)
    for host in outcome.hosts.values():  # all at once: one slot each
        if host.started is not None:
            host.started, host.ended = STARTED, STARTED + timedelta(seconds=5)
    page = render(outcome, exit_code=2)
    ran = sum(1 for h in outcome.hosts.values() if h.started)
    assert f'data-lanes="{ran + 1}" data-lane-kind="worker slot"' in page  # + "not run"
    assert ">not run<" in page


def fleet(hosts: int, groups: int) -> RunOutcome:
    outcome = RunOutcome("r.yml", "fleet", False, STARTED, STARTED + timedelta(seconds=600), {})
    for i in range(hosts):
        start = STARTED + timedelta(seconds=i % 500)
        upgrade = StepOutcome("upgrade", "acmeos.upgrade_os", Status.CHANGED, changed=True)
        outcome.hosts[f"h{i:05d}"] = HostOutcome(
            f"h{i:05d}",
            Status.FAILED if i % 97 == 0 else Status.CHANGED,
            [upgrade],
            duration=60.0,
            started=start,
            ended=start + timedelta(seconds=60),
            group=f"g{i % groups:04d}",
        )
    return outcome


def test_many_lanes_become_density_bands_and_many_hosts_pages() -> None:
    outcome = fleet(3000, 1000)
    page = render(outcome, exit_code=2)
    assert 'data-lanes="1000"' in page
    assert not bars(page)
    assert page.count('<text class="lane"') == MAX_LANES  # 5 groups a band
    assert 'class="band-fail"' in page
    assert page.count('<details class="page"') == 3000 // PAGE
    assert page.count('<details class="page" open>') == 1
    assert page.count('<details class="host') == 3000
    assert len(page) < 3000 * 600  # a few hundred bytes a host


def test_a_rollouts_batches_are_marked_on_the_timeline_and_round_trip() -> None:
    from acmerun.rollout import Batch

    outcome = timed(mixed())
    names = sorted(outcome.hosts)
    outcome.batches = [
        Batch(1, tuple(names[:1]), canary=True, started=STARTED, ended=STARTED, gate="passed"),
        Batch(
            2,
            tuple(names[1:]),
            started=STARTED + timedelta(seconds=1),
            ended=STARTED + timedelta(seconds=3),
            gate="failed",
            gate_message="leaf002.earth: hunter2 neighbors down",
        ),
        Batch(3, (), stopped="not started: the gate after batch 2 failed"),
    ]
    page = render(outcome, exit_code=2, secrets=["hunter2"])
    assert re.findall(r'<g class="batch" data-batch="(\d)" data-gate="(\w*)"', page) == [
        ("1", "passed"),
        ("2", "failed"),
    ]
    assert "batch 2: " in page and "hunter2" not in page
    data = report_data(outcome, exit_code=2, secrets=["hunter2"])
    assert data["batches"][1]["gate_message"] == "leaf002.earth: ******** neighbors down"
    back, _ = outcome_from_report(json.loads(json.dumps(report_data(outcome, exit_code=2))))
    assert back.batches == outcome.batches
