"""acmerun against ansible-playbook: same lab, same device calls, forks = workers.

ansible-core (>=2.19,<2.20) is installed by this script into its own virtualenv,
``bench/results/venv-ansible``. For each fleet size (100 devices: ``--sites 1
--leaves 94``; 400: ``--sites 4 --leaves 94``) a lab is started, an inventory
is generated from its inventory API (``ansible_host``/``ansible_port`` per host,
``ansible_connection: local``) and ``bench/playbooks/three-calls.yml`` drives
every device through its HTTP API with ``ansible.builtin.uri``: log in, the 3
GETs of ``bench/runbooks/three-calls.yml``, log out; ``gather_facts: false``,
``--forks`` equal to acmerun's ``--workers``. Both are timed from process start
to exit, alternately. Goal: acmerun at least 100 times faster.

    .venv/bin/python bench/vs_ansible.py [--sizes 100,400] [--runs 2] [--runs-large 1]
"""

from __future__ import annotations

import argparse
import json
import subprocess
from pathlib import Path

import common

GOAL = 100.0
WORKERS = 50
LABS = {100: (1, 94), 400: (4, 94)}
VENV = common.RESULTS / "venv-ansible"
REQUIREMENT = "ansible-core>=2.19,<2.20"
PLAYBOOK = common.BENCH / "playbooks" / "three-calls.yml"


def ansible_venv() -> Path:
    """The virtualenv holding ansible-core, created on first use; its ``ansible-playbook``."""
    playbook = VENV / "bin" / "ansible-playbook"
    if not playbook.exists():
        common.say(f"installing {REQUIREMENT} into {VENV.relative_to(common.ROOT)}")
        subprocess.run([common.PYTHON, "-m", "venv", str(VENV)], check=True)
        subprocess.run(
            [str(VENV / "bin" / "pip"), "install", "-q", REQUIREMENT],
            check=True,
        )
    return playbook


def write_inventory(lab: common.Lab, path: Path) -> int:
    """An Ansible inventory (JSON is YAML) of every device of the lab; how many hosts."""
    hosts = lab.get("/api/v1/inventory/hosts")["hosts"]
    inventory = {
        "all": {
            "vars": {
                "ansible_connection": "local",
                "ansible_python_interpreter": str(VENV / "bin" / "python"),
            },
            "hosts": {
                host["name"]: {"ansible_host": host["hostname"], "ansible_port": host["port"]}
                for host in hosts
            },
        }
    }
    path.write_text(json.dumps(inventory, indent=1))
    return len(hosts)


def ansible_env(lab: common.Lab) -> dict[str, str]:
    """Ansible's environment: its files under bench/results, no retry files, no cows."""
    home = common.RESULTS / "ansible-home"
    return lab.env(
        ANSIBLE_HOME=str(home),
        ANSIBLE_LOCAL_TEMP=str(home / "tmp"),
        ANSIBLE_REMOTE_TEMP=str(home / "remote-tmp"),
        ANSIBLE_RETRY_FILES_ENABLED="false",
        ANSIBLE_NOCOWS="1",
        ANSIBLE_HOST_KEY_CHECKING="false",
        ANSIBLE_DEPRECATION_WARNINGS="false",
    )


def measure(devices: int, runs: int, playbook_bin: Path) -> dict[str, object]:
    """Alternate runs of acmerun and ansible-playbook against one lab."""
    sites, leaves = LABS[devices]
    inventory = common.RESULTS / f"ansible-inventory-{devices}.yml"
    acmerun = [
        common.ACMERUN,
        str(common.RUNBOOKS / "three-calls.yml"),
        "--workers",
        str(WORKERS),
        "--quiet",
    ]
    ansible = [
        str(playbook_bin),
        "-i",
        str(inventory),
        "--forks",
        str(WORKERS),
        str(PLAYBOOK),
    ]
    walls: dict[str, list[float]] = {"acmerun": [], "ansible": []}
    ratios: list[float] = []
    with common.Lab(sites, leaves) as lab:
        count = write_inventory(lab, inventory)
        assert count == devices, f"the lab serves {count} devices, expected {devices}"
        env = ansible_env(lab)
        common.run_timed(acmerun, lab.env()).check("acmerun (warm-up)")
        for round_ in range(runs):
            mine = common.run_timed(acmerun, lab.env()).check("acmerun").wall
            theirs = common.run_timed(ansible, env, timeout=1200).check("ansible-playbook").wall
            walls["acmerun"].append(mine)
            walls["ansible"].append(theirs)
            ratios.append(theirs / mine)
            common.say(
                f"  round {round_ + 1}: acmerun {mine:.2f} s, ansible-playbook {theirs:.1f} s, "
                f"acmerun {ratios[-1]:.0f}x faster"
            )
    ratio = common.summary(ratios)
    host_tasks = devices * 5
    figures = {
        "devices": devices,
        "workers_forks": WORKERS,
        "runs": runs,
        "acmerun_wall_s": common.summary(walls["acmerun"]),
        "ansible_wall_s": common.summary(walls["ansible"]),
        "ansible_ms_per_host_task": 1000 * common.summary(walls["ansible"])["median"] / host_tasks,
        "speedup": ratio,
        "goal": f"acmerun >= {GOAL:.0f}x faster",
        "met": ratio["median"] >= GOAL,
        "raw": {**walls, "speedups": ratios},
    }
    common.say(
        f"{devices} devices, {WORKERS} forks/workers: "
        f"acmerun {common.fmt(figures['acmerun_wall_s'])}, "
        f"ansible-playbook {common.fmt(figures['ansible_wall_s'], 's', 1)}; acmerun "
        f"{common.fmt(ratio, 'x', 0)} faster (goal >= {GOAL:.0f}x: "
        f"{'met' if figures['met'] else 'NOT met'})"
    )
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100,400", help="fleet sizes: 100 and/or 400")
    parser.add_argument("--runs", type=int, default=2, help="rounds at 100 devices")
    parser.add_argument("--runs-large", type=int, default=1, help="rounds at 400 devices")
    options = parser.parse_args()
    sizes = [int(size) for size in options.sizes.split(",")]
    unknown = [size for size in sizes if size not in LABS]
    if unknown:
        parser.error(f"sizes must be among {sorted(LABS)}, not {unknown}")
    playbook_bin = ansible_venv()
    version = subprocess.run(
        [str(playbook_bin), "--version"], capture_output=True, text=True, check=True
    ).stdout.splitlines()[0]
    common.say(version)
    figures = {
        str(size): measure(size, options.runs if size < 400 else options.runs_large, playbook_bin)
        for size in sizes
    }
    common.emit("vs_ansible", {"ansible": version, "sizes": figures})


if __name__ == "__main__":
    main()
