"""What the history keeps of a run: its ``RunEntry`` and a ``HostEntry`` per selected host.

An entry is made once, from the run's outcome, with every secret of the run masked:
the options' values, the target, the errors and the report itself. Nothing past this
module sees an unmasked value.
"""

from __future__ import annotations

import dataclasses
import re
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from acmerun.outcome import FAILURES, RunOutcome
from acmerun.report.json import iso_utc, report_text
from acmerun.secrets import MASK, Redactor

#: ``24h``, ``7d``, ``90m``, ``2w``: a moment that far back from now
_RELATIVE = re.compile(r"(?P<n>\d{1,6})\s*(?P<unit>[smhdw])")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}

#: an extra var whose name says it is a secret is never kept, masked or not
_SECRET_NAME = re.compile(r"pass(word|wd|phrase)?|secret|token|credential", re.IGNORECASE)

#: how hard the report is compressed: 1 is several times faster than 6 for a few % more bytes
COMPRESSION = 1


@dataclass(frozen=True)
class HostEntry:
    """One selected host of a run: its status, and its first failing step and error."""

    host: str
    status: str
    changed: bool
    failed_step: str | None = None
    error: str | None = None


@dataclass(frozen=True)
class RunEntry:
    """One run as the history keeps it (secrets masked)."""

    run_id: str
    #: the runbook's path as it was given, and resolved (runs of one runbook share it)
    runbook: str
    runbook_key: str
    runbook_sha256: str
    name: str
    started: str
    ended: str
    exit_code: int
    check: bool
    target: str
    interrupted: bool
    #: the options that shaped the run: limit, tags, skip_tags, extra_vars, rerun_failed
    options: Mapping[str, Any] = field(default_factory=dict)
    totals: Mapping[str, int] = field(default_factory=dict)
    hosts: tuple[HostEntry, ...] = ()
    #: the JSON report's text, zlib-compressed (None: not kept, by an older acmerun)
    report: bytes | None = None

    def summary(self) -> dict[str, Any]:
        """The run as ``acmerun history --json`` shows it."""
        return {
            "run_id": self.run_id,
            "started": self.started,
            "ended": self.ended,
            "runbook": {"path": self.runbook, "name": self.name, "sha256": self.runbook_sha256},
            "exit_code": self.exit_code,
            "check": self.check,
            "interrupted": self.interrupted,
            "target": self.target,
            "options": dict(self.options),
            "totals": dict(self.totals),
        }

    def report_json(self) -> str | None:
        """The JSON report's text, as the run's ``--report`` wrote it (None: not kept)."""
        if self.report is None:
            return None
        return zlib.decompress(self.report).decode("utf-8")


def runbook_key(path: str | Path) -> str:
    """The runbook's resolved path: what makes two runs runs of the same runbook."""
    return str(Path(path).resolve())


def make_entry(
    outcome: RunOutcome,
    exit_code: int,
    *,
    runbook_sha256: str,
    options: Mapping[str, Any],
    secrets: Iterable[str | None] = (),
) -> RunEntry:
    """The entry of a run that ended with ``exit_code``, every secret masked."""
    redactor = Redactor(secrets)
    first_failure: dict[str, tuple[str, str]] = {}
    # only a failed or unreachable host has a failure to keep: the others are not walked
    failing = {n: h for n, h in outcome.hosts.items() if h.status in FAILURES}
    for name, step, problem in dataclasses.replace(outcome, hosts=failing).failures():
        first_failure.setdefault(name, (step, problem))
    hosts = []
    for name in sorted(outcome.hosts):
        host = outcome.hosts[name]
        path, error = first_failure.get(name, ("", ""))
        hosts.append(
            HostEntry(
                host=name,
                status=host.status.value,
                changed=host.changed,
                failed_step=path or None,
                error=redactor.text(error) if error else None,
            )
        )
    text = report_text(outcome, exit_code=exit_code, secrets=redactor.secrets)
    return RunEntry(
        run_id=outcome.run_id,
        runbook=outcome.runbook,
        runbook_key=runbook_key(outcome.runbook),
        runbook_sha256=runbook_sha256,
        name=outcome.name,
        started=iso_utc(outcome.started),
        ended=iso_utc(outcome.ended),
        exit_code=int(exit_code),
        check=outcome.check,
        target=redactor.text(outcome.target),
        interrupted=outcome.interrupted,
        options=masked_options(options, redactor),
        totals=outcome.totals(),
        hosts=tuple(hosts),
        report=zlib.compress(text.encode("utf-8"), COMPRESSION),
    )


def masked_options(options: Mapping[str, Any], redactor: Redactor) -> dict[str, Any]:
    """The options as data, secrets masked; an extra var named like a secret is masked whole."""
    kept: dict[str, Any] = {}
    for key, value in options.items():
        if key == "extra_vars" and isinstance(value, Mapping):
            kept[key] = {
                str(name): MASK if _SECRET_NAME.search(str(name)) else redactor.data(v)
                for name, v in value.items()
            }
        else:
            kept[key] = redactor.data(value)
    return kept


def parse_since(text: str, now: datetime | None = None) -> datetime:
    """The moment ``--since`` names: ``24h``, ``7d`` back from now, or an ISO date or time.

    An ISO time without a zone is UTC (acmerun writes every time in UTC).
    ``ValueError`` with a message to show when ``text`` is neither.
    """
    now = now or datetime.now(timezone.utc)
    spec = text.strip()
    relative = _RELATIVE.fullmatch(spec)
    if relative:
        amount = int(relative["n"])
        return now - timedelta(**{_UNITS[relative["unit"]]: amount})
    try:
        moment = datetime.fromisoformat(spec)
    except ValueError:
        raise ValueError(
            f"{text!r} is neither a time back from now (24h, 7d, 30m, 2w) "
            "nor an ISO date or time (2026-12-01, 2026-12-01T02:00Z)"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)
