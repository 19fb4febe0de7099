"""The device state a plan depends on: read first on every host, by plan and by apply.

The fingerprint is the sha256 of the device's version answer (``GET
/api/v1/version``: ``os_version``, ``revision``, ``full_version``) as canonical
JSON. ``acmerun plan`` records it per host; ``acmerun apply`` reads it again
before the host's first step, and leaves a device whose fingerprint differs
untouched (``skipped``, with the reason).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from nornir.core.task import Result, Task

from acmerun.plugins.tasks.acmeos import get_version
from acmerun.runbook.guard import HostGuard

#: the guard step's name and task, as reports show them
STEP_NAME = "device state as planned"
STEP_TASK = "plan.device_state"


def fingerprint(version: Mapping[str, Any]) -> str:
    """``sha256:HEX`` of the version answer's fields, as canonical JSON."""
    fields = {k: version.get(k) for k in ("os_version", "revision", "full_version")}
    text = json.dumps(fields, sort_keys=True, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def device_state(task: Task) -> Result:
    """The device's state, ``{"running": VERSION, "fingerprint": "sha256:..."}``; read-only."""
    version = task.run(task=get_version, name="get_version").result
    state = {"running": str(version.get("full_version")), "fingerprint": fingerprint(version)}
    return Result(host=task.host, result=state)


def _record(_host: str, _state: Any) -> str | None:
    return None


def planning_guard() -> HostGuard:
    """The guard of ``acmerun plan``: reads the state, holds no host."""
    return HostGuard(STEP_NAME, STEP_TASK, device_state, _record)


def applying_guard(planned: Mapping[str, Mapping[str, Any]]) -> HostGuard:
    """The guard of ``acmerun apply``: a host whose state is not the plan's is left untouched.

    ``planned``: each host's state as the plan recorded it (``running``, ``fingerprint``).
    """

    def verdict(host: str, state: Any) -> str | None:
        was = planned.get(host)
        if was is None:
            return "not in the plan"
        if not isinstance(state, Mapping) or state.get("fingerprint") == was.get("fingerprint"):
            return None if isinstance(state, Mapping) else "device state unreadable"
        now_running, then_running = state.get("running"), was.get("running")
        if now_running != then_running:
            return f"changed since the plan: running {now_running}, planned from {then_running}"
        return (
            f"changed since the plan: device state {state.get('fingerprint')}, "
            f"planned from {was.get('fingerprint')}"
        )

    return HostGuard(STEP_NAME, STEP_TASK, device_state, verdict)
