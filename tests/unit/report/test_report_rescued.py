"""A rescued step in the reports: counted, never a failure."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import datetime, timezone

from acmerun.outcome import HostOutcome, RunOutcome, Status, StepOutcome
from acmerun.report.json import report_text
from acmerun.report.junit import junit_xml


def outcome(*, later: Status = Status.OK) -> RunOutcome:
    failed = StepOutcome("verify", "acmeos.get_version", Status.FAILED, failed=True, error="no")
    rescue = StepOutcome("rescue", "rescue", Status.CHANGED, changed=True)
    rescue.steps = [StepOutcome("roll back", "acmeos.upgrade_os", Status.CHANGED, changed=True)]
    upgrade = StepOutcome("upgrade", "steps", Status.RESCUED, changed=True, error="verify: no")
    upgrade.steps = [failed, rescue]
    after = StepOutcome("after", "acmeos.get_version", later, failed=later is Status.FAILED)
    now = datetime(2026, 12, 3, tzinfo=timezone.utc)
    status = Status.FAILED if later is Status.FAILED else Status.CHANGED
    host = HostOutcome("h1", status, steps=[upgrade, after])
    return RunOutcome("rb.yml", "rb", False, now, now, {"h1": host})


def test_json_counts_rescued_steps_and_the_host_stays_changed() -> None:
    data = json.loads(report_text(outcome(), exit_code=0))
    assert data["rescued_steps"] == 1
    assert data["hosts"]["h1"]["rescued"] == 1
    assert data["totals"]["changed"] == 1 and data["totals"]["failed"] == 0
    assert outcome().failures() == []


def test_junit_reports_a_rescued_failure_as_no_failure_even_when_the_host_fails_later() -> None:
    root = ET.fromstring(junit_xml(outcome(later=Status.FAILED)))
    assert root.get("failures") == "1"
    cases = {c.get("name"): c for c in root.iter("testcase")}
    verify = cases["upgrade > verify"]
    assert verify.find("failure") is None
    assert (verify.findtext("system-out") or "").startswith("failed (rescued)")
    assert cases["after"].find("failure") is not None
    assert [p for _, p, _ in outcome(later=Status.FAILED).failures()] == ["after"]


def test_the_recap_of_a_check_run_lists_the_steps_not_run_in_check_mode() -> None:
    from acmerun.outcome import NOT_CHECKABLE
    from acmerun.report.recap import recap_lines

    now = datetime(2026, 12, 3, tzinfo=timezone.utc)
    skipped = StepOutcome("touch", "pkg.mod:touch", Status.SKIPPED, error=NOT_CHECKABLE)
    hosts = {n: HostOutcome(n, Status.OK, steps=[skipped]) for n in ("h1", "h2")}
    run = RunOutcome("rb.yml", "rb", True, now, now, hosts)
    text = [line.plain for line in recap_lines(run, color=False, width=80)]
    at = next(i for i, line in enumerate(text) if line.startswith("NOT RUN IN CHECK MODE"))
    assert text[at + 1] == "touch (2 hosts): does not support check mode"
