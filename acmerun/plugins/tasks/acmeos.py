"""nornir tasks for AcmeOS devices: ``get_version``, ``get_cpu_ram``, ``get_interfaces``,
``get_neighbors``, ``install_os_version``, ``upgrade_os``, ``reboot``.

Each reaches its device through the ``acmeos`` connection plugin. Device errors are
raised, and nornir turns them into failed results; in nornir's dry-run nothing is
changed and every would-be change is reported with ``changed=True``.
"""

from __future__ import annotations

from typing import Any

from nornir.core.task import Result, Task

from acmerun.acmeos.client import AcmeOSAPI, check_version
from acmerun.acmeos.errors import VersionMismatch
from acmerun.plugins.connections.acmeos import CONNECTION_NAME

#: the state of a working routing session
ESTABLISHED = "established"
#: how long ``upgrade_os`` and ``reboot`` wait for a device to come back (seconds)
REBOOT_TIMEOUT = 600.0


def _device(task: Task) -> AcmeOSAPI:
    device: AcmeOSAPI = task.host.get_connection(CONNECTION_NAME, task.nornir.config)
    return device


def get_version(task: Task) -> Result:
    """The OS the device runs: ``{"os_version", "revision", "full_version"}``."""
    return Result(host=task.host, result=dict(_device(task).get_version()))


def get_cpu_ram(task: Task) -> Result:
    """CPU use and RAM of the device: ``{"cpu", "ram_total", "ram_used"}``."""
    return Result(host=task.host, result=dict(_device(task).get_cpu_ram()))


def get_interfaces(task: Task) -> Result:
    """The device's interfaces, as data a check can compare.

    ``{"interfaces": [{"name", "admin_state", "oper_state", "description"}, ...],
    "by_name": {NAME: that interface}, "down": [names]}``: ``down`` lists the
    interfaces that are administratively up but operationally down.
    """
    interfaces = [dict(interface) for interface in _device(task).get_interfaces()]
    result: dict[str, Any] = {
        "interfaces": interfaces,
        "by_name": {interface["name"]: dict(interface) for interface in interfaces},
        "down": [
            interface["name"]
            for interface in interfaces
            if interface["admin_state"] == "up" and interface["oper_state"] != "up"
        ],
    }
    return Result(host=task.host, result=result)


def get_neighbors(task: Task) -> Result:
    """The device's routing neighbors, as data a check can compare.

    ``{"neighbors": [{"peer", "interface", "state", "prefixes_received"}, ...],
    "by_peer": {PEER: that neighbor}, "established": N, "not_established": [peers]}``.
    """
    neighbors = [dict(neighbor) for neighbor in _device(task).get_neighbors()]
    result: dict[str, Any] = {
        "neighbors": neighbors,
        "by_peer": {neighbor["peer"]: dict(neighbor) for neighbor in neighbors},
        "established": sum(1 for n in neighbors if n["state"] == ESTABLISHED),
        "not_established": [n["peer"] for n in neighbors if n["state"] != ESTABLISHED],
    }
    return Result(host=task.host, result=result)


def reboot(task: Task, reboot_timeout: float = REBOOT_TIMEOUT) -> Result:
    """Reboot the device (its version stays) and wait until it answers again.

    The result is ``{"status": "rebooted", "seconds": S}``, S the seconds it
    took to come back; always ``changed``. Fails when the device is not back
    within ``reboot_timeout`` seconds (or the step's deadline), or refuses the
    reboot (``busy`` while an install runs). In dry-run nothing is rebooted:
    ``would reboot``, ``changed=True``.
    """
    device = _device(task)
    if task.is_dry_run():
        return Result(host=task.host, result="would reboot", changed=True)
    report = device.reboot()
    waited = device.wait_until_up(reboot_timeout, expected=float(report["reboot_seconds"] or 0))
    return Result(
        host=task.host, result={"status": "rebooted", "seconds": round(waited, 3)}, changed=True
    )


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
    _device(task).wait_until_up(
        reboot_timeout, expected=float(installed.get("reboot_seconds") or 0)
    )
    after = task.run(task=get_version).result["full_version"]
    if after != version:
        raise VersionMismatch(version, after)
    return Result(host=task.host, result=f"upgraded {before} -> {version}", changed=True)
