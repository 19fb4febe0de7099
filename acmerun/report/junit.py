"""The JUnit XML report (``--junit FILE``): a run as test results, for CI systems.

One ``<testsuite>`` named after the runbook, inside a ``<testsuites>`` root.
Each host's innermost steps are test cases (``classname`` = host, ``name`` =
step path such as ``post-checks > get_version``). ``failed`` and ``unreachable``
become ``<failure>``, ``skipped`` and ``interrupted`` become ``<skipped>``. A host
with no steps (skipped, interrupted or unreachable before its first step) gets
one test case named after the runbook, so every host is counted. The mapping
is documented in ``docs/reports.md``.
"""

from __future__ import annotations

import os
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from pathlib import Path

from acmerun.outcome import FAILURES, HostOutcome, RunOutcome, Status, leaves, rescued
from acmerun.report.atomic import as_utc, write_atomic
from acmerun.secrets import Redactor

_FAILURE = FAILURES
_SKIPPED = (Status.SKIPPED, Status.INTERRUPTED)

# characters XML 1.0 cannot carry at all, even escaped
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")

_MESSAGE_MAX = 500


class JunitReport:
    """Writes the JUnit XML report of a run to ``path``, atomically, secrets masked."""

    def __init__(self, path: str | os.PathLike[str], *, secrets: Iterable[str | None] = ()) -> None:
        self.path = Path(path)
        self.secrets = tuple(s for s in secrets if s)

    def write(self, outcome: RunOutcome) -> None:
        """Write the report; the previous file is replaced only by a complete one."""
        write_atomic(self.path, junit_xml(outcome, secrets=self.secrets))


def junit_xml(outcome: RunOutcome, *, secrets: Iterable[str | None] = ()) -> str:
    """The JUnit XML document for ``outcome``, as text."""
    redactor = Redactor(secrets)

    def clean(text: str) -> str:
        return _NOT_XML.sub("\ufffd", redactor.text(text))

    suite_name = clean(outcome.name or Path(outcome.runbook).stem)
    wall = max(0.0, (outcome.ended - outcome.started).total_seconds())
    suite = ET.Element("testsuite", name=suite_name)
    properties = ET.SubElement(suite, "properties")
    for key, value in (
        ("runbook", outcome.runbook),
        ("check", str(outcome.check).lower()),
        ("target", outcome.target),
        ("interrupted", str(outcome.interrupted).lower()),
    ):
        ET.SubElement(properties, "property", name=key, value=clean(value))

    tests = failures = skipped = 0
    for host_name in sorted(outcome.hosts):
        host = outcome.hosts[host_name]
        for case_name, status, seconds, error in _cases(host, suite_name):
            case = ET.SubElement(
                suite,
                "testcase",
                classname=_NOT_XML.sub("\ufffd", host_name),  # a name, never masked
                name=clean(case_name),
                time=_seconds(seconds),
            )
            tests += 1
            text = clean(error or status.value)
            if status is Status.RESCUED:
                # a failed step whose failure the rescue steps recovered: not a failure
                ET.SubElement(case, "system-out").text = f"failed (rescued): {text}"
            elif status in _FAILURE and host.status not in _FAILURE:
                # ignore_errors: the step failed but the host did not
                ET.SubElement(case, "system-out").text = f"{status.value} (ignored): {text}"
            elif status in _FAILURE:
                failures += 1
                element = ET.SubElement(case, "failure", message=_message(text), type=status.value)
                element.text = text
            elif status in _SKIPPED:
                skipped += 1
                ET.SubElement(case, "skipped", message=_message(text))
            elif status is Status.CHANGED:
                ET.SubElement(case, "system-out").text = "changed"

    counts = {
        "tests": str(tests),
        "failures": str(failures),
        "errors": "0",
        "skipped": str(skipped),
        "time": _seconds(wall),
    }
    suite.attrib.update(counts)
    suite.set("timestamp", as_utc(outcome.started).strftime("%Y-%m-%dT%H:%M:%S"))
    root = ET.Element("testsuites", {"name": suite_name, **counts})
    root.append(suite)
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, "unicode") + "\n"


def _cases(host: HostOutcome, run_name: str) -> list[tuple[str, Status, float, str | None]]:
    """(test name, status, seconds, error) for each test case of one host."""
    saved = rescued(host.steps)
    cases = [
        (path, Status.RESCUED if _within(path, saved) else s.status, s.duration, s.error)
        for path, s in leaves(host.steps)
    ]
    statuses = {status for _, status, _, _ in cases}
    if not cases or (
        host.status not in (Status.OK, Status.CHANGED) and host.status not in statuses
    ):
        cases.append((run_name, host.status, host.duration if not cases else 0.0, host.error))
    return cases


def _within(path: str, parents: list[str]) -> bool:
    return any(path.startswith(f"{parent} > ") for parent in parents)


def _message(text: str) -> str:
    first = text.splitlines()[0] if text else ""
    return first if len(first) <= _MESSAGE_MAX else first[: _MESSAGE_MAX - 3] + "..."


def _seconds(value: float) -> str:
    return f"{max(0.0, value):.3f}"
