"""``LabConfig``: what fleet the lab simulates and which faults it injects."""

from __future__ import annotations

import ipaddress
import math
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from acmerun.acmeos.defaults import FACTORY_PASSWORD, FACTORY_USERNAME
from acmerun.lab.errors import LabConfigError

#: the sites of the nornir3 demo, in order; a count of sites takes the first N
SITE_NAMES = ("mercury", "venus", "earth", "mars", "jupyter", "uranus", "saturn", "neptune")
#: devices of each type per site besides the leaves
EDGES_PER_SITE = 2
SPINES_PER_SITE = 4
#: a site's devices share one 127.A.0.0/16 block: at most this many per site
MAX_DEVICES_PER_SITE = 254 * 256
#: how long a ``slow`` device takes to answer (seconds): longer than any sane timeout
SLOW_SECONDS = 3600.0

_SITE_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,62}\Z")


def site_names(sites: int | Sequence[str]) -> tuple[str, ...]:
    """The site names a ``sites`` option stands for.

    A count takes the first N demo sites, then ``site08``, ``site09``, ...;
    a sequence of names is taken as is.
    """
    if isinstance(sites, int):
        return tuple(SITE_NAMES[i] if i < len(SITE_NAMES) else f"site{i:02d}" for i in range(sites))
    return tuple(sites)


@dataclass(frozen=True)
class LabConfig:
    """The fleet the lab serves and the faults it injects; validated on creation.

    With the defaults, the lab serves the demo fleet (8 sites, 106 devices
    each) with no latency and no faults, accepting the factory credentials.
    """

    sites: int | Sequence[str] = 8
    leaves: int = 100
    seed: int = 0
    state_file: str | os.PathLike[str] | None = None
    host: str = "127.0.0.1"
    port: int = 0
    latency_ms: tuple[float, float] = (0.0, 0.0)
    error_rate: float = 0.0
    dead: Sequence[str] = ()
    slow: Sequence[str] = ()
    stuck: Sequence[str] = ()
    install_failure_rate: float = 0.0
    install_seconds: float = 0.0
    reboot_seconds: float = 0.0
    post_upgrade_fault: Sequence[str] = ()
    post_upgrade_fault_rate: float = 0.0
    username: str = FACTORY_USERNAME
    password: str = field(default=FACTORY_PASSWORD, repr=False)

    def __post_init__(self) -> None:
        _check_sites(self.sites)
        if isinstance(self.leaves, bool) or not isinstance(self.leaves, int) or self.leaves < 0:
            raise LabConfigError(f"leaves must be a whole number >= 0, got {self.leaves!r}")
        per_site = EDGES_PER_SITE + SPINES_PER_SITE + self.leaves
        if per_site > MAX_DEVICES_PER_SITE:
            raise LabConfigError(
                f"at most {MAX_DEVICES_PER_SITE - EDGES_PER_SITE - SPINES_PER_SITE} leaves "
                f"per site, got {self.leaves}"
            )
        if isinstance(self.seed, bool) or not isinstance(self.seed, int):
            raise LabConfigError(f"seed must be a whole number, got {self.seed!r}")
        _check_loopback(self.host)
        if isinstance(self.port, bool) or not isinstance(self.port, int):
            raise LabConfigError(f"port must be a whole number, got {self.port!r}")
        if not 0 <= self.port <= 65535:
            raise LabConfigError(f"port must be in 0..65535, got {self.port}")
        _check_latency(self.latency_ms)
        _check_rate("error_rate", self.error_rate)
        _check_rate("install_failure_rate", self.install_failure_rate)
        _check_rate("post_upgrade_fault_rate", self.post_upgrade_fault_rate)
        _check_seconds("install_seconds", self.install_seconds)
        _check_seconds("reboot_seconds", self.reboot_seconds)
        for name in ("dead", "slow", "stuck", "post_upgrade_fault"):
            globs = getattr(self, name)
            if isinstance(globs, str) or not all(isinstance(g, str) and g for g in globs):
                raise LabConfigError(f"{name} must be a list of device name patterns")
        if not self.username:
            raise LabConfigError("username must not be empty")
        if not isinstance(self.password, str):
            raise LabConfigError("password must be a string")

    @property
    def site_names(self) -> tuple[str, ...]:
        """The names of the sites this lab serves, in order."""
        return site_names(self.sites)

    @property
    def device_count(self) -> int:
        """How many devices this lab serves."""
        return len(self.site_names) * (EDGES_PER_SITE + SPINES_PER_SITE + self.leaves)


def _check_sites(sites: int | Sequence[str]) -> None:
    if isinstance(sites, bool):
        raise LabConfigError(f"sites must be a count or a list of site names, got {sites!r}")
    if isinstance(sites, int):
        if sites < 1:
            raise LabConfigError(f"sites must be at least 1, got {sites}")
        return
    if isinstance(sites, str) or not isinstance(sites, Sequence) or not sites:
        raise LabConfigError(f"sites must be a count or a list of site names, got {sites!r}")
    for name in sites:
        if not isinstance(name, str) or not _SITE_NAME.match(name):
            raise LabConfigError(
                f"invalid site name {name!r}: use lowercase letters, digits and '-'"
            )
    if len(set(sites)) != len(sites):
        raise LabConfigError(f"site names must be unique, got {list(sites)!r}")


def _check_loopback(host: str) -> None:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        raise LabConfigError(
            f"host must be a loopback address such as 127.0.0.1, got {host!r}"
        ) from None
    if not address.is_loopback:
        raise LabConfigError(f"the lab listens on loopback only: {host} is not a loopback address")


def _number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _check_rate(name: str, value: float) -> None:
    if not _number(value) or not 0.0 <= value <= 1.0:
        raise LabConfigError(f"{name} must be a probability between 0 and 1, got {value!r}")


def _check_seconds(name: str, value: float) -> None:
    if not _number(value) or value < 0:
        raise LabConfigError(f"{name} must be a number of seconds >= 0, got {value!r}")


def _check_latency(latency: tuple[float, float]) -> None:
    if (
        not isinstance(latency, (tuple, list))
        or len(latency) != 2
        or not all(_number(v) and v >= 0 for v in latency)
    ):
        raise LabConfigError(f"latency_ms must be (MIN, MAX) milliseconds >= 0, got {latency!r}")
    low, high = latency
    if low > high:
        raise LabConfigError(f"latency_ms minimum {low:g} is above its maximum {high:g}")
