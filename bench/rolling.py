"""Rolling upgrade of the 848-device fleet against its ideal, and the lab's downtime record.

Each run starts a fresh lab with ``--install-seconds`` and ``--reboot-seconds``
set, runs ``acmerun runbooks/upgrade-fleet.yml`` (one device per redundancy group
at a time: site, device type, rack) and reads the lab's ``GET /lab/downtime``.

The ideal is the issue's: the largest redundancy group's upgrades done one after
another at the lab's install and reboot times, verification free:
max over groups of (devices not yet on the target) x (install + reboot). With a
cap of W hosts in flight there is a second floor, every upgrade's device time
spread over W workers: sum x (install + reboot) / W. The runbook's own
``workers: 100`` is measured, and ``--workers`` equal to the number of groups,
where only the first floor applies. A third variant, with no install or reboot
time, measures acmerun's own cost of the same upgrades (every device call, no
waiting): the floor under the wall time that the ideal leaves out. The three
variants run interleaved, a fresh lab each.

The downtime record must show no group with two devices down at once: the
maximum over groups of devices down together is printed and must be 1.

    .venv/bin/python bench/rolling.py [--runs 3] [--install-seconds 0.2] [--reboot-seconds 0.5]
"""

from __future__ import annotations

import argparse
from collections import Counter, defaultdict

import common

SITES, LEAVES = 8, 100
RUNBOOK = common.ROOT / "runbooks" / "upgrade-fleet.yml"
TARGET = "5.4.1"


def group_of(host: dict[str, object]) -> str:
    """The runbook's ``group_by``: ``{{ site }}-{{ dev_type }}-{{ rack }}``."""
    return f"{host['site']}-{host['dev_type']}-{host['rack']}"


def most_down_at_once(intervals: list[list[float | None]]) -> int:
    """The largest number of these downtime intervals that overlap at one instant."""
    events: list[tuple[float, int]] = []
    for start, end in intervals:
        assert start is not None
        events.append((start, 1))
        events.append((float("inf") if end is None else end, -1))
    events.sort(key=lambda event: (event[0], event[1]))
    down = most = 0
    for _, step in events:
        down += step
        most = max(most, down)
    return most


def one_run(install: float, reboot: float, workers: int | None) -> dict[str, float]:
    """A fresh lab, one upgrade of the fleet; its wall time, floors and downtime check."""
    per_upgrade = install + reboot
    lab_options = ["--install-seconds", str(install), "--reboot-seconds", str(reboot)]
    command = [common.ACMERUN, str(RUNBOOK), "--quiet"]
    if workers is not None:
        command += ["--workers", str(workers)]
    with common.Lab(SITES, LEAVES, lab_options) as lab:
        hosts = lab.get("/api/v1/inventory/hosts")["hosts"]
        devices = lab.get("/lab/devices")
        groups = {host["name"]: group_of(host) for host in hosts}
        to_upgrade = Counter(
            groups[name] for name, device in devices.items() if device["version"] != TARGET
        )
        run = common.run_timed(command, lab.env(), timeout=600).check("acmerun upgrade-fleet")
        after = lab.get("/lab/devices")
        downtime = lab.get("/lab/downtime")
    left_behind = sorted(name for name, device in after.items() if device["version"] != TARGET)
    if left_behind:
        raise RuntimeError(f"{len(left_behind)} devices not upgraded, e.g. {left_behind[:5]}")
    by_group: dict[str, list[list[float | None]]] = defaultdict(list)
    for name, intervals in downtime.items():
        by_group[groups[name]].extend(intervals)
    worst = max((most_down_at_once(spans) for spans in by_group.values()), default=0)
    if worst > 1:
        raise RuntimeError(f"a redundancy group had {worst} devices down at once")
    in_flight = workers if workers is not None else 100
    ideal = max(to_upgrade.values()) * per_upgrade
    worker_floor = sum(to_upgrade.values()) * per_upgrade / in_flight
    figures = {
        "workers": in_flight,
        "groups": len(set(groups.values())),
        "upgrades": sum(to_upgrade.values()),
        "largest_group_upgrades": max(to_upgrade.values()),
        "wall_s": run.wall,
        "ideal_s": ideal,
        "floor_s": max(ideal, worker_floor),
        "ratio_to_ideal": run.wall / ideal if ideal else 0.0,
        "ratio_to_floor": run.wall / max(ideal, worker_floor) if ideal else 0.0,
        "most_down_at_once_in_a_group": worst,
        "devices_with_downtime": sum(1 for spans in downtime.values() if spans),
    }
    common.say(
        f"  install {install} s, reboot {reboot} s, "
        "{workers} workers: {wall_s:.2f} s for {upgrades} upgrades in {groups} groups; "
        "ideal {ideal_s:.2f} s (ratio {ratio_to_ideal:.2f}), with the worker cap "
        "{floor_s:.2f} s (ratio {ratio_to_floor:.2f}); most devices down at once in one "
        "group: {most_down_at_once_in_a_group}".format(**figures)
    )
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--install-seconds", type=float, default=0.2)
    parser.add_argument("--reboot-seconds", type=float, default=0.5)
    options = parser.parse_args()
    groups_count = SITES * (1 + 2 + LEAVES // 2)
    install, reboot = options.install_seconds, options.reboot_seconds
    settings = {
        "runbook workers (100)": (None, install, reboot),
        f"--workers {groups_count}": (groups_count, install, reboot),
        f"--workers {groups_count}, no install or reboot time": (groups_count, 0.0, 0.0),
    }
    figures: dict[str, object] = {
        "devices": common.fleet_size(SITES, LEAVES),
        "install_seconds": install,
        "reboot_seconds": reboot,
        "runs": options.runs,
    }
    variants: dict[str, object] = {}
    rounds: dict[str, list[dict[str, float]]] = {name: [] for name in settings}
    for _ in range(options.runs):
        for name, (workers, install_s, reboot_s) in settings.items():
            rounds[name].append(one_run(install_s, reboot_s, workers))
    for name, runs in rounds.items():
        variant: dict[str, object] = {
            key: runs[0][key]
            for key in ("workers", "groups", "upgrades", "largest_group_upgrades", "ideal_s")
        }
        for key in ("wall_s", "ratio_to_ideal", "ratio_to_floor"):
            variant[key] = common.summary([run[key] for run in runs])
        variant["most_down_at_once_in_a_group"] = max(
            run["most_down_at_once_in_a_group"] for run in runs
        )
        variant["raw"] = runs
        variants[name] = variant
        common.say(
            f"{name}: wall {common.fmt(variant['wall_s'])}, ratio to the ideal "
            f"{common.fmt(variant['ratio_to_ideal'], '', 2)}, to the floor with the worker cap "
            f"{common.fmt(variant['ratio_to_floor'], '', 2)}; "
            f"most down at once in a group: {variant['most_down_at_once_in_a_group']}"
        )
    figures["variants"] = variants
    common.emit("rolling", figures)


if __name__ == "__main__":
    main()
