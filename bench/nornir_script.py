"""A hand-written nornir script: the yardstick acmerun is measured against.

``InitNornir`` with ``ACMEInventory`` (``$ACME_INVENTORY_URL``) and nornir's own
``ThreadedRunner``; one task per host doing its device calls through the
``acmeos`` connection, then closing it (log out). Logging is off, as in acmerun.
Prints one line, the counts of hosts that succeeded and failed; exits 1 if any failed.

    python bench/nornir_script.py --workers 50 --calls three
    python bench/nornir_script.py --workers 50 --calls version
"""

from __future__ import annotations

import argparse
import sys

from nornir import InitNornir
from nornir.core.task import Result, Task

from acmerun.plugins.tasks import acmeos

CALLS = {
    "three": (acmeos.get_version, acmeos.get_cpu_ram, acmeos.get_version),
    "version": (acmeos.get_version,),
}


def device_calls(task: Task, calls: str) -> Result:
    """The device calls, one after another, then log out."""
    try:
        results = [task.run(task=call).result for call in CALLS[calls]]
    finally:
        task.host.close_connections()
    return Result(host=task.host, result=results)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=50)
    parser.add_argument("--calls", choices=sorted(CALLS), default="three")
    options = parser.parse_args()
    nr = InitNornir(
        runner={"plugin": "threaded", "options": {"num_workers": options.workers}},
        inventory={"plugin": "ACMEInventory"},
        logging={"enabled": False},
    )
    results = nr.run(task=device_calls, calls=options.calls)
    failed = len(results.failed_hosts)
    print(f"hosts: {len(results)} ok: {len(results) - failed} failed: {failed}")
    return 1 if failed or not results else 0


if __name__ == "__main__":
    sys.exit(main())
