"""The template sandbox, and passwords scrubbed from what tasks raise, return and log."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from acmerun.errors import RunbookInvalid
from acmerun.runbook import load_runbook_text
from tests.support import processes
from tests.support.credentials import LAB_PASSWORD, LAB_USERNAME, WRONG_PASSWORD

RUNBOOKS = Path(__file__).parent / "runbooks"

ESCAPES = [
    ("''.__class__.__mro__", "__class__"),
    ("cycler.__init__.__globals__", "__init__"),
    ("lipsum.__globals__['os']", "__globals__"),
    ("self.__init__", "__init__"),
    ("range.__class__", "__class__"),
    ("x|attr('__class__')", "__class__"),
    ("x['__class__']", "__class__"),
    ("joiner.__call__.__self__", "__call__"),
    ("namespace.__init__.__globals__.__builtins__", "__init__"),
    ("_private", "_private"),
]


@pytest.mark.parametrize(("expression", "name"), ESCAPES, ids=[e for e, _ in ESCAPES])
@pytest.mark.parametrize("where", ["args", "when", "assert", "group_by"])
def test_reaching_for_internals_is_refused_at_validation(
    expression: str, name: str, where: str
) -> None:
    step = "  - task: acmeos.upgrade_os\n    args: {version: '5.4.1'}\n"
    strategy = ""
    if where == "args":
        step = f'  - task: acmeos.upgrade_os\n    args: {{version: "{{{{ {expression} }}}}"}}\n'
    elif where in ("when", "assert"):
        step += f'    {where}: "{expression}"\n'
    else:
        strategy = f'strategy: {{rolling: {{group_by: "{{{{ {expression} }}}}"}}}}\n'
    with pytest.raises(RunbookInvalid) as invalid:
        load_runbook_text(f"name: escape\n{strategy}steps:\n{step}", "escape.yml")
    refused = [e for e in invalid.value.errors if "starts with '_'" in e]
    assert all(re.match(r"escape\.yml:\d+:\d+: ", line) for line in refused), refused
    message = f"'{name}' starts with '_': templates may not reach for internal names or attributes"
    assert any(line.endswith(message) for line in refused), refused


@pytest.fixture
def fleet(tmp_path: Path) -> Iterator[processes.LabProcess]:
    lab = processes.start_lab(cwd=tmp_path, leaves=2)
    try:
        yield lab
    finally:
        processes.stop([lab])


def test_the_sandbox_refuses_internals_named_at_run_time(
    fleet: processes.LabProcess, tmp_path: Path
) -> None:
    """The attribute's name comes from -e: validation cannot see it, the sandbox refuses it."""
    run = processes.run_acmerun(
        str(RUNBOOKS / "sandbox.yml"),
        "-e",
        "field=__class__",
        "--report",
        "r.json",
        env=processes.environment(fleet.url),
        cwd=tmp_path,
    )
    assert run.returncode == 2, run.stderr
    assert "Traceback" not in run.stderr
    report = json.loads((tmp_path / "r.json").read_text())
    assert len(report["hosts"]) == 8
    for host in report["hosts"].values():
        assert host["status"] == "failed"
        version, reach = host["steps"]
        assert version["status"] == "ok"
        assert reach["status"] == "failed"
        assert reach["error"] == (
            "when: SecurityError: access to attribute '__class__' of 'str' object is unsafe."
        )
    harmless = processes.run_acmerun(
        str(RUNBOOKS / "sandbox.yml"),
        "-e",
        "field=upper",
        env=processes.environment(fleet.url),
        cwd=tmp_path,
    )
    assert harmless.returncode == 0, harmless.stdout + harmless.stderr


def test_a_password_in_task_errors_results_and_logs_is_masked(
    fleet: processes.LabProcess, tmp_path: Path
) -> None:
    """The secret scan (every output and file) runs after this test too; here: what shows."""
    run = processes.run_acmerun(
        str(RUNBOOKS / "leaky.yml"),
        "--report",
        "r.json",
        "--junit",
        "r.xml",
        "--log-file",
        "run.log",
        env=processes.environment(fleet.url),
        cwd=tmp_path,
    )
    assert run.returncode == 2, run.stdout + run.stderr
    report = json.loads((tmp_path / "r.json").read_text())
    edge = report["hosts"]["edge00.earth"]
    echo, leak = edge["steps"]
    assert echo["result"] == {
        "said": "welcome netops:********",
        "********": 1,
        "quoted": "'********'",
    }
    assert leak["error"] == "RuntimeError: device edge00.earth refused login netops:********"
    assert "refused login netops:********" in run.stdout
    assert "netops/********" in (tmp_path / "run.log").read_text()
    assert "netops:********" in (tmp_path / "r.xml").read_text()
    for name, host in report["hosts"].items():
        assert host["status"] == ("failed" if name.startswith("edge") else "ok")


def test_the_secret_scan_finds_a_password_wherever_it_is_written(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    elsewhere = tmp_path_factory.mktemp("leaked")  # not this test's folder: it is scanned too
    (elsewhere / "state" / "crash").mkdir(parents=True)
    (elsewhere / "state" / "crash" / "crash-1.log").write_bytes(b"x" + b"Wr0ng-pa55-w0rd\n")
    scan = processes.SecretScan([LAB_PASSWORD, WRONG_PASSWORD], [elsewhere])
    scan.record("stderr of acmerun", f"error: {LAB_PASSWORD}")
    leaks = scan.leaks()
    assert len(leaks) == 2
    assert leaks[0] == f"stderr of acmerun holds {LAB_PASSWORD!r}"
    assert leaks[1].endswith(f"crash-1.log holds {WRONG_PASSWORD!r}")
    with pytest.raises(AssertionError, match="a password was written out"):
        scan.verify()


EARTH = {
    *(f"edge0{i}.earth" for i in range(2)),
    *(f"spine0{i}.earth" for i in range(4)),
    *(f"leaf0{i}.earth" for i in range(2)),
}


def _reports(tmp_path: Path) -> tuple[dict[str, object], str]:
    report = json.loads((tmp_path / "r.json").read_text())
    return report, (tmp_path / "r.xml").read_text()


@pytest.mark.parametrize("password", ["e", "earth", "00", "."])
def test_a_short_password_merges_no_hosts(password: str, tmp_path: Path) -> None:
    """A password that is part of every host name masks no host name, field or key."""
    lab = processes.start_lab(cwd=tmp_path, leaves=2, password=password)
    try:
        run = processes.run_acmerun(
            str(RUNBOOKS / "audit.yml"),
            "--report",
            "r.json",
            "--junit",
            "r.xml",
            env=processes.environment(lab.url, password=password),
            cwd=tmp_path,
        )
    finally:
        processes.stop([lab])
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Traceback" not in run.stderr
    report, junit = _reports(tmp_path)
    hosts = report["hosts"]
    assert isinstance(hosts, dict)
    assert set(hosts) == EARTH
    assert {"acmerun_version", "runbook", "totals", "exit_code"} <= set(report)
    for host in hosts.values():
        assert host["status"] == "ok"
        assert [step["name"] for step in host["steps"]] == ["version", "resources"]
    assert set(re.findall(r'classname="([^"]*)"', junit)) == EARTH
    for name in EARTH:
        assert re.search(rf"^{re.escape(name)} +: ok=2 ", run.stdout, re.M), run.stdout


#: passwords a careless library shows escaped, quoted or with its whitespace collapsed
AWKWARD = ['pa ss"wo\\rd\t x', "tab\there  two", "quote'd\\n"]


@pytest.mark.parametrize("password", AWKWARD, ids=["quote-backslash", "whitespace", "repr"])
def test_a_password_is_masked_in_every_form_it_is_shown(
    password: str, tmp_path: Path, secret_scan: processes.SecretScan
) -> None:
    """As is, repr-escaped, JSON-escaped and whitespace-collapsed: none of them is written."""
    forms = {repr(password)[1:-1], json.dumps(password)[1:-1], " ".join(password.split())}
    secret_scan.secrets.extend(forms - {password} | {password})
    lab = processes.start_lab(cwd=tmp_path, leaves=2, password=password)
    try:
        run = processes.run_acmerun(
            str(RUNBOOKS / "leaky.yml"),
            "--report",
            "r.json",
            "--junit",
            "r.xml",
            "--log-file",
            "run.log",
            env=processes.environment(lab.url, password=password),
            cwd=tmp_path,
        )
    finally:
        processes.stop([lab])
    assert run.returncode == 2, run.stdout + run.stderr
    report, _ = _reports(tmp_path)
    hosts = report["hosts"]
    assert isinstance(hosts, dict)
    echo, leak = hosts["edge00.earth"]["steps"]
    quoted = echo["result"].pop("quoted")
    assert quoted in ("'********'", '"********"')
    assert echo["result"] == {"said": "welcome netops:********", "********": 1}
    assert leak["error"] == "RuntimeError: device edge00.earth refused login netops:********"
    assert "refused login netops:********" in run.stdout
    assert f"{LAB_USERNAME}/********" in (tmp_path / "run.log").read_text()


def test_a_urls_password_is_masked_though_the_run_does_not_know_it(
    fleet: processes.LabProcess, tmp_path: Path, secret_scan: processes.SecretScan
) -> None:
    secret_scan.secrets.append("Url-pa55-w0rd")
    run = processes.run_acmerun(
        str(RUNBOOKS / "url-userinfo.yml"),
        "--report",
        "r.json",
        "--junit",
        "r.xml",
        env=processes.environment(fleet.url),
        cwd=tmp_path,
    )
    assert run.returncode == 2, run.stdout + run.stderr
    said = (
        "RuntimeError: GET http://netops:********@10.0.0.1/api failed; "
        "retried https://ops:********@10.0.0.2"
    )
    assert f"edge00.earth | fetch | {said}" in run.stdout
    report, junit = _reports(tmp_path)
    hosts = report["hosts"]
    assert isinstance(hosts, dict)
    assert hosts["edge00.earth"]["steps"][0]["error"] == said
    assert "http://netops:********@10.0.0.1" in junit


RAW_CONTROLS = ("\x1b", "\r", "\x07", "\x9b", "\u202e")


def test_device_text_reaches_the_terminal_with_its_control_characters_escaped(
    fleet: processes.LabProcess, tmp_path: Path
) -> None:
    """Nothing a device says can redraw the terminal or forge a recap line; the report keeps it."""
    run = processes.run_acmerun(
        str(RUNBOOKS / "device-text.yml"),
        "--report",
        "r.json",
        env=processes.environment(fleet.url),
        cwd=tmp_path,
    )
    assert run.returncode == 2, run.stdout + run.stderr
    shown = run.stdout + run.stderr
    assert [c for c in RAW_CONTROLS if c in shown] == []
    lines = run.stdout.splitlines()
    assert not any(line.startswith("edge99.earth") for line in lines), run.stdout
    failure = next(line for line in lines if line.startswith("edge00.earth | "))
    assert failure == (
        "edge00.earth | say \\x1b[2J | RuntimeError: \\x1b[2J\\x1b[31mforged line\\x07 "
        "edge99.earth : ok=1 changed=0 failed=0\\x9b31m\\u202eend"
    )
    assert "RECAP: a device that answers with control characters \\x1b[5m" in run.stdout
    report = json.loads((tmp_path / "r.json").read_text())
    error = report["hosts"]["edge00.earth"]["steps"][0]["error"]
    assert error.startswith("RuntimeError: \x1b[2J\x1b[31mforged line\x07")
