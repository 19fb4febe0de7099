"""The simulated fleet: devices and their seeded data (their state file: ``lab.state``).

The fleet is the nornir3 demo's: per site 2 edge, 4 spine and N leaf devices
named ``edge00.earth``, ``spine03.earth``, ``leaf07.mars``. Everything random
about a device (its first OS version, its cpu and ram) is drawn from a
generator seeded with the lab seed and the device name, so adding sites or
leaves never changes the devices that were already there.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any

from acmerun.lab.config import EDGES_PER_SITE, SPINES_PER_SITE, LabConfig

PLATFORM = "acmeos"


@dataclass(frozen=True)
class DeviceInfo:
    """A snapshot of one device, as ``Lab.devices()`` returns it."""

    name: str
    hostname: str
    port: int
    site: str
    dev_type: str
    rack: int
    version: str
    up: bool
    #: the version the device ran before its last install; None before any install
    previous_version: str | None = None
    #: it came back from an upgrade with a post-upgrade fault (a link and a session down)
    faulted: bool = False


@dataclass(eq=False)
class Device:
    """One simulated device and its live state (owned by the lab's event loop)."""

    name: str
    site: str
    dev_type: str
    rack: int
    hostname: str
    version: str
    cpu: float
    ram_total: int
    ram_used: int
    dead: bool = False
    slow: bool = False
    stuck: bool = False
    port: int = 0
    up: bool = False
    installing: bool = False
    #: the version before the last install (the image a rollback installs); None before any
    previous_version: str | None = None
    #: a post-upgrade fault: its first fabric link is down, and the session over it
    faulted: bool = False
    #: session tokens the device accepts, oldest first
    sessions: dict[str, None] = field(default_factory=dict)
    #: intervals during which the device was down: [start, end or None], epoch seconds
    downtime: list[list[float | None]] = field(default_factory=list)
    #: logins the device refused (wrong username or password) since the lab started
    failed_logins: int = 0

    def info(self) -> DeviceInfo:
        """A snapshot of the device."""
        return DeviceInfo(
            self.name,
            self.hostname,
            self.port,
            self.site,
            self.dev_type,
            self.rack,
            self.version,
            self.up,
            self.previous_version,
            self.faulted,
        )

    def downtime_intervals(self) -> list[list[float | None]]:
        """A copy of every interval the device was down: ``[start, end or None]``."""
        return [list(interval) for interval in self.downtime]

    def host_record(self) -> dict[str, Any]:
        """The device as the inventory API lists it."""
        return {
            "name": self.name,
            "hostname": self.hostname,
            "port": self.port,
            "platform": PLATFORM,
            "site": self.site,
            "dev_type": self.dev_type,
            "rack": self.rack,
        }


def _address(site_index: int, index: int) -> str:
    """127.A.B.C: A from the site, B.C from the device's place in it; never .0 or .255."""
    return f"127.{1 + site_index % 254}.{(index // 254) % 256}.{index % 254 + 1}"


def _matches(name: str, globs: tuple[str, ...]) -> bool:
    return any(fnmatchcase(name, glob) for glob in globs)


def build_fleet(config: LabConfig) -> list[Device]:
    """Every device of the lab, in site order, with its seeded initial data."""
    leaf_width = max(2, len(str(max(config.leaves - 1, 0))))
    dead, slow, stuck = tuple(config.dead), tuple(config.slow), tuple(config.stuck)
    devices: list[Device] = []
    for site_index, site in enumerate(config.site_names):
        kinds = (
            [("edge", i, 10 + i // 2, 2) for i in range(EDGES_PER_SITE)]
            + [("spine", i, 20 + i // 2, 2) for i in range(SPINES_PER_SITE)]
            + [("leaf", i, 100 + i // 2, leaf_width) for i in range(config.leaves)]
        )
        for index, (dev_type, number, rack, width) in enumerate(kinds):
            name = f"{dev_type}{number:0{width}d}.{site}"
            rng = random.Random(f"{config.seed}:{name}")
            version = f"5.{rng.randint(1, 4)}.{rng.randint(0, 9)}"
            ram_total = rng.choice((4096, 8192, 16384, 32768))
            devices.append(
                Device(
                    name=name,
                    site=site,
                    dev_type=dev_type,
                    rack=rack,
                    hostname=_address(site_index, index),
                    version=version,
                    cpu=round(rng.uniform(5.0, 60.0), 1),
                    ram_total=ram_total,
                    ram_used=int(ram_total * rng.uniform(0.2, 0.7)),
                    dead=_matches(name, dead),
                    slow=_matches(name, slow),
                    stuck=_matches(name, stuck),
                )
            )
    return devices
