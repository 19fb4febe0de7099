"""The AcmeOS lab: a simulated fleet of AcmeOS devices on loopback, with fault injection.

``with Lab(LabConfig(sites=["earth"])) as lab: ...`` serves the fleet in a
thread; ``lab.url`` is its inventory API. ``acmerun lab serve`` runs the same
lab in the foreground (``acmerun.acmeos.lab.cli``).

The names below are imported on first use, so that importing the CLI module
(``acmerun.acmeos.lab.cli``) does not import aiohttp.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from acmerun.acmeos.lab.config import LabConfig, site_names
    from acmerun.acmeos.lab.errors import LabConfigError, LabError, LabStartError, LabStateError
    from acmerun.acmeos.lab.fleet import DeviceInfo
    from acmerun.acmeos.lab.server import Lab

_EXPORTS = {
    "DeviceInfo": "acmerun.acmeos.lab.fleet",
    "Lab": "acmerun.acmeos.lab.server",
    "LabConfig": "acmerun.acmeos.lab.config",
    "LabConfigError": "acmerun.acmeos.lab.errors",
    "LabError": "acmerun.acmeos.lab.errors",
    "LabStartError": "acmerun.acmeos.lab.errors",
    "LabStateError": "acmerun.acmeos.lab.errors",
    "site_names": "acmerun.acmeos.lab.config",
}

__all__ = [
    "DeviceInfo",
    "Lab",
    "LabConfig",
    "LabConfigError",
    "LabError",
    "LabStartError",
    "LabStateError",
    "site_names",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
