"""Bad input through the real ``python -m acmerun`` process: located lines, one clear line."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support import processes
from tests.support.fuzz import damaged_texts, mutated_runbooks

RUNBOOK = Path(__file__).parent / "runbooks" / "dead.yml"


@settings(
    max_examples=8,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(raw=st.one_of(mutated_runbooks().map(str.encode), damaged_texts()))
def test_a_broken_runbook_is_exit_4_with_located_lines(raw: bytes, tmp_path: Path) -> None:
    runbook = tmp_path / "fuzzed.yml"
    runbook.write_bytes(raw)
    env = processes.environment()
    run = processes.run_acmerun(str(runbook), "--list-steps", env=env, cwd=tmp_path, timeout=60)
    assert "Traceback" not in run.stderr + run.stdout
    if run.returncode == 0:
        return
    assert run.returncode == 4, run.stderr
    *errors, summary = run.stderr.splitlines()
    assert errors and summary.startswith("acmerun: error: runbook invalid (")
    for line in errors:
        assert re.match(rf"{re.escape(str(runbook))}:\d+:\d+: ", line), line


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["-e", "@{dir}"], 5, "-e '@{dir}': cannot read {dir}: Is a directory"),
        (["-e", "@{binary}"], 5, "-e '@{binary}': {binary} is not UTF-8 text"),
        (["-e", "{{a: ["], 5, "-e '{{a: [': "),
        (["-e", "1x=2"], 5, "-e '1x=2': "),
        (["--lab", "--limit", "@{dir}"], 5, "--limit @{dir}: cannot read it: Is a directory"),
        (["--lab", "--limit", "!"], 5, "--limit has an empty pattern after '!' or '&'"),
        (["--lab", "--limit", ""], 5, "--limit is empty"),
        (["--config", "{dir}"], 5, ""),
        (["--config", "{binary}"], 5, ""),
    ],
    ids=[
        "e-dir",
        "e-binary",
        "e-broken",
        "e-name",
        "limit-dir",
        "limit-bang",
        "limit-empty",
        "config-dir",
        "config-binary",
    ],
)
def test_bad_options_are_one_clear_line(
    args: list[str], code: int, message: str, tmp_path: Path
) -> None:
    names = {"dir": str(tmp_path / "a-folder"), "binary": str(tmp_path / "bytes.yml")}
    (tmp_path / "a-folder").mkdir()
    (tmp_path / "bytes.yml").write_bytes(b"a: \xff\xfe\n")
    argv = [a.format(**names) for a in args]
    run = processes.run_acmerun(
        str(RUNBOOK), *argv, env=processes.environment(), cwd=tmp_path, timeout=60
    )
    assert run.returncode == code, run.stderr
    (line,) = run.stderr.splitlines()
    assert line.startswith("acmerun: error: " + message.format(**names)), line
    assert len(run.stdout.splitlines()) <= 1  # at most the target line: no host was run


def test_an_unreadable_runbook_is_one_clear_line(tmp_path: Path) -> None:
    folder = tmp_path / "folder.yml"
    folder.mkdir()
    run = processes.run_acmerun(
        "validate", str(tmp_path), env=processes.environment(), cwd=tmp_path
    )
    assert run.returncode == 5
    assert run.stderr == f"acmerun: error: no runbook (*.yml, *.yaml) in {tmp_path}\n"
    link = tmp_path / "gone.yml"
    link.symlink_to(tmp_path / "nowhere.yml")
    run = processes.run_acmerun(str(link), env=processes.environment(), cwd=tmp_path)
    assert run.returncode == 5
    (line,) = run.stderr.splitlines()
    assert line.startswith("acmerun: error: ") and "gone.yml" in line and "does not exist" in line


DEEP = "[" * 1000 + "]" * 1000

#: (id, arguments, extra environment, the start of the one error line); {tmp} is the test's
#: folder, which holds bytes.bin (not UTF-8), deep.yml, tagged.yml, cfg-*.yml and a-file
INPUT_ERRORS = [
    ("cluster-bogus", ["--cluster", "bogus"], {}, "--cluster 'bogus' is neither local:N"),
    ("cluster-ipv6", ["--cluster", "tcp://[::1"], {}, "--cluster 'tcp://[::1' is neither"),
    ("cluster-port", ["--cluster", "host:99999"], {}, "--cluster 'host:99999' is neither"),
    ("cluster-scheme", ["--cluster", "http://h:1"], {}, "--cluster 'http://h:1' is neither"),
    ("shard-by-alone", ["--shard-by", "site"], {}, "--shard-by only has a meaning with"),
    ("limit-binary", ["--limit", "@{tmp}/bytes.bin"], {}, "--limit @{tmp}/bytes.bin: not UTF-8"),
    ("limit-bang-typo", ["--limit", "!edge00.eart"], {}, "--limit pattern '!edge00.eart'"),
    ("limit-amp-typo", ["--limit", "&edge00.eart"], {}, "--limit pattern '&edge00.eart'"),
    ("e-check_mode", ["-e", "check_mode=true"], {}, "-e 'check_mode=true': sets 'check_mode'"),
    ("e-hostname", ["-e", '{{"inventory_hostname": 1}}'], {}, "-e '{{\"inventory_hostname\": 1}}'"),
    ("e-loop-file", ["-e", "@{tmp}/loop.yml"], {}, "-e '@{tmp}/loop.yml': {tmp}/loop.yml sets"),
    ("e-tag", ["-e", "a=[!!set {{b}}]"], {}, "-e 'a=[!!set {{b}}]': the value is not valid"),
    ("e-tag-inline", ["-e", "{{a: !!python/name:os.system}}"], {}, "-e '{{a: !!python/name"),
    ("e-tag-file", ["-e", "@{tmp}/tagged.yml"], {}, "-e '@{tmp}/tagged.yml': {tmp}/tagged.yml:1"),
    ("e-deep", ["-e", f"a={DEEP}"], {}, "-e 'a=[[["),
    ("e-deep-json", ["-e", f'{{{{"a": {DEEP}}}}}'], {}, '-e \'{{"a": [[['),
    ("e-deep-file", ["-e", "@{tmp}/deep.yml"], {}, "-e '@{tmp}/deep.yml': {tmp}/deep.yml:1:"),
    ("e-missing", ["-e", "@{tmp}/nowhere.yml"], {}, "-e '@{tmp}/nowhere.yml': cannot read"),
    ("config-tag", ["--config", "{tmp}/cfg-tag.yml"], {}, "{tmp}/cfg-tag.yml:1:10: workers: "),
    ("config-deep", ["--config", "{tmp}/deep.yml"], {}, "{tmp}/deep.yml:1:"),
    ("config-type", ["--config", "{tmp}/cfg-type.yml"], {}, "{tmp}/cfg-type.yml:1:10: workers"),
    ("config-binary", ["--config", "{tmp}/bytes.bin"], {}, "config {tmp}/bytes.bin: not UTF-8"),
    ("url-ipv6", [], {"ACME_INVENTORY_URL": "http://[::1"}, "inventory URL 'http://[::1'"),
    ("url-port", [], {"ACME_INVENTORY_URL": "http://h:99999"}, "inventory URL 'http://h:99999'"),
    ("log-full", ["--log-file", "/dev/full"], {}, "--log-file /dev/full: cannot write to it"),
    ("log-under-file", ["--log-file", "{tmp}/a-file/run.log"], {}, "--log-file {tmp}/a-file/"),
    (
        "state-is-file",
        ["--lab"],
        {"ACMERUN_STATE_DIR": "{tmp}/a-file"},
        "state directory {tmp}/a-file: ",
    ),
    (
        "state-dev-full",
        ["--lab"],
        {"ACMERUN_STATE_DIR": "/dev/full"},
        "state directory /dev/full: ",
    ),
    (
        "xdg-is-file",
        ["--lab"],
        {"XDG_STATE_HOME": "{tmp}/a-file", "ACMERUN_STATE_DIR": ""},
        "state directory {tmp}/a-file/acmerun: ",
    ),
]


@pytest.mark.parametrize(
    ("args", "extra_env", "message"),
    [case[1:] for case in INPUT_ERRORS],
    ids=[case[0] for case in INPUT_ERRORS],
)
def test_every_input_error_is_exit_5_with_one_line(
    args: list[str], extra_env: dict[str, str], message: str, tmp_path: Path
) -> None:
    (tmp_path / "bytes.bin").write_bytes(b"edge00.earth\n\xd0\xff\n")
    (tmp_path / "deep.yml").write_text(f"workers: {DEEP}\n")
    (tmp_path / "tagged.yml").write_text("a: !!python/object/apply:os.system [ls]\n")
    (tmp_path / "loop.yml").write_text("loop: 1\n")
    (tmp_path / "cfg-tag.yml").write_text("workers: !!python/name:os.system ''\n")
    (tmp_path / "cfg-type.yml").write_text("workers: ten\n")
    (tmp_path / "a-file").write_text("")
    tmp = str(tmp_path)
    env = processes.environment(**{k: v.format(tmp=tmp) for k, v in extra_env.items()})
    if "ACMERUN_STATE_DIR" not in extra_env and "ACME_INVENTORY_URL" not in extra_env:
        args = ["--lab", *args]
    argv = [a.format(tmp=tmp) for a in args]
    run = processes.run_acmerun(
        str(RUNBOOK), "--list-hosts", *argv, env=env, cwd=tmp_path, timeout=60
    )
    assert "Traceback" not in run.stderr + run.stdout
    assert run.returncode == 5, run.stderr
    (line,) = run.stderr.splitlines()
    assert line.startswith("acmerun: error: " + message.format(tmp=tmp)), line
    assert run.stdout == ""


def _signal_bits(pid: int) -> tuple[int, int]:
    """The signals ``pid`` catches (SigCgt) and ignores (SigIgn); (0, 0) once it is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0, 0
    fields = dict(line.split(":\t", 1) for line in status.splitlines() if ":\t" in line)
    return int(fields.get("SigCgt", "0"), 16), int(fields.get("SigIgn", "0"), 16)


def _wait_for_acmerun_code(pid: int) -> None:
    """Until acmerun's own code runs: its handler for SIGTERM is in place (or the process ended).

    Before that the interpreter is starting (``site``, its ``.pth`` files): a signal there is
    Python's own business, reported by Python before any acmerun code runs.
    """
    sigterm = 1 << (signal.SIGTERM - 1)
    while Path(f"/proc/{pid}").exists():
        caught, _ = _signal_bits(pid)
        if caught & sigterm:
            return


@pytest.mark.parametrize("attempt", range(30))
def test_a_signal_at_any_early_moment_is_exit_99_and_one_line(attempt: int, tmp_path: Path) -> None:
    sig = signal.SIGINT if attempt % 2 == 0 else signal.SIGTERM
    env = processes.environment()
    proc = subprocess.Popen(
        [sys.executable, "-m", "acmerun", str(RUNBOOK), "--lab", "--list-hosts"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        _wait_for_acmerun_code(proc.pid)
        # a different moment each attempt, from the first instant of acmerun's code to the
        # middle of its imports: a number of looks at the process, never a sleep
        for _ in range(attempt * attempt * 8):
            _signal_bits(proc.pid)
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    stderr = err.decode()
    processes.record("stderr of an interrupted acmerun", stderr)
    assert "Traceback" not in stderr and "Exception ignored" not in stderr, stderr
    assert proc.returncode == 99, (proc.returncode, stderr)
    assert stderr.strip() == "acmerun: error: interrupted", stderr
