"""The plan file: what ``acmerun plan`` found, as versioned JSON (``plan.schema.json``).

A plan names the runbook (path and sha256 of its content), the options that shape
the run (``--limit``, ``-e``, ``--tags``, ``--skip-tags``, ``--lab``), every selected
host with the state of its device (``state.fingerprint``) and every step that would
change it. A secret ``-e`` value (a secret-looking name, or a known secret) is never
written: the plan holds the mask and a salted PBKDF2 digest, so that ``apply`` can
check the value given again. The file is written atomically, mode 0640.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets as random
from collections.abc import Mapping
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path
from typing import Any

from acmerun import __version__
from acmerun.acmeos.defaults import MASK
from acmerun.errors import BadOptions
from acmerun.outcome import RunOutcome, Status, StepOutcome, walk
from acmerun.secrets import Redactor, Secrets, secret_looking

#: the plan format this acmerun writes and reads; a newer one is refused
PLAN_VERSION = 1
#: the ``format`` field of every plan
PLAN_FORMAT = "acmerun-plan"
#: PBKDF2 iterations of a secret ``-e`` value's digest
_ITERATIONS = 200_000
#: the most of a plan file read (a plan of 10,000 hosts is a few MiB)
MAX_PLAN_BYTES = 256 * 1024 * 1024

_UPGRADE = re.compile(r"would upgrade (\S+) -> (\S+)")
_INSTALL = re.compile(r"would install (\S+) over (\S+)")


def schema() -> dict[str, Any]:
    """The plan file's JSON Schema (``acmerun/plan/plan.schema.json``)."""
    text = resources.files("acmerun.plan").joinpath("plan.schema.json").read_text("utf-8")
    found: dict[str, Any] = json.loads(text)
    return found


def file_sha256(path: Path) -> str:
    """The sha256 of a file's content, hex."""
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 16), b""):
            digest.update(block)
    return digest.hexdigest()


def runbook_files(runbook: Path, steps: Any) -> list[dict[str, str]]:
    """The files the runbook includes (every step's file but its own), each with its sha256."""
    files = {Path(s.location.rsplit(":", 2)[0]).resolve() for s in steps if s.location}
    files.discard(runbook.resolve())
    return [{"path": str(f), "sha256": file_sha256(f)} for f in sorted(files)]


def is_secret(name: str, value: Any, secrets: Secrets) -> bool:
    """True for an ``-e`` value a plan never holds: a secret-looking name, or a known secret."""
    text = json.dumps(value, sort_keys=True, default=str)
    return secret_looking(name) or Redactor(secrets).text(text) != text


def digest(value: Any, salt: str | None = None) -> str:
    """``pbkdf2_sha256$ITERATIONS$SALT$HASH`` of a value's canonical JSON."""
    salt = salt or random.token_hex(16)
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    hashed = hashlib.pbkdf2_hmac("sha256", text.encode(), bytes.fromhex(salt), _ITERATIONS)
    return f"pbkdf2_sha256${_ITERATIONS}${salt}${hashed.hex()}"


def digest_matches(value: Any, recorded: str) -> bool:
    """True when ``value`` is the value ``recorded`` (a ``digest``) was made of."""
    parts = recorded.split("$")
    if len(parts) != 4 or parts[0] != "pbkdf2_sha256" or parts[1] != str(_ITERATIONS):
        return False
    return hmac.compare_digest(digest(value, parts[2]), recorded)


def change_of(path: str, step: StepOutcome) -> dict[str, Any]:
    """One would-be change: the step, its task, what check mode said, before/after if known."""
    before = after = None
    text = step.result if isinstance(step.result, str) else None
    if text is not None:
        found = _UPGRADE.fullmatch(text)
        if found is not None:
            before, after = found.group(1), found.group(2)
        found = _INSTALL.fullmatch(text)
        if found is not None:
            after, before = found.group(1), found.group(2)
    if before is not None:
        summary = f"{path}: {before} -> {after}"
    elif text is not None:
        summary = f"{path}: {text}"
    else:
        summary = f"{path}: changed"
    return {
        "step": path,
        "task": step.task,
        "result": step.result,
        "before": before,
        "after": after,
        "summary": summary,
    }


def _host_entry(host: Any, redactor: Redactor) -> dict[str, Any]:
    steps = list(host.steps)
    state = None
    if steps and isinstance(steps[0].result, Mapping) and steps[0].status is Status.OK:
        first = steps[0].result
        state = {"running": str(first.get("running")), "fingerprint": str(first.get("fingerprint"))}
        steps = steps[1:]
    changes = [
        change_of(path, step)
        for path, step in walk(steps)
        if step.changed and not any(child.changed for child in step.steps)
    ]
    status = host.status.value
    if state is None and host.status in (Status.OK, Status.CHANGED):
        status = Status.FAILED.value
    return {
        "status": status,
        "state": state,
        "error": redactor.text(host.error) if host.error is not None else None,
        "changes": redactor.data(changes, keys=False),
    }


def build(
    outcome: RunOutcome,
    *,
    runbook: Path,
    includes: list[dict[str, str]],
    options: Mapping[str, Any],
    extra_vars: Mapping[str, Any],
    secrets: Secrets,
) -> dict[str, Any]:
    """The plan of a check-mode run; every secret masked (``-e`` secrets: mask and digest)."""
    shown: dict[str, Any] = {}
    digests: dict[str, str] = {}
    hidden = Secrets(list(secrets))
    for name, value in extra_vars.items():
        if is_secret(name, value, secrets):
            shown[name] = MASK
            digests[name] = digest(value)
            for leaf in _strings(value):
                hidden.add(leaf)
        else:
            shown[name] = value
    redactor = Redactor(hidden)
    hosts = {name: _host_entry(outcome.hosts[name], redactor) for name in sorted(outcome.hosts)}
    plan: dict[str, Any] = {
        "format": PLAN_FORMAT,
        "version": PLAN_VERSION,
        "run_id": outcome.run_id,
        "created": _iso(outcome.started),
        "acmerun_version": __version__,
        "runbook": {"path": str(runbook), "sha256": file_sha256(runbook), "includes": includes},
        "name": outcome.name,
        "target": outcome.target,
        "options": {
            **options,
            "extra_vars": redactor.data(shown, keys=False),
            "secret_extra_vars": digests,
        },
        "selected": sorted(outcome.hosts),
        "hosts": hosts,
    }
    return plan


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, Mapping):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, (list, tuple)):
        return [s for v in value for s in _strings(v)]
    return [str(value)] if value is not None and not isinstance(value, bool) else []


def _iso(moment: datetime) -> str:
    utc = moment.astimezone(timezone.utc)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def created_at(plan: Mapping[str, Any]) -> datetime:
    """When the plan was made (its ``created``), UTC."""
    return datetime.fromisoformat(str(plan["created"]).replace("Z", "+00:00"))


def load(path: Path) -> dict[str, Any]:
    """The plan in ``path``, checked against its schema; ``BadOptions`` (exit 5) if it is none."""
    import jsonschema

    try:
        with path.open("rb") as stream:
            raw = stream.read(MAX_PLAN_BYTES + 1)
    except OSError as exc:
        raise BadOptions(f"{path}: cannot read the plan: {exc.strerror or exc}") from None
    if len(raw) > MAX_PLAN_BYTES:
        raise BadOptions(f"{path}: not a plan: over {MAX_PLAN_BYTES // (1024 * 1024)} MiB")
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        where = ""
        if isinstance(exc, json.JSONDecodeError):
            where = f" (line {exc.lineno}, column {exc.colno})"
        raise BadOptions(
            f"{path}: not a plan: not JSON{where}; make one with acmerun plan"
        ) from None
    if not isinstance(data, dict) or data.get("format") != PLAN_FORMAT:
        raise BadOptions(
            f'{path}: not a plan (no "format": "{PLAN_FORMAT}"); make one with acmerun plan'
        )
    version = data.get("version")
    if isinstance(version, int) and not isinstance(version, bool) and version > PLAN_VERSION:
        raise BadOptions(
            f"{path}: plan format version {version} is newer than this acmerun's "
            f"({PLAN_VERSION}, acmerun {__version__}): apply it with the acmerun that made it"
        )
    error = jsonschema.exceptions.best_match(
        jsonschema.Draft202012Validator(schema()).iter_errors(data)
    )
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "(the top)"
        message = " ".join(error.message.split())[:200]
        raise BadOptions(f"{path}: not a valid plan: at {where}: {message}")
    return data
