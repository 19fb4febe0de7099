"""The lab's configuration checks and fleet model (no sockets)."""

from __future__ import annotations

import pytest

from acmerun.errors import ExitCode, exit_code_of
from acmerun.lab import LabConfig, LabConfigError, LabError, site_names
from acmerun.lab.fleet import build_fleet


def test_site_count_takes_the_demo_sites_then_numbered_ones() -> None:
    assert site_names(3) == ("mercury", "venus", "earth")
    assert site_names(10)[7:] == ("neptune", "site08", "site09")
    assert site_names(["mars", "earth"]) == ("mars", "earth")


def test_demo_fleet_has_106_devices_per_site_with_the_demo_names_and_racks() -> None:
    fleet = build_fleet(LabConfig(sites=["earth", "mars"]))
    assert len(fleet) == 212
    by_name = {d.name: d for d in fleet}
    assert [d.name for d in fleet[:7]] == [
        "edge00.earth",
        "edge01.earth",
        "spine00.earth",
        "spine01.earth",
        "spine02.earth",
        "spine03.earth",
        "leaf00.earth",
    ]
    assert "leaf99.mars" in by_name and "leaf100.mars" not in by_name
    assert (by_name["edge01.earth"].rack, by_name["edge01.earth"].dev_type) == (10, "edge")
    assert by_name["spine03.earth"].rack == 21
    assert by_name["leaf07.mars"].rack == 103
    assert by_name["leaf07.mars"].site == "mars"


def test_leaf_names_widen_past_100_leaves() -> None:
    names = [d.name for d in build_fleet(LabConfig(sites=["earth"], leaves=101))]
    assert "leaf000.earth" in names and "leaf100.earth" in names
    assert "edge00.earth" in names


def test_addresses_are_loopback_unique_and_never_127_0_0_1() -> None:
    fleet = build_fleet(LabConfig(sites=3, leaves=300))
    addresses = [d.hostname for d in fleet]
    assert len(set(addresses)) == len(addresses)
    for address in addresses:
        octets = [int(part) for part in address.split(".")]
        assert octets[0] == 127 and address != "127.0.0.1"
        assert octets[3] not in (0, 255)


def test_versions_are_seeded_per_device_and_stable_when_the_fleet_grows() -> None:
    small = {d.name: d.version for d in build_fleet(LabConfig(sites=1, seed=7))}
    large = {d.name: d.version for d in build_fleet(LabConfig(sites=4, seed=7))}
    other = {d.name: d.version for d in build_fleet(LabConfig(sites=1, seed=8))}
    assert all(large[name] == version for name, version in small.items())
    assert small != other
    for version in large.values():
        major, minor, patch = (int(part) for part in version.split("."))
        assert major == 5 and 1 <= minor <= 4 and 0 <= patch <= 9
    assert len(set(large.values())) > 10


def test_fault_globs_select_devices_by_name() -> None:
    fleet = build_fleet(
        LabConfig(
            sites=["earth", "mars"],
            dead=["edge00.*"],
            slow=["spine0[12].earth"],
            stuck=["leaf9?.mars"],
        )
    )
    assert sorted(d.name for d in fleet if d.dead) == ["edge00.earth", "edge00.mars"]
    assert sorted(d.name for d in fleet if d.slow) == ["spine01.earth", "spine02.earth"]
    assert len([d for d in fleet if d.stuck]) == 10


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"error_rate": 1.5}, "error_rate must be a probability between 0 and 1, got 1.5"),
        ({"install_failure_rate": -0.1}, "install_failure_rate must be a probability"),
        ({"latency_ms": (20.0, 5.0)}, "latency_ms minimum 20 is above its maximum 5"),
        ({"latency_ms": (-1.0, 5.0)}, "latency_ms must be (MIN, MAX) milliseconds >= 0"),
        ({"install_seconds": -1}, "install_seconds must be a number of seconds >= 0"),
        ({"reboot_seconds": float("nan")}, "reboot_seconds must be a number of seconds >= 0"),
        ({"sites": 0}, "sites must be at least 1"),
        ({"sites": ["earth", "earth"]}, "site names must be unique"),
        ({"sites": ["Earth!"]}, "invalid site name 'Earth!'"),
        ({"leaves": -1}, "leaves must be a whole number >= 0"),
        ({"host": "10.1.2.3"}, "the lab listens on loopback only: 10.1.2.3"),
        ({"host": "localhost"}, "host must be a loopback address"),
        ({"port": 70000}, "port must be in 0..65535"),
        ({"dead": "edge*"}, "dead must be a list of device name patterns"),
    ],
)
def test_bad_values_are_refused_with_a_clear_message(
    options: dict[str, object], message: str
) -> None:
    with pytest.raises(LabConfigError) as caught:
        LabConfig(**options)  # type: ignore[arg-type]
    assert message in str(caught.value)
    assert isinstance(caught.value, ValueError) and isinstance(caught.value, LabError)
    # the CLI reports it as a bad option: one line, exit code 5
    assert exit_code_of(caught.value) == ExitCode.BAD_OPTIONS


def test_password_is_kept_out_of_the_repr() -> None:
    assert "hunter2" not in repr(LabConfig(password="hunter2"))
