"""A run as data: what ``prepare`` makes of the options, handed to an executor.

``PreparedRun`` is the one record that crosses the seam between preparing a run
(runbook, inventory, selection, settings) and executing it (threads here, or a
Dask cluster): an executor needs nothing else, and reads nothing private.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TextIO

from acmerun.acmeos.defaults import MASK
from acmerun.defaults import DEFAULT_AUTH_FAILURE_LIMIT
from acmerun.outcome import HostOutcome
from acmerun.rollout import Batch
from acmerun.runbook.compiler import CompiledRunbook
from acmerun.runbook.model import Runbook
from acmerun.secrets import Secrets
from acmerun.session.options import RunOptions
from acmerun.stop import StopToken

if TYPE_CHECKING:
    from nornir.core import Nornir

    from acmerun.plugins.connections.rate import LoginRate


@dataclass(frozen=True)
class InventorySource:
    """Where the hosts come from: a nornir inventory plugin and its options (url resolved)."""

    plugin: str
    options: Mapping[str, Any]
    #: True when the target is the embedded lab this process started
    embedded: bool = False


@dataclass(frozen=True)
class Credentials:
    """What the run logs in with where the inventory gives no credentials."""

    username: str | None = None
    password: str | None = None

    def __repr__(self) -> str:
        hidden = MASK if self.password else None
        return f"Credentials(username={self.username!r}, password={hidden!r})"


@dataclass(frozen=True)
class RunnerSettings:
    """The rolling runner's settings for this run (``strategy`` and the settings table)."""

    workers: int
    max_fail_percentage: float | None = None
    serial: tuple[int | str, ...] | None = None
    rolling: bool = False
    max_down: int = 1
    on_failure: str = "halt_group"
    #: devices that may refuse the credentials before no new host starts (0: no limit)
    auth_failure_limit: int = DEFAULT_AUTH_FAILURE_LIMIT
    #: new device sessions per second across the run (None: no limit); a cluster's
    #: shards each get their share
    connect_rate: int | None = None
    #: the first batch: a number of hosts or "N%" (a pattern is resolved to ``canary_hosts``)
    canary: int | str | None = None
    #: True when the runbook has ``strategy.gate`` steps
    gated: bool = False
    gate_on: str = "batch"
    pause: float = 0.0
    max_unhealthy_percent: float | None = None
    max_failed_in_batch: int | None = None

    @property
    def batched(self) -> bool:
        """True when the rollout has batch boundaries worth deciding at (beyond ``serial``)."""
        return bool(self.canary or self.gated or self.pause or self.max_unhealthy_percent)

    def nornir_options(
        self,
        group_of: Callable[[Any], str] | None,
        stop: StopToken,
        fleet_size: int | None = None,
        *,
        gate: Callable[[Any], Any] | None = None,
        canary_of: Callable[[Any], bool] | None = None,
        batches: list[Batch] | None = None,
    ) -> dict[str, Any]:
        """The ``RollingRunner`` options: ``group_of`` names a host's redundancy group,
        ``gate`` is the gate's nornir task, ``canary_of`` tells a canary host (a pattern),
        ``batches`` receives the rollout's batch records."""
        options: dict[str, Any] = {
            "num_workers": self.workers,
            "max_fail_percentage": self.max_fail_percentage,
            "serial": self.serial,
            "stop": stop,
            "auth_failure_limit": self.auth_failure_limit,
            "canary": canary_of if canary_of is not None else self.canary,
            "gate": gate if self.gated else None,
            "gate_on": self.gate_on,
            "pause": self.pause,
            "max_unhealthy_percent": self.max_unhealthy_percent,
            "max_failed_in_batch": self.max_failed_in_batch,
            "batches": batches,
        }
        if fleet_size is not None:
            options["fleet_size"] = fleet_size
        if self.rolling:
            options.update(group_by=group_of, max_down=self.max_down, on_failure=self.on_failure)
        return options


@dataclass(frozen=True)
class ReportTargets:
    """Where the reports of the run go."""

    report: Path | None = None
    report_dir: Path | None = None
    junit: Path | None = None
    html: Path | None = None


@dataclass(frozen=True)
class PreparedRun:
    """One run, ready to execute: every selected host, and all that shapes the run."""

    options: RunOptions
    runbook: Runbook
    compiled: CompiledRunbook
    nornir: Nornir
    #: the selected hosts, sorted
    selected: tuple[str, ...]
    #: each selected host's redundancy group ("" without rolling)
    groups: Mapping[str, str]
    inventory: InventorySource
    runner: RunnerSettings
    credentials: Credentials
    reports: ReportTargets
    secrets: Secrets
    #: the first line of the run: what it targets
    target: str
    stop: StopToken
    #: the run's id (``session/runid.py``): in its reports, journal and history
    run_id: str = ""
    #: the run's login rate (``strategy.connect_rate``), None without one: shared by every
    #: thread of this process; a cluster adds what its shards waited
    logins: LoginRate | None = None
    #: where the run's events go (the journal, ``--events``); None: nowhere
    events: RunEvents | None = None
    #: the rollout's batches, as the executor ran them (``acmerun/rollout.py``)
    batches: list[Batch] = field(default_factory=list)
    #: a resumed run's part still to run: how many hosts of the whole run failed before it,
    #: and how many the whole run has (0: ``selected``); ``max_fail_percentage`` and
    #: ``max_failed_in_batch`` count the whole run's
    failed_before: int = 0
    run_size: int = 0


class RunEvents(Protocol):
    """The run's event log (``acmerun.journal.log.EventLog``), told as hosts start and end."""

    def host_started(self, host: str) -> None:
        """A host starts (on disk before it touches its device)."""
        ...

    def hosts_started(self, hosts: Iterable[str]) -> None:
        """Hosts start at once (a cluster's shard): on disk before they touch their devices."""
        ...

    def host_ended(self, outcome: HostOutcome) -> None:
        """A host is done, or was not run."""
        ...


class Executor(Protocol):
    """Runs a prepared run's hosts: local threads, or a Dask cluster."""

    def execute(self, run: PreparedRun, out: TextIO) -> dict[str, HostOutcome]:
        """Run every selected host; a ``HostOutcome`` for each of them, whatever happened.

        The run's stop token stops it (no new host; on an interrupt, no new step);
        once ``stop.abandoned``, it returns without waiting for the hosts in flight.
        """
        ...
