"""The lab's configuration checks, fleet model and state file (no sockets)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from acmerun.errors import BadOptions
from acmerun.lab import LabConfig, LabConfigError, LabStateError, site_names
from acmerun.lab.fleet import build_fleet, load_state, save_state


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
    assert isinstance(caught.value, ValueError) and isinstance(caught.value, BadOptions)


def test_password_is_kept_out_of_the_repr() -> None:
    assert "hunter2" not in repr(LabConfig(password="hunter2"))


def test_state_round_trips_and_a_missing_file_is_empty(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "state.json"
    assert load_state(path) == {}
    save_state(path, {"edge00.earth": "5.4.1"})
    assert load_state(path) == {"edge00.earth": "5.4.1"}
    assert [p.name for p in path.parent.iterdir()] == ["state.json"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "is corrupt"),
        ('{"format": 1, "devices": ', "is corrupt"),
        ("[]", "is not an AcmeOS lab state file"),
        ('{"format": 1, "devices": {"edge00.earth": 5}}', "'devices' must map names to versions"),
        (b"\xff\xfe", "cannot read lab state file"),
    ],
)
def test_a_bad_state_file_is_reported_with_its_name(
    tmp_path: Path, content: str | bytes, message: str
) -> None:
    path = tmp_path / "state.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    with pytest.raises(LabStateError) as caught:
        load_state(path)
    assert str(path) in str(caught.value) and message in str(caught.value)


def test_a_state_file_that_is_a_directory_cannot_be_read(tmp_path: Path) -> None:
    with pytest.raises(LabStateError, match="cannot read lab state file"):
        load_state(tmp_path)


def test_state_file_is_compact_json(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    save_state(path, {"a": "5.1.0"})
    assert json.loads(path.read_text()) == {"format": 1, "devices": {"a": "5.1.0"}}
