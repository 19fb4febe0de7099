"""The JUnit XML report: parses, counts right, maps statuses the way CI systems expect."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from acmerun.outcome import HostOutcome, RunOutcome, Status, StepOutcome
from acmerun.report.junit import JunitReport, junit_xml

SCHEMA = Path(__file__).parents[2] / "data" / "junit-10.xsd"


def cases(root: ET.Element) -> dict[tuple[str, str], ET.Element]:
    return {(c.get("classname", ""), c.get("name", "")): c for c in root.iter("testcase")}


def test_junit_file_parses_with_the_right_counts(outcome: RunOutcome, tmp_path: Path) -> None:
    path = tmp_path / "junit.xml"
    JunitReport(path).write(outcome)
    root = ET.parse(path).getroot()
    assert root.tag == "testsuites"
    suites = root.findall("testsuite")
    assert len(suites) == 1
    suite = suites[0]
    assert suite.get("name") == "Upgrade earth to AcmeOS 5.4.1"
    found = cases(root)
    # spine01 3 leaves, leaf001 4, leaf002 2, edge00 1, edge01 (no steps) 1
    assert len(found) == 11
    for element in (suite, root):
        assert element.get("tests") == "11"
        assert element.get("failures") == "2"
        assert element.get("errors") == "0"
        assert element.get("time") == "75.500"
    assert suite.get("skipped") == "2"
    assert root.get("skipped") is None  # not an attribute of <testsuites> in the schema
    assert suite.get("timestamp") == "2026-11-24T15:17:00"
    # the counts are those of the elements, as CI parsers recount them
    assert len(suite.findall("testcase/failure")) == 2
    assert len(suite.findall("testcase/skipped")) == 2
    assert len(suite.findall("testcase/error")) == 0
    assert all(float(c.get("time", "x")) >= 0 for c in found.values())


def test_junit_testcases_per_host_and_step(outcome: RunOutcome) -> None:
    found = cases(ET.fromstring(junit_xml(outcome)))
    assert list(found)[:4] == [
        ("edge00.earth", "pre-check"),
        ("edge01.earth", "Upgrade earth to AcmeOS 5.4.1"),
        ("leaf001.earth", "pre-check"),
        ("leaf001.earth", "upgrade"),
    ]
    assert ("spine01.earth", "post-checks > get version") in found
    assert found[("spine01.earth", "upgrade")].get("time") == "30.250"

    unreachable = found[("edge00.earth", "pre-check")].find("failure")
    assert unreachable is not None
    assert unreachable.get("type") == "unreachable"
    assert unreachable.get("message") == "cannot connect to 127.0.0.1:40001"

    failed = found[("leaf002.earth", "upgrade")].find("failure")
    assert failed is not None
    assert failed.get("type") == "failed"
    assert failed.get("message") == "install of 5.4.1 failed: disk full"
    assert failed.text == "install of 5.4.1 failed: disk full\nfree: 0 MiB"

    skipped_host = found[("edge01.earth", "Upgrade earth to AcmeOS 5.4.1")].find("skipped")
    assert skipped_host is not None
    assert skipped_host.get("message", "").startswith("group earth-edge-r0 halted")
    reboot = found[("leaf001.earth", "post-checks > reboot")].find("skipped")
    assert reboot is not None
    assert reboot.get("message") == "when false: reboot_needed"
    assert list(found[("leaf001.earth", "upgrade")]) == []


def test_hosts_without_steps_get_one_testcase_each(outcome: RunOutcome) -> None:
    outcome.hosts = {
        "a": HostOutcome("a", Status.INTERRUPTED, error="run interrupted"),
        "b": HostOutcome("b", Status.UNREACHABLE, error="connection refused"),
        "c": HostOutcome("c", Status.OK),
    }
    root = ET.fromstring(junit_xml(outcome))
    found = cases(root)
    assert sorted(found) == [(h, "Upgrade earth to AcmeOS 5.4.1") for h in "abc"]
    assert found[("a", "Upgrade earth to AcmeOS 5.4.1")].find("error") is not None
    assert found[("b", "Upgrade earth to AcmeOS 5.4.1")].find("failure") is not None
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("3", "1", "1")


def test_interrupted_host_with_finished_steps_is_still_marked(outcome: RunOutcome) -> None:
    outcome.hosts["x"] = HostOutcome(
        "x", Status.INTERRUPTED, [StepOutcome("pre-check", "t", Status.OK)], error="interrupted"
    )
    found = cases(ET.fromstring(junit_xml(outcome)))
    assert list(found[("x", "pre-check")]) == []
    error = found[("x", "Upgrade earth to AcmeOS 5.4.1")].find("error")
    assert error is not None
    assert error.get("type") == "interrupted"


def test_ignored_failure_does_not_fail_ci(outcome: RunOutcome) -> None:
    outcome.hosts["y"] = HostOutcome(
        "y",
        Status.OK,
        [StepOutcome("optional", "t", Status.FAILED, failed=True, error="nope")],
    )
    found = cases(ET.fromstring(junit_xml(outcome)))
    case = found[("y", "optional")]
    assert case.find("failure") is None
    assert case.findtext("system-out") == "failed (ignored): nope"


def test_text_xml_cannot_carry_and_secrets(outcome: RunOutcome) -> None:
    outcome.hosts["leaf002.earth"].steps[1].error = "bad \x00\x1b[31mbyte\x07 <&> pw=hunter2"
    text = junit_xml(outcome, secrets=["hunter2"])
    assert "hunter2" not in text
    failure = cases(ET.fromstring(text))[("leaf002.earth", "upgrade")].find("failure")
    assert failure is not None
    assert failure.get("message") == "bad \ufffd\ufffd[31mbyte\ufffd <&> pw=********"


def test_an_ignored_failure_passes_when_its_host_fails_later(outcome: RunOutcome) -> None:
    outcome.hosts["leaf002.earth"].steps.insert(
        1, StepOutcome("clean up", "t", Status.FAILED, failed=True, error="no image (ignored)")
    )
    root = ET.fromstring(junit_xml(outcome))
    case = cases(root)[("leaf002.earth", "clean up")]
    assert case.find("failure") is None
    assert case.findtext("system-out") == "failed (ignored): no image (ignored)"
    assert root.get("failures") == "2"


def test_an_interrupted_run_shows_what_did_not_finish_as_errors(outcome: RunOutcome) -> None:
    outcome.interrupted = True
    outcome.hosts["leaf001.earth"] = HostOutcome(
        "leaf001.earth",
        Status.INTERRUPTED,
        [
            StepOutcome("pre-check", "t", Status.OK),
            StepOutcome("upgrade", "t", Status.INTERRUPTED, error="not run: run interrupted"),
        ],
        error="interrupted before every step ran",
    )
    outcome.hosts["edge01.earth"] = HostOutcome(
        "edge01.earth", Status.INTERRUPTED, error="not started: run interrupted"
    )
    root = ET.fromstring(junit_xml(outcome))
    found = cases(root)
    upgrade = found[("leaf001.earth", "upgrade")].find("error")
    assert upgrade is not None and upgrade.get("message") == "not run: run interrupted"
    host = found[("edge01.earth", "Upgrade earth to AcmeOS 5.4.1")].find("error")
    assert host is not None and host.get("message") == "not started: run interrupted"
    assert root.get("errors") == "2"
    assert ("leaf001.earth", "Upgrade earth to AcmeOS 5.4.1") not in found


def test_every_file_validates_against_the_jenkins_junit_schema(outcome: RunOutcome) -> None:
    from lxml import etree

    schema = etree.XMLSchema(etree.parse(str(SCHEMA)))
    outcome.interrupted = True
    outcome.hosts["x"] = HostOutcome("x", Status.INTERRUPTED, error="not started: run interrupted")
    outcome.hosts["y"] = HostOutcome(
        "y", Status.OK, [StepOutcome("probe", "t", Status.FAILED, error="no (ignored)")]
    )
    document = etree.fromstring(junit_xml(outcome).encode("utf-8"))
    assert schema.validate(document), schema.error_log
    # the schema is strict: what the previous format wrote is refused
    document.set("skipped", "1")
    assert not schema.validate(document)
