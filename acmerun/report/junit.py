"""The JUnit XML report (``--junit FILE``): a run as test results, for CI systems.

One ``<testsuite>`` named after the runbook, inside a ``<testsuites>`` root.
Each host's innermost steps are test cases (``classname`` = host, ``name`` =
step path such as ``post-checks > get_version``). ``failed`` and ``unreachable``
become ``<failure>``, ``skipped`` becomes ``<skipped>`` with its reason, and what
an interrupted run did not finish becomes ``<error>`` (CI counts it as not
successful). A failure ``ignore_errors`` let pass is a passed test case. A host
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

from acmerun.outcome import FAILURES, HostOutcome, RunOutcome, Status
from acmerun.report.atomic import as_utc, write_atomic
from acmerun.report.steps import host_leaves, skip_reason
from acmerun.secrets import Redactor

_FAILURE = frozenset(s.value for s in FAILURES)
_NOT_RUN = (Status.SKIPPED, Status.INTERRUPTED)

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

    tests = failures = errors = skipped = 0
    for host_name in sorted(outcome.hosts):
        host = outcome.hosts[host_name]
        for case_name, kind, seconds, error in _cases(host, suite_name):
            case = ET.SubElement(
                suite,
                "testcase",
                classname=_NOT_XML.sub("\ufffd", host_name),  # a name, never masked
                name=clean(case_name),
                time=_seconds(seconds),
            )
            tests += 1
            text = clean(error or kind)
            if kind in ("ignored", "rescued"):
                # the step failed but the run went on as if it had not: the test case passes
                ET.SubElement(case, "system-out").text = f"failed ({kind}): {text}"
            elif kind in _FAILURE:
                failures += 1
                element = ET.SubElement(case, "failure", message=_message(text), type=kind)
                element.text = text
            elif kind == Status.INTERRUPTED.value:
                errors += 1
                element = ET.SubElement(case, "error", message=_message(text), type=kind)
                element.text = text
            elif kind == Status.SKIPPED.value:
                skipped += 1
                ET.SubElement(case, "skipped", message=_message(text))
            elif kind == Status.CHANGED.value:
                ET.SubElement(case, "system-out").text = "changed"

    counts = {
        "tests": str(tests),
        "failures": str(failures),
        "errors": str(errors),
        "time": _seconds(wall),
    }
    suite.attrib.update(counts)
    suite.set("skipped", str(skipped))
    suite.set("timestamp", as_utc(outcome.started).strftime("%Y-%m-%dT%H:%M:%S"))
    # the schema CI readers validate against has no ``skipped`` on ``<testsuites>``
    root = ET.Element("testsuites", {"name": suite_name, **counts})
    root.append(suite)
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, "unicode") + "\n"


def _cases(host: HostOutcome, run_name: str) -> list[tuple[str, str, float, str | None]]:
    """(test name, kind, seconds, text) for each test case of one host.

    ``kind`` is a status's name, ``ignored`` or ``rescued`` (``report.steps``); the
    text of a skipped or interrupted step is why it did not run.
    """
    cases: list[tuple[str, str, float, str | None]] = []
    for leaf in host_leaves(host):
        step = leaf.step
        text = step.error
        if step.status in _NOT_RUN:
            text = skip_reason(step, host)
        cases.append((leaf.path, leaf.kind, step.duration, text))
    kinds = {kind for _, kind, _, _ in cases}
    if not cases or (
        host.status not in (Status.OK, Status.CHANGED) and host.status.value not in kinds
    ):
        cases.append((run_name, host.status.value, host.duration if not cases else 0.0, host.error))
    return cases


def _within(path: str, parents: list[str]) -> bool:
    return any(path.startswith(f"{parent} > ") for parent in parents)


def _message(text: str) -> str:
    first = text.splitlines()[0] if text else ""
    return first if len(first) <= _MESSAGE_MAX else first[: _MESSAGE_MAX - 3] + "..."


def _seconds(value: float) -> str:
    return f"{max(0.0, value):.3f}"
