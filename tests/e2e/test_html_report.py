"""The HTML report as a person sees it: a real lab run, opened in headless Chromium.

The lab has a dead device, installs that fail and a step whose errors are
ignored; what the page shows is checked against the run's own JSON report.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from acmerun.report.json import outcome_from_report
from tests.support import processes
from tests.support.browser import chromium, url
from tests.support.credentials import LAB_PASSWORD

DATA = Path(__file__).resolve().parents[2] / "tests" / "data"
SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "images" / "report.png"


@pytest.fixture
def lab_url(tmp_path: Path) -> Iterator[str]:
    """A lab of earth: edge00 dead, one install in three failing, quick reboots."""
    lab = processes.start_lab(
        "--dead",
        "edge00.*",
        "--install-failure-rate",
        "0.3",
        "--install-seconds",
        "0.1",
        "--reboot-seconds",
        "0.3",
        cwd=tmp_path,
        leaves=4,
    )
    yield lab.url
    processes.stop([lab])


def run_with_html(lab_url: str, cwd: Path) -> tuple[Any, dict[str, Any]]:
    shutil.copyfile(DATA / "html.yml", cwd / "upgrade.yml")
    run = processes.run_acmerun(
        "upgrade.yml",
        "--report",
        "run.json",
        "--html",
        "run.html",
        env=processes.environment(lab_url),
        cwd=cwd,
    )
    assert run.returncode in (2, 3), run.stdout + run.stderr
    assert "Traceback" not in run.stderr
    report = json.loads((cwd / "run.json").read_text())
    assert report["exit_code"] == run.returncode
    return run, report


def visible(driver: Any, selector: str) -> str:
    from selenium.webdriver.common.by import By

    return str(driver.find_element(By.CSS_SELECTOR, selector).text)


def test_a_lab_run_seen_in_chromium(lab_url: str, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    run, report = run_with_html(lab_url, tmp_path)
    page = tmp_path / "run.html"
    assert os.stat(page).st_mode & 0o777 == 0o640
    text = page.read_text()
    assert LAB_PASSWORD not in text + run.stdout + run.stderr
    outcome, _ = outcome_from_report(report)
    failures = outcome.failures()
    assert any(error.endswith("(ignored)") for _, _, error in failures)
    assert any(not error.endswith("(ignored)") for _, _, error in failures)
    ran = {n for n, h in report["hosts"].items() if h["started"] is not None}
    downs = [s for h in report["hosts"].values() for s in h["steps"] if s.get("down") is not None]
    assert downs, "an upgrade that waited for its reboot"

    with chromium() as driver:
        driver.get(url(page))
        # one file: nothing fetched, nothing run
        assert driver.execute_script("return performance.getEntriesByType('resource').length") == 0
        assert driver.execute_script("return document.scripts.length") == 0
        assert LAB_PASSWORD not in driver.page_source

        # the totals shown are the JSON report's
        for status, count in report["totals"].items():
            shown = visible(driver, f'.count[data-status="{status}"]')
            assert shown == str(count), status
        assert visible(driver, '.count[data-status="hosts"]') == str(len(report["hosts"]))
        assert visible(driver, "#exit-code") == str(report["exit_code"])

        # every failed step: its host, step and error, as visible text
        listed = visible(driver, "#failures")
        for host, path, error in failures:
            assert f"{host} {path} {error}" in listed.replace("\n", " "), (host, path)

        # the timeline: one bar per host that ran, each named; the reboots drawn over them
        bars = driver.find_elements(By.CSS_SELECTOR, "svg.timeline rect.bar")
        assert sorted(b.get_attribute("data-host") for b in bars) == sorted(ran)
        assert all(b.is_displayed() and b.size["width"] > 0 for b in bars)
        assert len(driver.find_elements(By.CSS_SELECTOR, "svg.timeline rect.down")) == len(downs)
        lanes = driver.find_element(By.CSS_SELECTOR, "svg.timeline").get_attribute("data-lanes")
        groups = {h["group"] for h in report["hosts"].values()}
        assert lanes == str(len(groups))

        # a host's steps: collapsed until opened, the ignored step marked
        name = next(h for h, _, error in failures if error.endswith("(ignored)"))
        host = driver.find_element(By.CSS_SELECTOR, f'details.host[data-host="{name}"]')
        ignored = host.find_element(By.CSS_SELECTOR, "li.ignored")
        assert not ignored.is_displayed()
        host.find_element(By.TAG_NAME, "summary").click()
        assert ignored.is_displayed()
        assert "ignored" in ignored.text and "spare capacity" in ignored.text

        shot = tmp_path / "report.png"
        driver.set_window_size(1280, 900)
        driver.execute_script("window.scrollTo(0, 0)")
        assert driver.save_screenshot(str(shot))
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    if os.environ.get("ACMERUN_UPDATE_SCREENSHOT") == "1":
        shutil.copyfile(shot, SCREENSHOT)


def test_a_device_that_never_came_back_is_drawn_down_until_the_upgrade_gave_up(
    tmp_path: Path,
) -> None:
    lab = processes.start_lab("--stuck", "leaf00.*", "--reboot-seconds", "0.1", cwd=tmp_path)
    try:
        run = processes.run_acmerun(
            str(DATA / "html.yml"),
            "--limit",
            "leaf00.earth",
            "--report",
            "run.json",
            "--html",
            "run.html",
            env=processes.environment(lab.url),
            cwd=tmp_path,
        )
    finally:
        processes.stop([lab])
    assert run.returncode == 2, run.stdout + run.stderr
    host = json.loads((tmp_path / "run.json").read_text())["hosts"]["leaf00.earth"]
    (upgrade,) = [s for s in host["steps"] if s["name"] == "upgrade"]
    assert upgrade["status"] == "failed" and upgrade["down"] is not None, upgrade
    with chromium() as driver:
        from selenium.webdriver.common.by import By

        driver.get(url(tmp_path / "run.html"))
        (bar,) = driver.find_elements(By.CSS_SELECTOR, "svg.timeline rect.bar.failed")
        (down,) = driver.find_elements(By.CSS_SELECTOR, "svg.timeline rect.down")
        # the device was down from the install to the end of the upgrade: most of the bar
        assert down.size["width"] > bar.size["width"] / 2
        assert "leaf00.earth" in visible(driver, "#failures")


def test_show_renders_a_past_run_as_the_run_did(lab_url: str, tmp_path: Path) -> None:
    run_with_html(lab_url, tmp_path)
    shown = processes.run_acmerun(
        "show", "run.json", "--html", "shown.html", env=processes.environment(), cwd=tmp_path
    )
    assert (shown.returncode, shown.stdout, shown.stderr) == (0, "", "")
    with chromium() as driver:
        seen = {}
        for name in ("run.html", "shown.html"):
            driver.get(url(tmp_path / name))
            seen[name] = [visible(driver, s) for s in ("#summary", "#failures", "#hosts")]
    assert seen["shown.html"] == seen["run.html"]


def crafted_report(tmp_path: Path, host: str, error: str, scan: Any = None) -> Path:
    report = {
        "acmerun_version": "0.1.0",
        "runbook": {"path": "r.yml", "name": "<b>bold</b> runbook"},
        "check": False,
        "target": "target: inventory https://ops:" + LAB_PASSWORD + "@inv.example",
        "started": "2026-11-24T15:17:00.000Z",
        "ended": "2026-11-24T15:17:10.000Z",
        "duration": 10.0,
        "interrupted": False,
        "exit_code": 2,
        "totals": {"ok": 0, "changed": 0, "failed": 1, "unreachable": 0, "skipped": 0},
        "hosts": {
            host: {
                "status": "failed",
                "changed": False,
                "error": error,
                "duration": 2.0,
                "started": "2026-11-24T15:17:01.000Z",
                "ended": "2026-11-24T15:17:03.000Z",
                "group": "",
                "steps": [],
            }
        },
    }
    path = tmp_path / "crafted.json"
    path.write_text(json.dumps(report))
    if scan is not None:
        scan.allow(path)  # the input holds the password on purpose
    return path


def test_markup_and_passwords_in_a_report_render_as_masked_text(
    tmp_path: Path, secret_scan: Any
) -> None:
    host = "<script>document.title='owned'</script>"
    error = f"login as admin/{LAB_PASSWORD} refused <img src=x onerror=alert(1)>"
    crafted_report(tmp_path, host, error, secret_scan)
    shown = processes.run_acmerun(
        "show",
        "crafted.json",
        "--html",
        "crafted.html",
        env=processes.environment(ACMEOS_PASSWORD=LAB_PASSWORD),
        cwd=tmp_path,
    )
    assert shown.returncode == 0, shown.stderr
    assert LAB_PASSWORD not in (tmp_path / "crafted.html").read_text()
    with chromium() as driver:
        driver.get(url(tmp_path / "crafted.html"))
        assert driver.execute_script("return document.scripts.length") == 0
        assert driver.execute_script("return document.images.length") == 0
        assert "owned" not in driver.title
        listed = visible(driver, "#failures")
        assert host in listed
        assert "login as admin/******** refused <img src=x onerror=alert(1)>" in listed
        assert "<b>bold</b> runbook" in visible(driver, "h1")
        assert "https://ops:********@inv.example" in visible(driver, "#summary")
        assert LAB_PASSWORD not in driver.page_source


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda p: p, "{html}: no such file; name a JSON report of acmerun"),
        (lambda p: p.write_text('{"runbook": ') and p, "{html}:1:13: not an acmerun JSON report"),
        (lambda p: p.write_text("[]") and p, "{html}: not an acmerun JSON report"),
        (
            lambda p: p.write_text("[" * 100000 + "]" * 100000) and p,
            "{html}: not an acmerun JSON report: nested too deep",
        ),
    ],
    ids=["missing", "not-json", "not-a-report", "nested-too-deep"],
)
def test_show_refuses_what_is_not_a_report(
    make: Callable[[Path], Path], expected: str, tmp_path: Path
) -> None:
    source = make(tmp_path / "in.json")
    shown = processes.run_acmerun(
        "show", "in.json", "--html", "out.html", env=processes.environment(), cwd=tmp_path
    )
    assert shown.returncode == 5
    lines = shown.stderr.splitlines()
    assert len(lines) == 1, shown.stderr
    assert expected.format(html=source.name) in lines[0]
    assert not (tmp_path / "out.html").exists()


def test_show_never_writes_over_its_report_or_a_folder(tmp_path: Path, secret_scan: Any) -> None:
    source = crafted_report(tmp_path, "leaf01", "boom", secret_scan)
    before = source.read_bytes()
    (tmp_path / "folder").mkdir()
    for target, said in (
        (source.name, "is the JSON report; it would be overwritten"),
        ("folder", "is a directory"),
    ):
        shown = processes.run_acmerun(
            "show", source.name, "--html", target, env=processes.environment(), cwd=tmp_path
        )
        assert shown.returncode == 5, target
        assert said in shown.stderr and len(shown.stderr.splitlines()) == 1, shown.stderr
    assert source.read_bytes() == before


def test_run_refuses_an_html_path_before_touching_a_device(tmp_path: Path) -> None:
    node = tmp_path / "null"
    os.mknod(node, 0o600 | 0o020000, os.makedev(1, 3))  # a character device of our own
    (tmp_path / "run.json").write_text("{}")
    cases = {
        str(node): f"--html: {node} is not a regular file",
        "run.json": "--html: run.json is also given to --report; use two files",
        str(DATA / "html.yml"): "is the runbook",
    }
    # nothing listens there: a run that got as far as the inventory would say so
    env = processes.environment("http://127.0.0.1:9")
    for target, said in cases.items():
        run = processes.run_acmerun(
            str(DATA / "html.yml"), "--report", "run.json", "--html", target, env=env, cwd=tmp_path
        )
        assert run.returncode == 5, run.stdout + run.stderr
        assert said in run.stderr and len(run.stderr.splitlines()) == 1, run.stderr
    assert (tmp_path / "run.json").read_text() == "{}"


def test_a_report_of_10000_hosts_opens_in_chromium(tmp_path: Path) -> None:
    from datetime import datetime, timedelta, timezone

    from acmerun.outcome import Downtime, HostOutcome, RunOutcome, Status, StepOutcome
    from acmerun.report.json import report_text

    start = datetime(2026, 12, 3, 2, 0, tzinfo=timezone.utc)
    outcome = RunOutcome("upgrade.yml", "fleet", False, start, start + timedelta(hours=1), {})
    for i in range(10_000):
        begun = start + timedelta(seconds=(i // 2) * 0.7)
        failed = i % 50 == 0
        upgrade = StepOutcome(
            "upgrade",
            "acmeos.upgrade_os",
            Status.FAILED if failed else Status.CHANGED,
            changed=not failed,
            attempts=1,
            duration=60.0,
            error="install failed: disk full" if failed else None,
            down=Downtime(begun + timedelta(seconds=5), begun + timedelta(seconds=50)),
        )
        name = f"leaf{i:05d}.site{i % 8}"
        outcome.hosts[name] = HostOutcome(
            name,
            upgrade.status,
            [StepOutcome("pre-check", "acmeos.get_cpu_ram", Status.OK, attempts=1), upgrade],
            duration=60.0,
            started=begun,
            ended=begun + timedelta(seconds=60),
            group=f"site{i % 8}-leaf-{i // 2:04d}",
        )
    (tmp_path / "big.json").write_text(report_text(outcome, exit_code=2))
    shown = processes.run_acmerun(
        "show", "big.json", "--html", "big.html", env=processes.environment(), cwd=tmp_path
    )
    assert shown.returncode == 0, shown.stderr
    size = (tmp_path / "big.html").stat().st_size
    assert size < 10 * 1024 * 1024, size  # a few MB (bench/README.md has the figures)
    with chromium() as driver:
        driver.get(url(tmp_path / "big.html"))
        assert visible(driver, '.count[data-status="hosts"]') == "10000"
        assert visible(driver, '.count[data-status="failed"]') == "200"
        count = "return document.querySelectorAll('details.host').length"
        assert driver.execute_script(count) == 10_000
        assert driver.execute_script("return document.querySelectorAll('rect.band').length") > 0
        assert "Failures (200)" in visible(driver, "#failures h2")
