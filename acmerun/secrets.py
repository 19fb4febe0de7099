"""A run's secrets, and the one mask every output path applies.

``Secrets`` is the registry one run owns: the CLI creates it, the configuration
file's and the inventory's passwords are added as they are read, and every
output (the terminal, the log, the reports, the crash log) masks what it holds
with ``MASK``. Nothing here is process-global.

``Redactor`` applies a set of secrets: ``text`` masks a string, ``data`` turns
any step result (objects, bytes, sets, tuples as keys, NaN) into plain JSON
data, stringifying what JSON cannot hold, with every secret masked in every
string, keys included (``data(value, keys=False)`` leaves keys alone, for
the records whose keys are structure: host names, field names). It is the
safety net behind the rule that passwords never appear in a report.

A secret is masked in every form it takes in text: as is, repr-escaped,
JSON-escaped, with its whitespace collapsed; and the password of a URL's
userinfo (``http://user:pw@host``) is masked whether the run knows it or not.
Masking comes first: truncating, collapsing or escaping a text happens after.

``printable`` is for the terminal: control characters (ANSI escapes, newlines,
carriage returns, bells) in host names and device text become visible
escapes such as ``\\x1b``, so what a device sends cannot redraw the screen.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import math
import os
import re
import threading
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from datetime import date, datetime, time, timedelta
from pathlib import PurePath
from typing import Any

from acmerun.acmeos.defaults import MASK, PASSWORD_ENV

__all__ = ["MASK", "Redactor", "Secrets", "printable"]

_MAX_DEPTH = 64

#: ``scheme://user:password@``: the password part is masked wherever it appears
_USERINFO = re.compile(r"(?P<head>\b[A-Za-z][A-Za-z0-9+.-]*://[^:/@\s]*):(?P<pw>[^@/\s]+)@")

#: the line and paragraph separators Python's ``splitlines`` honors besides the C0 ones
_SEPARATORS = frozenset("\u2028\u2029\x85")


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
        forms: set[str] = set()
        for secret in self.secrets:
            forms.update(_forms(secret))
        self._forms = tuple(sorted(forms, key=len, reverse=True))

    def text(self, value: str) -> str:
        """``value`` with every secret (in any of its forms) and URL password masked."""
        for form in self._forms:
            if form in value:
                value = value.replace(form, MASK)
        if "://" in value:
            value = _USERINFO.sub(lambda m: f"{m['head']}:{MASK}@", value)
        return value

    def in_json(self, text: str) -> bool:
        """True if ASCII JSON text (``json.dumps(..., ensure_ascii=True)``) holds a secret."""
        return any(escaped in text for escaped in self._escaped)

    def data(self, value: Any, *, keys: bool = True) -> Any:
        """``value`` as JSON data (dict, list, str, int, float, bool, None), secrets masked.

        With ``keys=False`` dict keys are kept as they are (stringified), so a
        short password never merges two entries.
        """
        return self._data(value, 0, set(), keys)

    def _data(self, value: Any, depth: int, seen: set[int], keys: bool = True) -> Any:
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
                    return self._dict(value, depth, seen, keys)
                return [self._data(v, depth + 1, seen, keys) for v in value]
            finally:
                seen.discard(id(value))
        return self._other(value, depth, seen, keys)

    def _other(self, value: Any, depth: int, seen: set[int], keys: bool) -> Any:
        if isinstance(value, enum.Enum):
            return self._data(value.value, depth, seen, keys)
        if isinstance(value, str):
            return self.text(str(value))
        if isinstance(value, bool):
            return bool(value)
        if isinstance(value, int):
            return int(value)
        if isinstance(value, float):
            return self._data(float(value), depth, seen, keys)
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
                return self._dict(value, depth, seen, keys)
            if isinstance(value, (list, tuple, set, frozenset)):
                items = value
                if isinstance(value, (set, frozenset)):
                    items = sorted(value, key=repr)
                return [self._data(v, depth + 1, seen, keys) for v in items]
            if dataclasses.is_dataclass(value) and not isinstance(value, type):
                fields = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
                return self._data(fields, depth + 1, seen, keys)
        finally:
            seen.discard(id(value))
        return self.text(_to_str(value))

    def _dict(self, value: Mapping[Any, Any], depth: int, seen: set[int], keys: bool) -> Any:
        out: dict[str, Any] = {}
        for k, v in value.items():
            key = self._key(k, keys)
            while key in out:  # two keys masked alike: both entries are kept
                key += "'"
            out[key] = self._data(v, depth + 1, seen, keys)
        return out

    def _key(self, key: Any, mask: bool) -> str:
        if isinstance(key, enum.Enum):
            key = key.value
        text = key if isinstance(key, str) else _to_str(key)
        return self.text(text) if mask and self.secrets else text


def printable(text: str) -> str:
    """``text`` with every control character shown as an escape (``\\x1b``, ``\\n``...)."""
    if text.isprintable():
        return text
    return "".join(_escape(ch) for ch in text)


def _escape(ch: str) -> str:
    if ch.isprintable() or (ch == " "):
        return ch
    if ch not in _SEPARATORS and unicodedata.category(ch) not in ("Cc", "Cf", "Zl", "Zp"):
        return ch  # e.g. a non-breaking space: harmless on a terminal
    return repr(ch)[1:-1] if ch.isascii() or len(repr(ch)) > 3 else f"\\u{ord(ch):04x}"


def _forms(secret: str) -> set[str]:
    """The ways ``secret`` shows in text: as is, repr- and JSON-escaped, whitespace collapsed."""
    forms = {secret, repr(secret)[1:-1], json.dumps(secret)[1:-1]}
    forms.add(json.dumps(secret, ensure_ascii=False)[1:-1])
    forms.add(secret.encode("unicode_escape").decode("ascii"))
    collapsed = " ".join(secret.split())
    if collapsed:
        forms.add(collapsed)
    return {f for f in forms if f}


def _to_str(value: Any) -> str:
    try:
        return str(value)
    except Exception:
        try:
            return repr(value)
        except Exception:
            return f"<unprintable {type(value).__name__}>"


#: an ``-e`` key whose value a crash log never shows
_SECRET_KEY = re.compile(r"pass|secret|token|key|cred|auth", re.IGNORECASE)


def secret_looking(key: str) -> bool:
    """True for an ``-e`` key whose value no file keeps (``db_password``, ``api_token``)."""
    return _SECRET_KEY.search(key) is not None


def _masked_extra_var(value: str) -> str:
    """One ``-e`` value with what may be secret masked: a secret-looking key's value, and
    inline JSON/YAML data (``{...}``/``[...]``, alone or after ``KEY=``) naming such a key."""
    if value.startswith("@"):
        return value
    key, eq, data = value.partition("=")
    if not eq or key.lstrip().startswith(("{", "[")):
        key, data = "", value
    if key and _SECRET_KEY.search(key):
        return f"{key}={MASK}"
    if data.lstrip().startswith(("{", "[")) and _SECRET_KEY.search(data):
        return f"{key}={MASK}" if key else MASK
    return value


def masked_argv(argv: list[str]) -> list[str]:
    """``argv`` with secret-looking ``-e KEY=VALUE`` values and URL passwords masked."""
    out: list[str] = []
    after_e = False
    for arg in argv:
        value = arg
        for prefix in ("--extra-vars=", "-e"):
            if not after_e and arg.startswith(prefix) and arg != prefix and arg != "--extra-vars":
                out_prefix, value = prefix, arg[len(prefix) :]
                break
        else:
            out_prefix = ""
        if after_e or out_prefix:
            value = _masked_extra_var(value)
        out.append(_USERINFO.sub(lambda m: f"{m['head']}:{MASK}@", out_prefix + value))
        after_e = arg in ("-e", "--extra-vars")
    return out
