"""The runbook engine: schema, loader, typed model, templating, compiler to nornir tasks."""

from __future__ import annotations

from acmerun.runbook.loader import (
    SCHEMA_URL,
    load_runbook,
    load_runbook_text,
    schema,
    validate_paths,
)
from acmerun.runbook.model import InventorySpec, Rolling, Runbook, Step, Strategy

__all__ = [
    "SCHEMA_URL",
    "InventorySpec",
    "Rolling",
    "Runbook",
    "Step",
    "Strategy",
    "load_runbook",
    "load_runbook_text",
    "schema",
    "validate_paths",
]
