"""The AcmeOS lab: a simulated fleet of AcmeOS devices on loopback, with fault injection.

``with Lab(LabConfig(sites=["earth"])) as lab: ...`` serves the fleet in a
thread; ``lab.url`` is its inventory API. ``acmerun lab serve`` runs the same
lab in the foreground (``acmerun.acmeos.lab.cli``).
"""

from acmerun.acmeos.lab.config import LabConfig, site_names
from acmerun.acmeos.lab.errors import LabConfigError, LabError, LabStartError, LabStateError
from acmerun.acmeos.lab.fleet import DeviceInfo
from acmerun.acmeos.lab.server import Lab

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
