"""--limit: which of the runbook's hosts a run touches."""

from __future__ import annotations

from pathlib import Path

import pytest

from acmerun.errors import BadOptions
from acmerun.limit import select

HOSTS = {
    "edge00.earth": {"earth"},
    "edge01.earth": {"earth"},
    "spine00.earth": {"earth"},
    "leaf00.earth": {"earth"},
    "edge00.mars": {"mars"},
    "leaf00.mars": {"mars"},
}


@pytest.mark.parametrize(
    ("limit", "expected"),
    [
        ("edge00.earth", ["edge00.earth"]),
        ("edge*", ["edge00.earth", "edge00.mars", "edge01.earth"]),
        ("mars", ["edge00.mars", "leaf00.mars"]),
        ("edge00.earth,leaf00.mars", ["edge00.earth", "leaf00.mars"]),
        ("edge00.earth:leaf00.mars", ["edge00.earth", "leaf00.mars"]),
        ("earth,!edge*", ["leaf00.earth", "spine00.earth"]),
        ("!earth", ["edge00.mars", "leaf00.mars"]),
        ("edge*,&mars", ["edge00.mars"]),
        ("edge0[1-9].*", ["edge01.earth"]),
        ("m*", ["edge00.mars", "leaf00.mars"]),
    ],
)
def test_patterns(limit: str, expected: list[str]) -> None:
    assert select(limit, HOSTS) == expected


def test_a_pattern_that_matches_nothing_is_an_error() -> None:
    with pytest.raises(BadOptions) as caught:
        select("edge*,spnie*", HOSTS)
    message = str(caught.value)
    assert message.startswith("--limit pattern 'spnie*' matches no host or group")
    assert "6 hosts, e.g. edge00.earth, edge00.mars, edge01.earth; groups: earth, mars" in message


def test_excluding_everything_is_an_error() -> None:
    with pytest.raises(BadOptions, match=r"--limit 'earth,!earth' leaves no host to run on"):
        select("earth,!earth", HOSTS)


def test_empty_limit_is_an_error() -> None:
    with pytest.raises(BadOptions, match="--limit is empty"):
        select(" , ", HOSTS)


def test_limit_from_a_file(tmp_path: Path) -> None:
    names = tmp_path / "retry.txt"
    names.write_text("# failed last night\nedge00.earth\n\nleaf00.mars\n")
    assert select(f"@{names}", HOSTS) == ["edge00.earth", "leaf00.mars"]
    names.write_text("  # indented comment\nedge00.earth  # core router\nleaf00.mars\n")
    assert select(f"@{names}", HOSTS) == ["edge00.earth", "leaf00.mars"]
    names.write_text("edge00.earth\nedge09.venus\n")
    with pytest.raises(BadOptions, match=r"not in the runbook's inventory: edge09.venus"):
        select(f"@{names}", HOSTS)


@pytest.mark.parametrize("limit", ["!edge00.eart", "earth,!edge00.eart", "&edge00.eart"])
def test_a_pattern_matching_nothing_is_an_error_whatever_its_kind(limit: str) -> None:
    with pytest.raises(BadOptions) as error:
        select(limit, HOSTS)
    pattern = limit.split(",")[-1]
    assert f"--limit pattern {pattern!r} matches no host" in str(error.value)
    assert "(did you mean 'edge00.earth'?)" in str(error.value)


def test_a_limit_file_that_is_not_text_is_an_error(tmp_path: Path) -> None:
    binary = tmp_path / "hosts.bin"
    binary.write_bytes(b"edge00.earth\n\xff\xfe\n")
    with pytest.raises(BadOptions, match="not UTF-8 text"):
        select(f"@{binary}", HOSTS)
