"""A task that does what a careless device library does: puts the password in its errors."""

from __future__ import annotations

import logging
import os

from nornir.core.task import Result, Task


def echo_password(task: Task, fail: bool = True) -> Result:
    """Log, return or raise a message that carries the device password."""
    password = task.host.password or os.environ.get("ACMEOS_PASSWORD", "")
    logging.getLogger("acmerun.tests").warning("login to %s as netops/%s", task.host, password)
    if fail:
        raise RuntimeError(f"device {task.host} refused login netops:{password}")
    said = {"said": f"welcome netops:{password}", password: 1, "quoted": repr(password)}
    return Result(host=task.host, result=said)


def device_says(task: Task, text: str) -> Result:
    """Fail with ``text``, as a device's error message would say it (escapes, URLs and all)."""
    raise RuntimeError(text)
