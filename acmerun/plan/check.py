"""Whether a plan may be applied: its runbook, its options and its age (``Refused``: exit 8)."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from acmerun.acmeos.defaults import MASK
from acmerun.errors import BadOptions, Refused
from acmerun.plan.document import created_at, digest_matches, file_sha256
from acmerun.settings import Inputs, resolve

_AGE = re.compile(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([smhd]?)\s*\Z")
_UNITS = {"": 1.0, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def parse_age(text: str, what: str = "--max-plan-age") -> float:
    """Seconds from ``90``, ``90s``, ``30m``, ``1h`` or ``2d``; ``BadOptions`` otherwise."""
    found = _AGE.match(str(text))
    if found is None:
        raise BadOptions(f"{what} {text!r}: expected a duration such as 90s, 30m, 1h or 2d")
    return float(found.group(1)) * _UNITS[found.group(2)]


def age_text(seconds: float) -> str:
    """``3h``, ``1d2h``, ``45m``, ``20s``: an age as people say it."""
    whole = int(seconds)
    days, rest = divmod(whole, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d{hours}h" if hours else f"{days}d"
    if hours:
        return f"{hours}h{minutes}m" if minutes else f"{hours}h"
    return f"{minutes}m" if minutes else f"{secs}s"


def max_age(given: str | None) -> tuple[float, str]:
    """The oldest plan ``apply`` runs (seconds) and how it was given (the settings table)."""
    resolved = resolve("plan_max_age", Inputs(options={"plan_max_age": given}, environ=os.environ))
    text = str(resolved.value)
    return parse_age(text, resolved.source or "plan_max_age"), text


def check_age(plan: Mapping[str, Any], limit: float, limit_text: str, now: datetime | None) -> None:
    """``Refused`` when the plan is older than ``limit`` seconds (or made in the future)."""
    moment = now or datetime.now(timezone.utc)
    age = (moment - created_at(plan)).total_seconds()
    if age > limit:
        raise Refused(
            f"plan is {age_text(age)} old, older than plan_max_age {limit_text}: "
            "make a new plan (or give --max-plan-age)"
        )
    if age < -300:
        raise Refused(f"plan was made {age_text(-age)} in the future: check the clocks")


def check_runbook(plan: Mapping[str, Any], runbook: Path) -> None:
    """``Refused`` when the runbook's content is not the plan's."""
    recorded = str(plan["runbook"]["sha256"])
    try:
        now = file_sha256(runbook)
    except OSError as exc:
        raise Refused(f"runbook {runbook}: cannot read it: {exc.strerror or exc}") from None
    if now != recorded:
        raise Refused(
            f"runbook {runbook} changed since the plan (sha256 {now[:12]}, "
            f"planned from {recorded[:12]}): make a new plan"
        )
    for included in plan["runbook"]["includes"]:
        path = Path(included["path"])
        try:
            now = file_sha256(path)
        except OSError as exc:
            raise Refused(
                f"{path}, included by runbook {runbook}: cannot read it: {exc.strerror or exc}"
            ) from None
        if now != included["sha256"]:
            raise Refused(
                f"{path}, included by runbook {runbook}, changed since the plan (sha256 "
                f"{now[:12]}, planned from {included['sha256'][:12]}): make a new plan"
            )


def _shown(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def check_options(plan: Mapping[str, Any], given: Mapping[str, Any]) -> dict[str, Any]:
    """The plan's ``-e`` values, secret ones as given; ``Refused`` when a given option differs.

    ``given``: the options typed with ``apply`` (``limit``, ``tags``, ``skip_tags``,
    ``lab``, ``extra_vars``); one left out is the plan's. A secret ``-e`` value must
    be given again (the plan holds only its digest): ``BadOptions`` when it is not.
    """
    recorded = plan["options"]
    if given.get("limit") is not None and given["limit"] != recorded["limit"]:
        raise Refused(
            f"options differ: --limit (the plan's: {recorded['limit']!r}, "
            f"given: {given['limit']!r})"
        )
    for name, option in (("tags", "--tags"), ("skip_tags", "--skip-tags")):
        mine = list(given.get(name) or ())
        if mine and mine != list(recorded[name]):
            theirs = ",".join(recorded[name]) or "none"
            raise Refused(
                f"options differ: {option} (the plan's: {theirs}, given: {','.join(mine)})"
            )
    if given.get("lab") and not recorded["lab"]:
        raise Refused("options differ: --lab (the plan was not made against the embedded lab)")
    values = dict(recorded["extra_vars"])
    digests: Mapping[str, str] = recorded["secret_extra_vars"]
    extra: Mapping[str, Any] = given.get("extra_vars") or {}
    for name, value in extra.items():
        if name in digests:
            if not digest_matches(value, digests[name]):
                raise Refused(f"options differ: -e {name} (not the value the plan was made with)")
        elif name not in values or _shown(values[name]) != _shown(value):
            theirs = _shown(values[name]) if name in values else "not set"
            raise Refused(
                f"options differ: -e {name} (the plan's: {theirs}, given: {_shown(value)})"
            )
        values[name] = value
    missing = [n for n in digests if n not in extra]
    if missing:
        raise BadOptions(
            f"the plan's -e {', '.join(missing)} {'is' if len(missing) == 1 else 'are'} secret "
            f"and not in the plan: give {'it' if len(missing) == 1 else 'them'} again with -e"
        )
    for name, value in values.items():
        if value == MASK and name not in digests:
            raise Refused(f"the plan's -e {name} is masked: make a new plan")
    return values
