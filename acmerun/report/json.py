"""The JSON report: the whole run for scripts and cron (``--report FILE``, ``--report-dir DIR``).

The format is documented in ``docs/reports.md``; scripts depend on it. Every
selected host appears, whatever happened to it. The file is written atomically
(a reader never sees half of it), results that JSON cannot hold are turned into
strings, and every secret the caller names is replaced by ``********``.
Masking never touches structure: host names, step names and the report's own
field names are kept as they are, so even a one-letter password merges no two hosts; the
keys of step results (what tasks and devices return) are masked like values.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime, timezone
from typing import Any

from acmerun import __version__
from acmerun.outcome import HostOutcome, RunOutcome, rescued
from acmerun.report.atomic import FileReport, as_utc
from acmerun.rollout import Batch
from acmerun.secrets import Redactor


class JsonReport(FileReport):
    """Writes the JSON report of a run to ``path``, or to a new timestamped file in ``directory``.

    ``exit_code`` is the code the run exits with (the caller decides it);
    ``secrets`` (the password, tokens) are masked wherever they would appear.
    After ``write``, ``written`` is the path of the file.
    """

    suffix = ".json"

    def text(self, outcome: RunOutcome) -> str:
        """The report's whole text."""
        return report_text(outcome, exit_code=self.exit_code, secrets=self.secrets)


def report_data(
    outcome: RunOutcome, *, exit_code: int, secrets: Iterable[str | None] = ()
) -> dict[str, Any]:
    """The report as JSON data (hosts sorted by name), with every secret masked."""
    data = _head(outcome, exit_code)
    redactor = Redactor(secrets)
    result: dict[str, Any] = redactor.data(data, keys=False)
    result["batches"] = _batches(outcome, redactor)
    result["hosts"] = {
        name: _masked_record(_host_record(outcome.hosts[name]), redactor)
        for name in sorted(outcome.hosts)
    }
    return result


def report_text(outcome: RunOutcome, *, exit_code: int, secrets: Iterable[str | None] = ()) -> str:
    """The report as the text of the file: ASCII JSON, one line per field and per host.

    A host's whole record is on one line, so ``grep HOST`` finds it and large
    fleets are written fast; ``jq`` pretty-prints any part of it. It parses
    to ``report_data``.
    """
    redactor = Redactor(secrets)
    head = redactor.data(_head(outcome, exit_code), keys=False)
    head["batches"] = _batches(outcome, redactor)
    fields = [f"  {_dumps(key)}: {_dumps(value)}" for key, value in head.items()]
    lines = [
        f"    {_dumps(name)}: {_host_json(_host_record(outcome.hosts[name]), redactor)}"
        for name in sorted(outcome.hosts)
    ]
    fields.append('  "hosts": {\n' + ",\n".join(lines) + "\n  }" if lines else '  "hosts": {}')
    return "{\n" + ",\n".join(fields) + "\n}\n"


def _batches(outcome: RunOutcome, redactor: Redactor) -> list[dict[str, Any]]:
    """The rollout's batches; host names kept as they are (structure), messages masked."""
    found = []
    for batch in outcome.batches:
        data = batch.to_dict()
        for key in ("gate_message", "stopped"):
            data[key] = redactor.data(data[key])
        found.append(data)
    return found


def _host_record(host: HostOutcome) -> dict[str, Any]:
    """The host's record with its count of rescued steps."""
    return {**host.to_dict(), "rescued": len(rescued(host.steps))}


def _host_json(host: dict[str, Any], redactor: Redactor) -> str:
    # Fast path: the C encoder, then a search for secrets in its output. Anything
    # unusual (a cycle, NaN, keys JSON cannot hold) or a secret found takes the
    # careful path, which converts and masks value by value.
    try:
        text = json.dumps(host, ensure_ascii=True, allow_nan=False, default=_PLAIN.data)
    except (TypeError, ValueError, RecursionError):
        return _dumps(_masked_record(host, redactor))
    if redactor.in_json(text):
        return _dumps(_masked_record(host, redactor))
    return text


def _masked_record(record: dict[str, Any], redactor: Redactor) -> dict[str, Any]:
    """A host's or a step's record masked: field names kept, step results masked whole."""
    masked: dict[str, Any] = {}
    for key, value in record.items():
        if key == "steps" and isinstance(value, list):
            masked[key] = [
                _masked_record(s, redactor) if isinstance(s, dict) else redactor.data(s)
                for s in value
            ]
        elif key in ("name", "task") and isinstance(value, str):
            masked[key] = value  # the runbook's step names: structure scripts select by
        elif key == "result":
            masked[key] = redactor.data(value)
        else:
            masked[key] = redactor.data(value, keys=False)
    return masked


def _head(outcome: RunOutcome, exit_code: int) -> dict[str, Any]:
    return {
        "acmerun_version": __version__,
        "run_id": outcome.run_id,
        "runbook": {"path": outcome.runbook, "name": outcome.name},
        "check": outcome.check,
        "target": outcome.target,
        "started": iso_utc(outcome.started),
        "ended": iso_utc(outcome.ended),
        "duration": round(max(0.0, (outcome.ended - outcome.started).total_seconds()), 6),
        "interrupted": outcome.interrupted,
        "exit_code": int(exit_code),
        "totals": outcome.totals(),
        "rescued_steps": sum(len(rescued(h.steps)) for h in outcome.hosts.values()),
        "login_rate": outcome.login_rate,
    }


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=True, allow_nan=False)


_PLAIN = Redactor()


def iso_utc(moment: datetime) -> str:
    """``2026-11-24T15:17:00.123Z``: ISO 8601, UTC, milliseconds."""
    utc = as_utc(moment)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def outcome_from_report(data: Any) -> tuple[RunOutcome, int]:
    """The run and its exit code from a report's data (what ``report_data`` gave).

    ``ValueError`` (or ``KeyError``, ``TypeError``) when ``data`` is not a report.
    """
    if not isinstance(data, dict) or not isinstance(data.get("runbook"), dict):
        raise ValueError("not an acmerun JSON report")
    hosts = data.get("hosts")
    if not isinstance(hosts, dict):
        raise ValueError("not an acmerun JSON report: no hosts")
    outcome = RunOutcome(
        runbook=str(data["runbook"]["path"]),
        name=str(data["runbook"]["name"]),
        check=bool(data["check"]),
        started=_time(data["started"]),
        ended=_time(data["ended"]),
        hosts={str(n): HostOutcome.from_dict(str(n), h) for n, h in hosts.items()},
        target=str(data.get("target") or ""),
        interrupted=bool(data.get("interrupted")),
        run_id=str(data.get("run_id") or ""),
        login_rate=dict(rate) if isinstance(rate := data.get("login_rate"), dict) else None,
        batches=[Batch.from_dict(b) for b in data.get("batches") or ()],
    )
    return outcome, int(data["exit_code"])


def _time(value: Any) -> datetime:
    moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)
