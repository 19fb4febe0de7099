"""What the AcmeOS client's calls answer: plain dictionaries, typed (``acmerun.acmeos.client``)."""

from __future__ import annotations

from typing import Any, TypedDict

from acmerun.acmeos.errors import CommandError


class VersionInfo(TypedDict):
    """``get_version()``: ``{"os_version": "5.2", "revision": "1", "full_version": "5.2.1",
    "previous_version": "5.1.4"}``; ``previous_version`` is None before any install."""

    os_version: str
    revision: str
    full_version: str
    previous_version: str | None


class Interface(TypedDict):
    """One of ``get_interfaces()``: ``admin_state`` and ``oper_state`` are ``up`` or ``down``."""

    name: str
    admin_state: str
    oper_state: str
    description: str


class Neighbor(TypedDict):
    """One of ``get_neighbors()``: ``state`` is ``established`` when the session works."""

    peer: str
    interface: str
    state: str
    prefixes_received: int


class RebootReport(TypedDict):
    """``reboot()``: ``{"status": "rebooting", "reboot_seconds": 2.0}``."""

    status: str
    reboot_seconds: float


class Resources(TypedDict):
    """``get_cpu_ram()``: cpu in percent, ram in MiB."""

    cpu: float
    ram_total: int
    ram_used: int


class InstallReport(TypedDict):
    """``install_os_version()``: ``status`` is ``"rebooting"`` or ``"unchanged"``."""

    previous_version: str
    version: str
    status: str
    reboot_seconds: float


def require_keys(answer: dict[str, Any], keys: tuple[str, ...], what: str) -> None:
    """``CommandError`` (``bad_response``) unless the ``what`` answer has every key of ``keys``."""
    missing = [k for k in keys if k not in answer]
    if missing:
        raise CommandError("bad_response", f"{what} answer lacks {', '.join(missing)}")


def object_list(answer: dict[str, Any], key: str, keys: tuple[str, ...]) -> list[dict[str, Any]]:
    """``answer[key]``, a list of objects that each have ``keys``; else ``CommandError``."""
    require_keys(answer, (key,), key)
    items = answer[key]
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise CommandError("bad_response", f"{key} answer: {key} is not a list of objects")
    for item in items:
        require_keys(item, keys, key)
    return items
