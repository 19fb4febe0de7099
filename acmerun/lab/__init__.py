"""The AcmeOS lab: a simulated fleet of AcmeOS devices on loopback, with fault injection.

``with Lab(LabConfig(sites=["earth"])) as lab: ...`` serves the fleet in a
thread; ``lab.url`` is its inventory API. ``acmerun lab serve`` runs the same
lab in the foreground (``acmerun.cli.lab``).

The names below are imported on first use, so that importing the CLI module
(``acmerun.cli.lab``) does not import aiohttp.

The lab is a package of its own: it imports nothing of acmerun but the
client's protocol constants (``acmerun.acmeos.defaults``); only its
``__main__`` runs acmerun's CLI. What goes wrong while it serves goes to the
``acmerun.lab`` logger, never straight to a terminal: ``acmerun lab serve``
prints those records on stderr, a run writes them to its ``--log-file``.
"""

from __future__ import annotations

import importlib
import logging
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from acmerun.lab.config import LabConfig, site_names
    from acmerun.lab.errors import LabConfigError, LabError, LabStartError, LabStateError
    from acmerun.lab.fleet import DeviceInfo
    from acmerun.lab.server import Lab

#: nothing reaches Python's last-resort handler (stderr) unless the program says where
logging.getLogger("acmerun.lab").addHandler(logging.NullHandler())

_EXPORTS = {
    "DeviceInfo": "acmerun.lab.fleet",
    "Lab": "acmerun.lab.server",
    "LabConfig": "acmerun.lab.config",
    "LabConfigError": "acmerun.lab.errors",
    "LabError": "acmerun.lab.errors",
    "LabStartError": "acmerun.lab.errors",
    "LabStateError": "acmerun.lab.errors",
    "site_names": "acmerun.lab.config",
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
