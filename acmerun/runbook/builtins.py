"""The engine's own tasks, written without a prefix: ``wait`` and ``log``.

Both support check mode (they change no device). ``wait`` ends at once on SIGINT or
SIGTERM: the step is then ``interrupted``.
"""

from __future__ import annotations

import logging

from nornir.core.task import Result, Task

from acmerun.acmeos.defaults import MASK
from acmerun.stop import StopToken

logger = logging.getLogger("acmerun")


def wait(task: Task, seconds: float, stop: StopToken | None = None) -> Result:
    """Wait ``seconds`` (0 to 86400), or until the run is stopped."""
    token = stop if stop is not None else StopToken()
    interrupted = token.wait_interrupted(float(seconds))
    waited = "interrupted" if interrupted else f"waited {float(seconds):g}s"
    return Result(host=task.host, result=waited)


wait.acmerun_stop = True  # type: ignore[attr-defined]
wait.acmerun_supports_check = True  # type: ignore[attr-defined]


def log(task: Task, msg: str, no_log: bool = False) -> Result:
    """``msg`` as the step's result (in every report) and a line of the run's log."""
    logger.info("%s: %s", task.host.name, MASK if no_log else msg)
    return Result(host=task.host, result=str(msg))


log.acmerun_supports_check = True  # type: ignore[attr-defined]
log.acmerun_no_log = True  # type: ignore[attr-defined]
