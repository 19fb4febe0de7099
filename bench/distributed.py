"""Distributed: the 10,000-device runbook on ``--cluster local:2`` against one process,
and a 40,000-device run (four lab processes) on the local cluster.

Part 1 starts one lab of ``--sites 8 --leaves 1244`` (10,000 devices) and runs
``acmerun bench/runbooks/three-calls.yml`` over it twice, as one process and on
``--cluster local:2`` (cluster start-up included in its wall time); the figure
is the ratio of the two wall times, measured in the same run of this script.
Part 2 starts four labs, each serving eight sites of its own (4 x 10,000
devices, each lab under the 20,000 open-files limit of one process), points
acmerun at all four (``ACME_INVENTORY_URL=URL1,URL2,URL3,URL4``) and runs the
same runbook on ``--cluster local:N``. Every host must end ok.

    .venv/bin/python bench/distributed.py [--workers 50] [--cluster-workers 2]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import tempfile
from pathlib import Path

import common

SITES, LEAVES = 8, 1244
STEPS = 3
LABS = 4


def acmerun(env: dict[str, str], workers: int, *extra: str) -> tuple[common.Timed, dict]:
    """One acmerun run of the three-call runbook; its timing and its JSON report."""
    with tempfile.TemporaryDirectory() as folder:
        report = Path(folder) / "r.json"
        runbook = Path(folder) / "three-calls.yml"  # its own lock: other benchmarks may run
        runbook.write_text((common.RUNBOOKS / "three-calls.yml").read_text())
        timed = common.run_timed(
            [
                common.ACMERUN,
                str(runbook),
                "--workers",
                str(workers),
                "--report",
                str(report),
                *extra,
            ],
            env,
            timeout=1200,
        ).check("acmerun " + " ".join(extra))
        return timed, json.loads(report.read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=50)
    parser.add_argument("--cluster-workers", type=int, default=2)
    options = parser.parse_args()
    cluster = f"local:{options.cluster_workers}"
    devices = common.fleet_size(SITES, LEAVES)
    common.say(f"part 1: {devices} devices, one process vs --cluster {cluster}")
    with common.Lab(SITES, LEAVES) as lab:
        single, single_report = acmerun(lab.env(), options.workers)
        on_cluster, cluster_report = acmerun(lab.env(), options.workers, "--cluster", cluster)
    assert single_report["totals"]["ok"] == cluster_report["totals"]["ok"] == devices
    ratio = single.wall / on_cluster.wall
    common.say(
        f"  one process {single.wall:.1f} s, {cluster} {on_cluster.wall:.1f} s: "
        f"x{ratio:.2f} ({devices * STEPS / on_cluster.wall:.0f} host-steps/s on the cluster)"
    )

    total = LABS * devices
    common.say(f"part 2: {total} devices in {LABS} lab processes, --cluster {cluster}")
    with contextlib.ExitStack() as stack:
        labs = [
            stack.enter_context(
                common.Lab(
                    SITES,
                    LEAVES,
                    options=[opt for s in range(SITES) for opt in ("--site", f"r{n}s{s}")],
                )
            )
            for n in range(LABS)
        ]
        env = labs[0].env()
        env["ACME_INVENTORY_URL"] = ",".join(lab.url for lab in labs)
        big, big_report = acmerun(env, options.workers, "--cluster", cluster)
    assert len(big_report["hosts"]) == total, big_report["totals"]
    assert big_report["totals"]["ok"] == total, big_report["totals"]
    common.say(
        f"  {total} devices: {big.wall:.1f} s ({total * STEPS / big.wall:.0f} host-steps/s), "
        f"driver peak RSS {big.peak_rss_mib:.0f} MiB"
    )
    common.emit(
        "distributed",
        {
            "devices": devices,
            "steps": STEPS,
            "workers": options.workers,
            "cluster": cluster,
            "single_process_wall_s": single.wall,
            "cluster_wall_s": on_cluster.wall,
            "speedup": ratio,
            "big_devices": total,
            "big_labs": LABS,
            "big_wall_s": big.wall,
            "big_host_steps_per_s": total * STEPS / big.wall,
            "big_driver_peak_rss_mib": big.peak_rss_mib,
            "big_totals": big_report["totals"],
        },
    )


if __name__ == "__main__":
    main()
