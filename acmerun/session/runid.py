"""A run's id: ``20261203T132100Z-3f9a1c2b``, the UTC start to the second and 8 random hex digits.

Ids sort by start time, are safe in a file name, and name a run in its reports,
its journal and the run history.
"""

from __future__ import annotations

import re
import secrets
from datetime import datetime, timezone

#: what an id looks like (``acmerun show`` tells an id from a report's path by it)
RUN_ID = re.compile(r"\d{8}T\d{6}Z-[0-9a-f]{8}")


def new_run_id(now: datetime | None = None) -> str:
    """A fresh id for a run starting ``now`` (default: this moment)."""
    moment = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
    return f"{moment:%Y%m%dT%H%M%SZ}-{secrets.token_hex(4)}"


def is_run_id(text: str) -> bool:
    """True when ``text`` has the shape of a run id."""
    return RUN_ID.fullmatch(text) is not None
