"""Filters runbook templates get on top of Jinja2's own."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def version_tuple(version: Any) -> tuple[int, ...]:
    """``'5.4.1'`` as ``(5, 4, 1)``, so versions compare as numbers: ``v | version_tuple``."""
    return tuple(int(part) for part in str(version).split("."))


FILTERS: dict[str, Callable[..., Any]] = {"version_tuple": version_tuple}
