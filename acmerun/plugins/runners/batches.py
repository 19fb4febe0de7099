"""Between two batches of a rollout: the fleet health budget, the gate, the pause, the record.

The rolling runner calls ``Checkpoints`` from its dispatcher thread when no host is in
flight: ``health`` before a batch starts (``max_unhealthy_percent``: the hosts failed
so far and the batch's devices a reachability probe finds down), ``gate`` after it ends
(``gate`` run on the batch's hosts, ``gate_on: once`` on one of them), and ``pause``
before the next one (a wait on the run's stop token, so a signal ends it at once). Each
returns the ``NotRun`` reason that stops the rollout, or None. Every decision goes on
the batch's record (``acmerun.rollout.Batch``).
"""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from nornir.core.inventory import Host
from nornir.core.processor import Processors
from nornir.core.task import MultiResult, Result, Task

from acmerun.outcome import FAILURES, NotRun, NotRunKind, Status
from acmerun.results import host_outcome
from acmerun.rollout import GATE_FAILED, GATE_PASSED, Batch, now
from acmerun.stop import StopToken

logger = logging.getLogger(__name__)

#: seconds the reachability probe waits for a device to accept a connection
PROBE_SECONDS = 3.0
#: ``gate_on`` values
GATE_ON = ("batch", "once")

#: a nornir task function (the gate)
GateTask = Callable[[Task], Result]
#: True when a device answers (``max_unhealthy_percent``'s probe)
Probe = Callable[[Host], bool]

_T = TypeVar("_T")


def tcp_probe(host: Host) -> bool:
    """True when the device accepts a TCP connection on its port (no port: assumed up)."""
    if not host.hostname or not host.port:
        return True
    try:
        with socket.create_connection((host.hostname, int(host.port)), timeout=PROBE_SECONDS):
            return True
    except OSError:
        return False


class Checkpoints:
    """The decisions at a rollout's batch boundaries, and the batches' records."""

    def __init__(
        self,
        *,
        gate: GateTask | None,
        gate_on: str,
        pause: float,
        max_unhealthy_percent: float | None,
        probe: Probe,
        workers: int,
        token: StopToken,
    ) -> None:
        self.gate_task = gate
        self.gate_on = gate_on
        self.pause_seconds = pause
        self.max_unhealthy_percent = max_unhealthy_percent
        self.probe = probe
        self.workers = workers
        self.token = token
        #: monotonic time the current pause ends (None when not pausing)
        self.pause_until: float | None = None

    def health(
        self, batch: Batch, hosts: Sequence[Host], unhealthy: int, total: int
    ) -> NotRun | None:
        """The reason not to start ``batch`` when too many hosts are unhealthy, else None.

        ``unhealthy`` is the hosts failed or unreachable so far; the batch's devices that
        the probe finds down are added to it.
        """
        limit = self.max_unhealthy_percent
        if limit is None or total <= 0:
            return None
        down = sum(1 for up in self._each(self.probe, hosts) if not up)
        count = unhealthy + down
        if count * 100 < limit * total:
            return None
        return NotRun(
            NotRunKind.UNHEALTHY, limit=limit, failed=count, total=total, batch=batch.index
        )

    def gate(self, batch: Batch, task: Task, ran: Sequence[Host]) -> NotRun | None:
        """Run the gate on the hosts of ``batch`` that ran; the reason it failed, or None."""
        if self.gate_task is None or not ran:
            return None
        hosts = list(ran[:1]) if self.gate_on == "once" else list(ran)
        batch.gate_hosts = tuple(h.name for h in hosts)
        gate_task = self.gate_task

        def one(host: Host) -> MultiResult:
            gate = Task(
                gate_task,
                nornir=task.nornir,
                global_dry_run=task.global_dry_run,
                processors=Processors(),
                name="gate",
            )
            try:
                return gate.start(host)
            except Exception as e:
                logger.error("the gate escaped on %s", host.name, exc_info=True)
                results = MultiResult("gate")
                results.append(
                    Result(host, result=f"{type(e).__name__}: {e}", exception=e, failed=True)
                )
                return results

        outcomes = [
            host_outcome(h.name, r) for h, r in zip(hosts, self._each(one, hosts), strict=True)
        ]
        if self.token.interrupted:
            return None  # the interrupt, not the gate, stops the rollout
        bad = next(
            (o for o in outcomes if o.status in FAILURES or o.status is Status.INTERRUPTED), None
        )
        if bad is None:
            batch.gate = GATE_PASSED
            logger.info("the gate after batch %d passed on %d hosts", batch.index, len(hosts))
            return None
        detail = bad.error or bad.status.value
        batch.gate, batch.gate_message = GATE_FAILED, f"{bad.name}: {detail}"
        logger.info("the gate after batch %d failed on %s: %s", batch.index, bad.name, detail)
        return NotRun(NotRunKind.GATE, host=bad.name, batch=batch.index, detail=detail)

    def pause(self, batch: Batch) -> None:
        """Wait the pause after ``batch``; a stop request (a signal) ends it at once."""
        if self.pause_seconds <= 0 or self.token.requested:
            return
        batch.pause_started = now()
        self.pause_until = time.monotonic() + self.pause_seconds
        logger.info("pause of %g s after batch %d", self.pause_seconds, batch.index)
        try:
            self.token.wait(self.pause_seconds)
        finally:
            self.pause_until = None
            batch.pause_ended = now()

    def pause_left(self) -> float | None:
        """Seconds left of the current pause (None when not pausing), for progress displays."""
        until = self.pause_until
        return None if until is None else max(0.0, until - time.monotonic())

    def _each(self, fn: Callable[[Host], _T], hosts: Sequence[Host]) -> list[_T]:
        if len(hosts) <= 1:
            return [fn(h) for h in hosts]
        with ThreadPoolExecutor(min(self.workers, len(hosts)), "acmerun-gate") as pool:
            return list(pool.map(fn, hosts))
