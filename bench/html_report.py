"""The HTML report of a 10,000-device run: its size, and how fast Chromium opens it.

Starts a lab of ``--sites 8 --leaves 1244`` (10,000 devices; the edge00 devices
dead, 2% of installs failing, 0.05 s reboots), runs the rolling upgrade
``bench/runbooks/upgrade-html.yml`` with ``--report`` and ``--html``, then
renders the same JSON report again with ``acmerun show`` twice: as it is (one
lane per redundancy group, drawn as density bands) and with the groups taken
out (lanes by worker slot, a bar per host). Each page is opened in headless
Chromium (Debian's ``chromium`` and ``chromedriver``, selenium): the time to its
load event (the browser's own navigation timing) and the wall time of the load
with a first layout. Goals: a few MB, open in under 5 s.

    .venv/bin/python bench/html_report.py [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import common

SITES, LEAVES = 8, 1244
GOAL_OPEN = 5.0
CHROMEDRIVER = "/usr/bin/chromedriver"


def browser() -> Any:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "chromium"
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1280,900"):
        options.add_argument(argument)
    return webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)


def open_page(driver: Any, page: Path) -> dict[str, float]:
    started = time.perf_counter()
    driver.get(page.resolve().as_uri())
    driver.execute_script("return document.body.getBoundingClientRect().height")
    wall = time.perf_counter() - started
    load = driver.execute_script(
        "return performance.getEntriesByType('navigation')[0].loadEventEnd"
    )
    return {"open_s": wall, "load_event_s": float(load) / 1000}


def show(source: Path, page: Path) -> float:
    started = time.perf_counter()
    subprocess.run(
        [common.ACMERUN, "show", str(source), "--html", str(page)], check=True, capture_output=True
    )
    return time.perf_counter() - started


def one_run(folder: Path) -> dict[str, Any]:
    with common.Lab(
        SITES,
        LEAVES,
        [
            "--dead",
            "edge00.*",
            "--install-failure-rate",
            "0.02",
            "--install-seconds",
            "0",
            "--reboot-seconds",
            "0.05",
        ],
    ) as lab:
        run = common.run_timed(
            [
                common.ACMERUN,
                str(common.RUNBOOKS / "upgrade-html.yml"),
                "--report",
                str(folder / "run.json"),
                "--html",
                str(folder / "run.html"),
                "--quiet",
            ],
            lab.env(),
        )
    if run.returncode not in (2, 3):
        raise RuntimeError(f"acmerun exited {run.returncode}")
    report = json.loads((folder / "run.json").read_text())
    flat = dict(report, hosts={n: dict(h, group="") for n, h in report["hosts"].items()})
    (folder / "flat.json").write_text(json.dumps(flat))
    figures: dict[str, Any] = {
        "hosts": len(report["hosts"]),
        "run_wall_s": run.wall,
        "json_bytes": (folder / "run.json").stat().st_size,
    }
    driver = browser()
    try:
        for kind, source in (("groups", "run.json"), ("slots", "flat.json")):
            page = folder / f"{kind}.html"
            render = show(folder / source, page)
            figures[kind] = {"html_bytes": page.stat().st_size, "show_s": render}
            figures[kind].update(open_page(driver, page))
        figures["run_html_bytes"] = (folder / "run.html").stat().st_size
    finally:
        driver.quit()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    runs = []
    for n in range(args.runs):
        with tempfile.TemporaryDirectory(prefix="acmerun-html-bench-") as folder:
            runs.append(one_run(Path(folder)))
        common.say(f"run {n + 1}: {json.dumps(runs[-1])}")
    figures: dict[str, Any] = {"devices": common.fleet_size(SITES, LEAVES), "runs": runs}
    for kind in ("groups", "slots"):
        figures[kind] = {
            key: common.summary([r[kind][key] for r in runs])
            for key in ("html_bytes", "show_s", "open_s", "load_event_s")
        }
        figures[kind]["met"] = figures[kind]["open_s"]["median"] < GOAL_OPEN
    common.emit("html_report", figures)


if __name__ == "__main__":
    main()
