"""A run's secrets, and the one mask every output path applies.

``Secrets`` is the registry one run owns: the CLI creates it, the configuration
file's and the inventory's passwords are added as they are read, and every
output (the terminal, the log, the reports, the crash log) masks what it holds
with ``MASK``. Nothing here is process-global.

``Redactor`` applies a set of secrets: ``text`` masks a string, ``data`` turns
any step result (objects, bytes, sets, tuples as keys, NaN) into plain JSON
data, stringifying what JSON cannot hold, with every secret masked in every
string, keys included. It is the safety net behind the rule that passwords
never appear in a report.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import math
import os
import threading
from collections.abc import Iterable, Iterator, Mapping
from datetime import date, datetime, time, timedelta
from pathlib import PurePath
from typing import Any

from acmerun.acmeos.defaults import MASK, PASSWORD_ENV

__all__ = ["MASK", "Redactor", "Secrets"]

_MAX_DEPTH = 64


class Secrets:
    """The secrets one run knows of; iterating gives them longest first. Thread-safe."""

    def __init__(self, values: Iterable[str | None] = ()) -> None:
        self._lock = threading.Lock()
        self._values: set[str] = set()
        self._ordered: tuple[str, ...] = ()
        for value in values:
            self.add(value)

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> Secrets:
        """A registry holding the password the environment gives devices (``$ACMEOS_PASSWORD``)."""
        environ = os.environ if environ is None else environ
        return cls([environ.get(PASSWORD_ENV)])

    def add(self, secret: str | None) -> None:
        """Remember ``secret`` so that nothing the run writes can contain it."""
        if not secret or not isinstance(secret, str):
            return
        with self._lock:
            if secret not in self._values:
                self._values.add(secret)
                self._ordered = tuple(sorted(self._values, key=len, reverse=True))

    def __iter__(self) -> Iterator[str]:
        return iter(self._ordered)

    def __len__(self) -> int:
        return len(self._ordered)

    def __repr__(self) -> str:
        return f"Secrets({len(self)} held)"

    def mask(self, text: str) -> str:
        """``text`` with every secret replaced by ``MASK``."""
        return Redactor(self).text(text)

    def redactor(self) -> Redactor:
        """A ``Redactor`` for the secrets held now."""
        return Redactor(self)


class Redactor:
    """Replaces secrets in strings and makes any value JSON-safe."""

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        # longest first, so a secret that contains another is masked whole
        self.secrets: tuple[str, ...] = tuple(
            sorted({s for s in secrets if s}, key=len, reverse=True)
        )
        self._escaped = tuple(json.dumps(s, ensure_ascii=True)[1:-1] for s in self.secrets)

    def text(self, value: str) -> str:
        """``value`` with every secret replaced by ``********``."""
        for secret in self.secrets:
            if secret in value:
                value = value.replace(secret, MASK)
        return value

    def in_json(self, text: str) -> bool:
        """True if ASCII JSON text (``json.dumps(..., ensure_ascii=True)``) holds a secret."""
        return any(escaped in text for escaped in self._escaped)

    def data(self, value: Any) -> Any:
        """``value`` as JSON data (dict, list, str, int, float, bool, None), secrets masked."""
        return self._data(value, 0, set())

    def _data(self, value: Any, depth: int, seen: set[int]) -> Any:
        kind = type(value)
        if kind is str:
            return self.text(value) if self.secrets else value
        if value is None or kind is bool or kind is int:
            return value
        if kind is float:
            return value if math.isfinite(value) else str(value)
        if kind is dict or kind is list:
            if depth >= _MAX_DEPTH:
                return self.text(_to_str(value))
            if id(value) in seen:
                return "<cycle>"
            seen.add(id(value))
            try:
                if kind is dict:
                    return {
                        k if type(k) is str and not self.secrets else self._key(k): self._data(
                            v, depth + 1, seen
                        )
                        for k, v in value.items()
                    }
                return [self._data(v, depth + 1, seen) for v in value]
            finally:
                seen.discard(id(value))
        return self._other(value, depth, seen)

    def _other(self, value: Any, depth: int, seen: set[int]) -> Any:
        if isinstance(value, enum.Enum):
            return self._data(value.value, depth, seen)
        if isinstance(value, str):
            return self.text(str(value))
        if isinstance(value, bool):
            return bool(value)
        if isinstance(value, int):
            return int(value)
        if isinstance(value, float):
            return self._data(float(value), depth, seen)
        if depth >= _MAX_DEPTH:
            return self.text(_to_str(value))
        if isinstance(value, (datetime, date, time)):
            return value.isoformat()
        if isinstance(value, timedelta):
            return value.total_seconds()
        if isinstance(value, (bytes, bytearray, memoryview)):
            return self.text(bytes(value).decode("utf-8", errors="replace"))
        if isinstance(value, PurePath):
            return self.text(str(value))
        if id(value) in seen:
            return "<cycle>"
        seen.add(id(value))
        try:
            if isinstance(value, Mapping):
                return {self._key(k): self._data(v, depth + 1, seen) for k, v in value.items()}
            if isinstance(value, (list, tuple, set, frozenset)):
                items = value
                if isinstance(value, (set, frozenset)):
                    items = sorted(value, key=repr)
                return [self._data(v, depth + 1, seen) for v in items]
            if dataclasses.is_dataclass(value) and not isinstance(value, type):
                fields = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
                return self._data(fields, depth + 1, seen)
        finally:
            seen.discard(id(value))
        return self.text(_to_str(value))

    def _key(self, key: Any) -> str:
        if isinstance(key, str):
            return self.text(key)
        if isinstance(key, enum.Enum):
            key = key.value
        return self.text(key if isinstance(key, str) else _to_str(key))


def _to_str(value: Any) -> str:
    try:
        return str(value)
    except Exception:
        try:
            return repr(value)
        except Exception:
            return f"<unprintable {type(value).__name__}>"
