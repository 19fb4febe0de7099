"""A lab device's operational state: its interfaces and its routing neighbors.

Nothing of it is stored: both lists are computed on each call from the
device's name, its place in the fleet, the lab seed and one flag, ``faulted``
(the device came back from an upgrade with ``post_upgrade_fault``). So a
10,000-device lab costs no more memory than before.

Every device has a management port ``mgmt0``, one fabric link per device it
peers with upward (``eth1``, ``eth2``, ...), a link to its redundancy-group peer
when it has one, and one unused port that is administratively down:

- a leaf ``leafN`` peers with two spines of its site (``spine00``/``spine01``
  for an even N, ``spine02``/``spine03`` for an odd one);
- a spine peers with both edge devices of its site;
- an edge peers with every spine of its site;
- a device's redundancy-group peer is the device of its type whose number
  differs in the last bit (``leaf06`` and ``leaf07``, ``spine02`` and ``spine03``).

A faulted device has its first fabric link (``eth1``) operationally down and
the session over it ``idle``, with no prefixes received.
"""

from __future__ import annotations

import zlib
from typing import Any

from acmerun.lab.config import EDGES_PER_SITE, SPINES_PER_SITE, LabConfig
from acmerun.lab.fleet import Device

#: the session state of a healthy neighbor, and of one over a link that is down
ESTABLISHED = "established"
IDLE = "idle"
#: the fabric link a post-upgrade fault takes down
FAULTED_LINK = "eth1"


def _number(device: Device) -> int:
    return int(device.name.partition(".")[0][len(device.dev_type) :])


def _name(dev_type: str, number: int, site: str, config: LabConfig) -> str:
    width = max(2, len(str(max(config.leaves - 1, 0)))) if dev_type == "leaf" else 2
    return f"{dev_type}{number:0{width}d}.{site}"


def _count(dev_type: str, config: LabConfig) -> int:
    return {"edge": EDGES_PER_SITE, "spine": SPINES_PER_SITE}.get(dev_type, config.leaves)


def links(device: Device, config: LabConfig) -> list[tuple[str, str, bool]]:
    """``(interface, neighbor name, is the peer link)`` for each link to another device."""
    number, site = _number(device), device.site
    if device.dev_type == "leaf":
        first = 2 * (number % 2)
        upward = [_name("spine", first + i, site, config) for i in range(2)]
    elif device.dev_type == "spine":
        upward = [_name("edge", i, site, config) for i in range(EDGES_PER_SITE)]
    else:
        upward = [_name("spine", i, site, config) for i in range(SPINES_PER_SITE)]
    result = [(f"eth{i + 1}", name, False) for i, name in enumerate(upward)]
    peer = number ^ 1
    if peer < _count(device.dev_type, config):
        result.append((f"eth{len(result) + 1}", _name(device.dev_type, peer, site, config), True))
    return result


def interfaces(device: Device, config: LabConfig) -> list[dict[str, Any]]:
    """The device's interfaces: name, admin and oper state, description."""
    result: list[dict[str, Any]] = [_interface("mgmt0", True, True, "management")]
    for interface, neighbor, is_peer in links(device, config):
        down = device.faulted and interface == FAULTED_LINK
        role = "peer link to" if is_peer else "to"
        result.append(_interface(interface, True, not down, f"{role} {neighbor}"))
    result.append(_interface(f"eth{len(result)}", False, False, "unused"))
    return result


def neighbors(device: Device, config: LabConfig) -> list[dict[str, Any]]:
    """The device's routing neighbors: peer, interface, state, prefixes received."""
    result: list[dict[str, Any]] = []
    for interface, peer, _ in links(device, config):
        down = device.faulted and interface == FAULTED_LINK
        prefixes = zlib.crc32(f"{config.seed}:{device.name}:{peer}".encode()) % 480 + 20
        result.append(
            {
                "peer": peer,
                "interface": interface,
                "state": IDLE if down else ESTABLISHED,
                "prefixes_received": 0 if down else prefixes,
            }
        )
    return result


def _interface(name: str, admin_up: bool, oper_up: bool, description: str) -> dict[str, Any]:
    return {
        "name": name,
        "admin_state": "up" if admin_up else "down",
        "oper_state": "up" if oper_up else "down",
        "description": description,
    }
