"""How many connections the lab may keep open: the open-file limit, less what it needs itself."""

from __future__ import annotations

import contextlib
import resource

from acmerun.lab.errors import LabStartError

#: open files kept free for the process itself (logs, the state file, the inventory, ...)
RESERVED_FILES = 256


def file_budget(listeners: int, devices: int) -> int:
    """How many device connections the lab may keep open; raises if the listeners cannot fit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and (hard == resource.RLIM_INFINITY or hard > soft):
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
    if soft == resource.RLIM_INFINITY:
        return 1 << 30
    budget = soft - devices - RESERVED_FILES
    if budget < 64:
        raise LabStartError(
            f"{listeners} devices need more than {soft} open files (the limit, see ulimit -n): "
            "serve fewer devices per lab, or raise the limit"
        )
    return budget
