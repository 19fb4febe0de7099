"""Hostile templates and misbehaving services through the real ``python -m acmerun`` process.

No template makes acmerun ignore SIGTERM, no inventory service makes it hang or fill
its memory, and a host whose address cannot be used is reported unreachable.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from acmerun.acmeos import defaults
from tests.support import processes
from tests.support.slow_servers import FloodServer, TrickleServer, json_answer

#: a render that runs to the budget's time cap: short operations, a great many of them
SLOW_RENDER = (
    "{% set big = 'y' * 900000 %}{% for a in range(1000) %}{% for b in range(1000) %}"
    "{% set x = big.count('yy') %}{% endfor %}{% endfor %}"
)
ECHO = "tests.unit.runbook.tasks_for_tests:echo"


def write_runbook(tmp_path: Path, steps: str) -> Path:
    path = tmp_path / "bounds.yml"
    path.write_text(
        "name: bounds\n"
        "inventory: {plugin: ACMEInventory, options: {filter_sites: [earth]}}\n"
        f"steps:\n{steps}"
    )
    return path


def no_traceback(out: str, err: str) -> None:
    assert "Traceback" not in out + err, err


def test_sigterm_while_templates_render_ends_the_run_within_2s(lab: Any, tmp_path: Path) -> None:
    marks = tmp_path / "marks"
    marks.mkdir()
    steps = (
        "  - name: started\n"
        "    task: tests.reliability.bounded_tasks:mark\n"
        f"    args: {{folder: {json.dumps(str(marks))}}}\n"
    ) + "".join(
        f"  - name: render {i}\n"
        f"    task: {ECHO}\n"
        f"    args: {{value: {json.dumps(SLOW_RENDER)}}}\n"
        "    ignore_errors: true\n"
        for i in range(60)
    )
    path = write_runbook(tmp_path, steps)
    run = processes.start_acmerun(
        str(path), "--report", "r.json", env=processes.environment(lab.url), cwd=tmp_path
    )
    try:
        processes.wait_until_caught(run, signal.SIGTERM)
        waited = time.monotonic()
        while not any(marks.iterdir()):  # a host has begun: its templates render from now on
            assert run.proc.poll() is None, run.communicate()
            assert time.monotonic() - waited < 60, "no host started"
            time.sleep(0.01)
        run.send_signal(signal.SIGTERM)
        signalled = time.monotonic()
        out, err = run.communicate(timeout=30)
        took = time.monotonic() - signalled
    finally:
        run.kill()
    no_traceback(out, err)
    assert run.returncode == 99, err
    assert took < 2.0, f"acmerun took {took:.2f}s to stop after SIGTERM"
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["exit_code"] == 99
    assert len(report["hosts"]) == 106


def test_a_huge_power_from_extra_vars_fails_every_host_at_once(lab: Any, tmp_path: Path) -> None:
    path = write_runbook(
        tmp_path, f"  - name: power\n    task: {ECHO}\n    args: {{value: '{{{{ 9**n }}}}'}}\n"
    )
    started = time.monotonic()
    run = processes.run_acmerun(
        str(path),
        "-e",
        "n=99999999",
        "--report",
        "r.json",
        env=processes.environment(lab.url),
        cwd=tmp_path,
        timeout=60,
    )
    assert time.monotonic() - started < 30
    no_traceback(run.stdout, run.stderr)
    assert run.returncode == 2, run.stderr
    report = json.loads((tmp_path / "r.json").read_text())
    errors = {host["error"] for host in report["hosts"].values()}
    assert errors == {
        "power: args: RenderBudgetExceeded: template '{{ 9**n }}' exceeds the render budget:"
        " 9 ** 99999999 would have 3.2e8 bits (limit 100000)"
    }


def run_measured(args: list[str], env: dict[str, str], cwd: Path) -> tuple[int, str, str, int]:
    """``python -m acmerun ARGS``: exit code, stdout, stderr, peak RSS in KiB (from wait4)."""
    out, err = cwd / "stdout.txt", cwd / "stderr.txt"
    with out.open("wb") as stdout, err.open("wb") as stderr:
        proc = subprocess.Popen(
            [sys.executable, "-m", "acmerun", *args], env=env, cwd=cwd, stdout=stdout, stderr=stderr
        )
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
    texts = out.read_text(), err.read_text()
    out.unlink()
    err.unlink()
    processes.record(f"stdout of acmerun {' '.join(args)}", texts[0])
    processes.record(f"stderr of acmerun {' '.join(args)}", texts[1])
    return proc.returncode, texts[0], texts[1], int(usage.ru_maxrss)


def test_a_300_mb_inventory_is_refused_early_with_bounded_memory(tmp_path: Path) -> None:
    path = write_runbook(tmp_path, f"  - task: {ECHO}\n")
    with TrickleServer(json_answer({"code": "down"}, "503 Down"), interval=0, fast=10**6) as down:
        code, _, err, baseline = run_measured(
            [str(path)], processes.environment(down.url), tmp_path
        )
    assert code == 5, err
    size = 300 * 1024 * 1024
    with FloodServer(size=size, announce=False) as flood:
        started = time.monotonic()
        code, out, err, peak = run_measured([str(path)], processes.environment(flood.url), tmp_path)
        took = time.monotonic() - started
        sent = flood.sent
    no_traceback(out, err)
    assert code == 5, err
    assert err.splitlines() == [
        f"acmerun: error: inventory service at {flood.url} sent too much: the answer is larger"
        f" than {defaults.MAX_INVENTORY_BYTES} bytes (the limit)"
    ] or err.strip().endswith(f"larger than {defaults.MAX_INVENTORY_BYTES} bytes (the limit)")
    assert len(err.strip().splitlines()) == 1, err
    assert sent < size / 2  # it hung up long before the end
    growth = (peak - baseline) * 1024
    assert growth < size / 2, f"peak RSS grew by {growth / 2**20:.0f} MiB"
    assert took < 60


def test_an_inventory_url_that_cannot_be_read_is_exit_5_without_its_password(
    tmp_path: Path,
) -> None:
    # the error line is checked here; the target line on stdout is the run's (not scanned)
    secret = "inv-Pa55-w0rd"
    path = write_runbook(tmp_path, f"  - task: {ECHO}\n")
    for url, reason in (
        (f"http://netops:{secret}@[::1", "it cannot be read (Invalid IPv6 URL)"),
        (f"http://netops:{secret}@inv:99999", "it cannot be read (Port out of range 0-65535)"),
    ):
        run = processes.run_acmerun(
            str(path), env=processes.environment(url), cwd=tmp_path, timeout=60
        )
        no_traceback(run.stdout, run.stderr)
        assert run.returncode == 5, run.stderr
        (line,) = run.stderr.strip().splitlines()
        shown = url.replace(f"netops:{secret}", "********")
        assert line.endswith(f"inventory URL {shown!r} cannot be used: {reason}"), line
        assert secret not in run.stderr


def test_hosts_with_addresses_that_cannot_be_used_are_unreachable_with_the_reason(
    lab: Any, tmp_path: Path
) -> None:
    with urllib.request.urlopen(lab.url + defaults.INVENTORY_HOSTS_PATH, timeout=10) as answer:
        good = json.load(answer)["hosts"][0]
    bad = [
        {**good, "name": "bad-name.earth", "hostname": "edge 99.earth"},
        {**good, "name": "bad-port.earth", "port": 99999},
        {**good, "name": "bad-ipv6.earth", "hostname": "[::1"},
    ]
    inventory = json_answer({"hosts": [good, *bad]})
    path = write_runbook(tmp_path, "  - task: acmeos.get_version\n")
    with TrickleServer(inventory, interval=0, fast=len(inventory)) as service:
        env = processes.environment(lab.url, ACME_INVENTORY_URL=service.url)
        run = processes.run_acmerun(str(path), "--report", "r.json", env=env, cwd=tmp_path)
    no_traceback(run.stdout, run.stderr)
    assert run.returncode == 3, run.stderr
    hosts = json.loads((tmp_path / "r.json").read_text())["hosts"]
    assert hosts[good["name"]]["status"] == "ok"
    assert {
        name: (h["status"], h["error"]) for name, h in hosts.items() if name != good["name"]
    } == {
        "bad-name.earth": (
            "unreachable",
            "acmeos.get_version: bad device address:"
            " hostname 'edge 99.earth' is neither an IP address nor a DNS name",
        ),
        "bad-port.earth": (
            "unreachable",
            "acmeos.get_version: bad device address: port 99999 is not a TCP port (1-65535)",
        ),
        "bad-ipv6.earth": (
            "unreachable",
            "acmeos.get_version: bad device address:"
            " hostname '[::1' is neither an IP address nor a DNS name",
        ),
    }
