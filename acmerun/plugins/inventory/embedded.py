"""The embedded lab: the simulated fleet acmerun targets when no inventory service is set.

One per process, started on first use and stopped at interpreter exit: all the
lab's default sites, factory credentials, state kept in the per-user state
directory (so a second run finds the fleet as the first left it), and install
and reboot times short enough for an upgrade to look real and finish in seconds.

Several acmerun processes may use it at once: each serves its own lab, and all
keep their state in the one file, each writing back only the devices it changed
(``acmerun.lab.state``). The embedded lab never writes to the run's terminal:
what it has to say goes to the ``acmerun.lab`` logger, so to the run's
``--log-file``. Its errors are the lab's own (``acmerun.lab.LabError``), which the
CLI reports as configuration errors (exit code 5).
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
from typing import TYPE_CHECKING

from acmerun import paths
from acmerun.acmeos import defaults

if TYPE_CHECKING:
    from acmerun.lab import Lab

#: file in the state directory that keeps the embedded fleet's versions
STATE_FILE = "lab-state.json"
#: seconds an install and a reboot take on the embedded lab's devices
INSTALL_SECONDS = 0.3
REBOOT_SECONDS = 1.0

_lock = threading.Lock()
_lab: Lab | None = None


def uses_embedded_lab(url: str | None) -> bool:
    """True when an inventory with this ``url`` option would target the embedded lab."""
    from acmerun.settings import Inputs, resolve

    return (
        resolve("inventory_url", Inputs(inventory_options={"url": url}, environ=os.environ)).value
        is None
    )


def embedded_lab() -> Lab | None:
    """The embedded lab if this process started it, else None."""
    return _lab


def start_embedded_lab() -> Lab:
    """The embedded lab, started now if it is not running yet.

    Raises ``LabError`` when it cannot start (its state file is corrupt, ...).
    """
    global _lab
    with _lock:
        if _lab is None:
            from acmerun.lab import Lab, LabConfig

            lab = Lab(
                LabConfig(
                    state_file=paths.state_dir() / STATE_FILE,
                    username=defaults.FACTORY_USERNAME,
                    password=defaults.FACTORY_PASSWORD,
                    install_seconds=INSTALL_SECONDS,
                    reboot_seconds=REBOOT_SECONDS,
                )
            )
            lab.start()
            _lab = lab
            atexit.register(_stop_at_exit)
        return _lab


def stop_embedded_lab() -> None:
    """Stop the embedded lab if it runs (its state is kept); the next use starts it again.

    Raises ``LabError`` when its state could not be written.
    """
    global _lab
    with _lock:
        lab, _lab = _lab, None
    if lab is not None:
        lab.stop()


def _stop_at_exit() -> None:
    try:
        stop_embedded_lab()
    except Exception as exc:  # the run is over: its log file is the only one left to tell
        logging.getLogger("acmerun.lab").error("the embedded lab did not stop cleanly: %s", exc)
