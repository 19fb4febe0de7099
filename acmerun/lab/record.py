"""The install record: one entry per install a lab device ran (the lab's and the state file's)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

#: install records a state file keeps: the newest ones
MAX_INSTALLS = 10_000
#: what an install record says happened
INSTALLED = "installed"
FAILED = "failed"


def install_record(
    device: str, previous: str, version: str, at: float, result: str
) -> dict[str, Any]:
    """One install, as the lab records it: ``result`` is ``installed`` or ``failed``."""
    return {"device": device, "from": previous, "to": version, "at": at, "result": result}


def merge_installs(record: list[dict[str, Any]], new: Sequence[dict[str, Any]]) -> None:
    """Add the installs of ``new`` that ``record`` lacks, keep it in time order and bounded."""
    known = {(r["device"], r["at"], r["to"]) for r in record}
    added = [r for r in new if (r["device"], r["at"], r["to"]) not in known]
    if added:
        record.extend(added)
        record.sort(key=lambda r: float(r["at"]))
    del record[:-MAX_INSTALLS]


def is_install(record: object) -> bool:
    """Whether ``record`` (read from a state file) is an install record."""
    return (
        isinstance(record, dict)
        and isinstance(record.get("device"), str)
        and isinstance(record.get("from"), str)
        and isinstance(record.get("to"), str)
        and isinstance(at := record.get("at"), (int, float))
        and not isinstance(at, bool)
        and math.isfinite(at)
        and record.get("result") in (INSTALLED, FAILED)
    )
