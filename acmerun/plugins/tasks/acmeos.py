"""nornir tasks for AcmeOS devices: ``get_version``, ``get_cpu_ram``, ``install_os_version``,
``upgrade_os``.

Each reaches its device through the ``acmeos`` connection plugin. Device errors are
raised, and nornir turns them into failed results; in nornir's dry-run nothing is
changed and every would-be change is reported with ``changed=True``.
"""

from __future__ import annotations

import contextlib
from datetime import datetime, timezone

from nornir.core.task import Result, Task

from acmerun.acmeos.client import AcmeOSAPI, check_version
from acmerun.acmeos.errors import VersionMismatch
from acmerun.plugins.connections.acmeos import CONNECTION_NAME

#: how long ``upgrade_os`` waits for a device to come back from its reboot (seconds)
REBOOT_TIMEOUT = 600.0

#: attribute of ``upgrade_os``'s Result (or of its error when the device did not come back):
#: (start, end) of the device's downtime, UTC datetimes
DOWNTIME = "downtime"


def _device(task: Task) -> AcmeOSAPI:
    device: AcmeOSAPI = task.host.get_connection(CONNECTION_NAME, task.nornir.config)
    return device


def get_version(task: Task) -> Result:
    """The OS the device runs: ``{"os_version", "revision", "full_version"}``."""
    return Result(host=task.host, result=dict(_device(task).get_version()))


def get_cpu_ram(task: Task) -> Result:
    """CPU use and RAM of the device: ``{"cpu", "ram_total", "ram_used"}``."""
    return Result(host=task.host, result=dict(_device(task).get_cpu_ram()))


def install_os_version(task: Task, version: str) -> Result:
    """Install ``version`` (X.Y.Z); the device reboots into it and this does not wait.

    The result is the device's report (``previous_version``, ``version``,
    ``status``, ``reboot_seconds``); ``changed`` unless the device already ran
    ``version``. In dry-run, nothing is installed and the result says what would be.
    """
    check_version(version)
    device = _device(task)
    if task.is_dry_run():
        current = device.get_version()["full_version"]
        if current == version:
            return Result(host=task.host, result=f"{version} already installed", changed=False)
        would = f"would install {version} over {current}"
        return Result(host=task.host, result=would, changed=True)
    report = device.install_os_version(version)
    return Result(host=task.host, result=dict(report), changed=report["status"] != "unchanged")


def upgrade_os(task: Task, version: str, reboot_timeout: float = REBOOT_TIMEOUT) -> Result:
    """Bring the device to ``version``: install it, wait for the reboot, verify it runs.

    Idempotent: ``nothing to do`` (not changed) when the device already runs
    ``version``. Fails when the device is not back within ``reboot_timeout``
    seconds (or the step's deadline) or comes back running another version.
    """
    check_version(version)
    before = task.run(task=get_version).result["full_version"]
    if before == version:
        return Result(host=task.host, result="nothing to do", changed=False)
    installed = task.run(task=install_os_version, version=version).result
    if task.is_dry_run():
        return Result(host=task.host, result=f"would upgrade {before} -> {version}", changed=True)
    if installed["status"] == "unchanged":  # upgraded meanwhile by someone else
        return Result(host=task.host, result="nothing to do", changed=False)
    down = datetime.now(timezone.utc)
    try:
        _device(task).wait_until_up(
            reboot_timeout, expected=float(installed.get("reboot_seconds") or 0)
        )
    except Exception as error:
        # not back in time (or the step's deadline came): down from the reboot until now
        with contextlib.suppress(AttributeError):
            setattr(error, DOWNTIME, (down, datetime.now(timezone.utc)))
        raise
    back = datetime.now(timezone.utc)
    after = task.run(task=get_version).result["full_version"]
    if after != version:
        raise VersionMismatch(version, after)
    result = Result(host=task.host, result=f"upgraded {before} -> {version}", changed=True)
    # the device's downtime: from the reboot the install started until it took a session again
    setattr(result, DOWNTIME, (down, back))
    return result
