"""``run_once``: a step run by one host of the run, its outcome shared with the others.

The first host to reach the step runs it; every other host waits for that run to end
(or for the run to be interrupted) and takes its outcome and registered value. The
slots live with the compiled runbook, so "once" means once per run in this process:
across ``serial`` batches and rolling groups alike (a later batch reuses the result),
and once per shard with ``--cluster``.
"""

from __future__ import annotations

import dataclasses
import threading
from dataclasses import dataclass, field
from typing import Any

from acmerun.outcome import FAILURES, Status, StepOutcome
from acmerun.stop import StopToken

#: how often a waiting host looks at the stop token, in seconds
_POLL = 0.05


@dataclass
class Slot:
    """One run_once step: who runs it, and what it gave."""

    leader: str | None = None
    done: threading.Event = field(default_factory=threading.Event)
    outcome: StepOutcome | None = None
    value: Any = None


class OnceSlots:
    """The run_once steps of one run, by compiled step."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._slots: dict[int, Slot] = {}

    def claim(self, key: int, host: str) -> tuple[Slot, bool]:
        """The step's slot, and True when ``host`` is the one to run it."""
        with self._lock:
            slot = self._slots.setdefault(key, Slot())
            if slot.leader is None:
                slot.leader = host
                return slot, True
            return slot, False


def publish(slot: Slot, outcome: StepOutcome, value: Any) -> None:
    """The leader's outcome and registered value, for every other host."""
    slot.outcome = dataclasses.replace(outcome, steps=list(outcome.steps))
    slot.value = value
    slot.done.set()


def follow(slot: Slot, stop: StopToken, outcome: StepOutcome) -> Any:
    """Wait for the leader and fill ``outcome`` from its; the registered value (None if none).

    The follower changed nothing itself: a leader's ``changed`` is ``ok`` here. A
    leader that failed or was unreachable fails the step on every host.
    """
    while not slot.done.wait(_POLL):
        if stop.interrupted:
            outcome.status = Status.INTERRUPTED
            outcome.error = f"interrupted while waiting for run_once on {slot.leader}"
            return None
    led = slot.outcome
    assert led is not None
    outcome.attempts = 0
    outcome.result = led.result
    outcome.steps = list(led.steps)
    if led.status in FAILURES:
        outcome.status, outcome.failed = Status.FAILED, True
        outcome.error = f"run_once on {slot.leader}: {led.error or led.status.value}"
    elif led.status is Status.CHANGED:
        outcome.status = Status.OK
    else:
        outcome.status, outcome.error = led.status, led.error
    return slot.value
