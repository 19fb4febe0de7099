"""Times in outcomes and reports: ISO 8601, UTC, milliseconds (``2026-11-24T15:17:00.123Z``)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any


def parse_moment(value: Any) -> datetime | None:
    """A time ``iso_moment`` wrote (any ISO 8601; naive means UTC), or None."""
    if not value:
        return None
    moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)


def iso_moment(moment: datetime | None) -> str | None:
    """``2026-11-24T15:17:00.123Z`` (UTC, milliseconds, as the reports write times), or None."""
    if moment is None:
        return None
    utc = moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment
    utc = utc.astimezone(timezone.utc)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"
