"""A run and the history: where the file is, what a run records, what ``--rerun-failed`` reads.

``remember`` is called once a run's reports are written; a history that cannot be
written never changes the run's exit code: one warning line on stderr instead.
"""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path
from typing import Any, TextIO

from acmerun.errors import BadOptions
from acmerun.history import History, HistoryError
from acmerun.history.entry import make_entry, runbook_key
from acmerun.outcome import RunOutcome, Status
from acmerun.session.options import RunOptions
from acmerun.session.record import PreparedRun
from acmerun.settings import Inputs, resolve

logger = logging.getLogger("acmerun")

#: the host statuses ``--rerun-failed`` runs again
RERUN_STATUSES = (Status.FAILED.value, Status.UNREACHABLE.value)


def history_path(history: Path | None, no_history: bool = False) -> Path | None:
    """The history file (``--history``, ``$ACMERUN_HISTORY``, the state dir's); None if off."""
    if no_history:
        return None
    value = resolve("history", Inputs(options={"history": history}, environ=os.environ)).value
    return Path(value)


def remember(run: PreparedRun, outcome: RunOutcome, code: int, err: TextIO) -> None:
    """Record the run in the history; a problem is one warning line, never another exit code."""
    from acmerun.session.signals import say

    options = run.options
    try:
        path = history_path(options.history, options.no_history)
        if path is None:
            return
        entry = make_entry(
            outcome,
            code,
            runbook_sha256=_sha256(options.runbook),
            options=shaping_options(options),
            secrets=run.secrets,
        )
        with History.open(path) as history:
            history.add(entry)
    except (BadOptions, OSError) as exc:
        line = run.secrets.mask(str(exc) if isinstance(exc, BadOptions) else _os_error(exc))
        logger.warning("history: %s", line)
        say(err, f"acmerun: warning: history: {line}")


def shaping_options(options: RunOptions) -> dict[str, Any]:
    """The options that shape which hosts and steps run (masked later, with the run's secrets)."""
    return {
        "limit": options.limit,
        "tags": list(options.tags),
        "skip_tags": list(options.skip_tags),
        "extra_vars": dict(options.extra_vars),
        "rerun_failed": options.rerun_failed,
        "cluster": options.cluster,
    }


def rerun_selection(options: RunOptions) -> tuple[str, frozenset[str]]:
    """The run ``--rerun-failed`` names (default: the runbook's last) and its failed hosts.

    ``BadOptions`` (exit 5) when there is no such run of this runbook, or no host of it
    failed or was unreachable: never a silent run of every host.
    """
    path = history_path(options.history, options.no_history)
    if path is None:
        raise BadOptions("--rerun-failed reads the run history: it cannot go with --no-history")
    runbook = str(options.runbook)
    wanted = options.rerun_failed or None
    if not path.exists():
        raise BadOptions(f"--rerun-failed: no run recorded yet in {path}")
    with History.open(path, write=False) as history:
        key = runbook_key(options.runbook)
        if wanted is not None:
            entry = history.get(wanted)
            if entry is None:
                raise BadOptions(
                    f"--rerun-failed {wanted}: no such run in {path}; "
                    f"`acmerun history {runbook}` lists the runs of this runbook"
                )
            if entry.runbook_key != key:
                raise BadOptions(
                    f"--rerun-failed {wanted}: that run was of {entry.runbook}, not of {runbook}"
                )
        else:
            last = history.runs(runbook_key=key, limit=1)
            if not last:
                raise BadOptions(f"--rerun-failed: no run of {runbook} recorded in {path}")
            entry = last[0]
        hosts = frozenset(h.host for h in history.hosts(entry.run_id, RERUN_STATUSES))
    if not hosts:
        raise BadOptions(
            f"--rerun-failed: no host failed or was unreachable in run {entry.run_id} "
            f"of {runbook}: nothing to run again"
        )
    return entry.run_id, hosts


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 16), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _os_error(exc: OSError) -> str:
    where = f"{exc.filename}: " if exc.filename else ""
    return f"{where}{exc.strerror or exc}"


__all__ = ["HistoryError", "history_path", "remember", "rerun_selection", "shaping_options"]
