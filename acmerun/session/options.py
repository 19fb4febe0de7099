"""``RunOptions``: everything that shapes one run, as the command line gives it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from acmerun.config import Config
from acmerun.runbook.guard import HostGuard
from acmerun.secrets import Secrets


@dataclass(frozen=True)
class RunOptions:
    """Everything that shapes one run; the CLI's options, one for one."""

    runbook: Path
    check: bool = False
    detailed_exitcode: bool = False
    limit: str | None = None
    extra_vars: Mapping[str, Any] = field(default_factory=dict)
    tags: tuple[str, ...] = ()
    skip_tags: tuple[str, ...] = ()
    workers: int | None = None
    #: --auth-failure-limit (0: no limit; None: the runbook's, the config file's, else 3)
    auth_failure_limit: int | None = None
    #: --connect-rate: new device sessions per second (None: the runbook's, the config's)
    connect_rate: int | None = None
    list_hosts: bool = False
    list_steps: bool = False
    report: Path | None = None
    report_dir: Path | None = None
    junit: Path | None = None
    #: write the HTML report (a page to look at) to this file
    html: Path | None = None
    quiet: bool = False
    no_color: bool = False
    log_file: Path | None = None
    config: Config = field(default_factory=Config)
    wait_lock: float = 0.0
    #: 1 (``-v``): print every step's result as its host is done; 2 (``-vv``): and its value
    verbosity: int = 0
    #: show live progress; None: when stdout is a terminal and not --quiet
    progress: bool | None = None
    #: run on this Dask cluster (``local:N`` or a scheduler address); see acmerun.distributed
    cluster: str | None = None
    #: the host-data key that splits the hosts into shards on a cluster
    shard_by: str = "site"
    #: target the embedded lab (the simulated fleet), whatever inventory is configured
    lab: bool = False
    #: a person at a terminal (the embedded lab may then be chosen when no inventory is
    #: configured); None: when standard input or output is a terminal
    interactive: bool | None = None
    #: the history file (None: ``$ACMERUN_HISTORY``, else the state dir's history.sqlite)
    history: Path | None = None
    #: record nothing in the history
    no_history: bool = False
    #: run only the hosts that failed or were unreachable in this recorded run
    #: ("": the runbook's last recorded run; None: every selected host)
    rerun_failed: str | None = None
    #: a step run first on every host that may leave it untouched (``acmerun plan``, ``apply``)
    guard: HostGuard | None = None
    #: run only these of the selected hosts (``acmerun apply``: the plan's); None: all of them
    only_hosts: tuple[str, ...] | None = None
    #: write the run's events to this file, one JSON object a line (``-``: standard output)
    events: Path | None = None
    #: continue the run of this id, which died (``acmerun resume``); its journal says the rest
    resume: str | None = None
    #: the run's secrets: every output masks them
    secrets: Secrets = field(default_factory=Secrets.from_environment)
