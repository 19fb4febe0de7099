"""The lab's state file: merged under its lock, 0600, never through a link, always whole."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from acmerun.lab import LabStateError
from acmerun.lab import state as lab_state
from acmerun.lab.state import Change, StateFile, load_state, read_state

#: a process that holds the lock of the state file argv[1] until its stdin closes,
#: then merges the change argv[2]=argv[3] in, still holding it
HOLDER = """
import fcntl, sys
from pathlib import Path
from acmerun.lab.state import read_state, write_state
path = Path(sys.argv[1])
with open(sys.argv[1] + ".lock", "a") as lock:
    fcntl.flock(lock, fcntl.LOCK_EX)
    print("locked", flush=True)
    sys.stdin.read()
    state = read_state(path)
    state.versions[sys.argv[2]] = sys.argv[3]
    write_state(path, state)
"""

#: a process that rewrites the state file argv[1] as fast as it can, saying so each time
WRITER = """
import sys
from acmerun.lab.state import Change, StateFile
state_file = StateFile(sys.argv[1])
devices = {f"leaf{i:04d}.earth": f"5.{i % 5}.{i % 10}" for i in range(5000)}
state_file.update({}, seeded=devices)
n = 0
while True:
    n += 1
    state_file.update({name: Change(f"8.{n}.0", float(n)) for name in devices})
    print(n, flush=True)
"""


def test_a_missing_file_is_empty_and_an_update_creates_it_and_its_lock_0600(
    tmp_path: Path,
) -> None:
    path = tmp_path / "sub" / "state.json"
    assert load_state(path) == {}
    versions = StateFile(path).update({}, seeded={"edge00.earth": "5.4.1"})
    assert versions == load_state(path) == {"edge00.earth": "5.4.1"}
    assert sorted(p.name for p in path.parent.iterdir()) == ["state.json", "state.json.lock"]
    for name in ("state.json", "state.json.lock"):
        assert stat.S_IMODE((path.parent / name).stat().st_mode) == 0o600


def test_the_file_is_compact_json_with_the_time_of_each_change(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    StateFile(path).update(
        {"a": Change("9.0.1", 1764000000.125)}, seeded={"a": "5.1.0", "b": "5.2.0"}
    )
    assert json.loads(path.read_text()) == {
        "format": 1,
        "devices": {"a": "9.0.1", "b": "5.2.0"},
        "changed": {"a": 1764000000.125},
        "previous": {},
        "faulted": [],
        "installs": [],
    }
    assert " " not in path.read_text()


def test_a_file_of_an_older_lab_without_change_times_loads(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    path.write_text('{"format": 1, "devices": {"a": "5.1.0"}}')
    assert StateFile(path).update({"b": Change("6.0.0", 1.0)}) == {"a": "5.1.0", "b": "6.0.0"}


def test_each_writer_keeps_the_others_devices(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    seeded = {"leaf00.earth": "5.1.0", "leaf01.earth": "5.1.0"}
    first, second = StateFile(path), StateFile(path)
    first.update({}, seeded=seeded)
    second.update({}, seeded=seeded)
    first.update({"leaf00.earth": Change("9.0.0", 10.0)})
    second.update({"leaf01.earth": Change("9.0.1", 11.0)})
    first.update({"leaf00.earth": Change("9.0.0", 10.0)})  # a later write of the same change
    assert load_state(path) == {"leaf00.earth": "9.0.0", "leaf01.earth": "9.0.1"}


def test_the_newest_change_of_a_device_wins_whoever_writes_last(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    StateFile(path).update({"x": Change("7.0.0", 20.0)})
    assert StateFile(path).update({"x": Change("6.0.0", 19.5)}) == {"x": "7.0.0"}
    assert StateFile(path).update({"x": Change("8.0.0", 20.5)}) == {"x": "8.0.0"}
    assert read_state(path).changed == {"x": 20.5}


def test_seeded_versions_never_replace_the_files(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    StateFile(path).update({"x": Change("7.0.0", 1.0)}, seeded={"x": "5.0.0"})
    assert StateFile(path).update({}, seeded={"x": "5.3.3", "y": "5.1.1"}) == {
        "x": "7.0.0",
        "y": "5.1.1",
    }


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "is corrupt"),
        ('{"format": 1, "devices": ', "is corrupt"),
        ("[]", "is not an AcmeOS lab state file"),
        ('{"format": 2, "devices": {}}', "is not an AcmeOS lab state file (format 1)"),
        ('{"format": 1, "devices": {"edge00.earth": 5}}', "'devices' must map names to versions"),
        ('{"format": 1, "devices": {}, "changed": {"a": "x"}}', "'changed' must map names to"),
        ('{"format": 1, "devices": {}, "changed": {"a": true}}', "'changed' must map names to"),
        (b"\xff\xfe", "cannot read lab state file"),
    ],
)
def test_a_bad_state_file_is_an_error_naming_it_and_is_left_alone(
    tmp_path: Path, content: str | bytes, message: str
) -> None:
    path = tmp_path / "state.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    before = path.read_bytes()
    with pytest.raises(LabStateError) as caught:
        StateFile(path).update({"a": Change("9.0.0", 1.0)}, seeded={"a": "5.0.0"})
    assert str(path) in str(caught.value) and message in str(caught.value)
    assert path.read_bytes() == before


def test_a_state_file_that_is_a_directory_cannot_be_read(tmp_path: Path) -> None:
    with pytest.raises(LabStateError) as caught:
        load_state(tmp_path)
    assert str(caught.value) == f"cannot read lab state file {tmp_path}: Is a directory"


def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    os.mkfifo(path)
    with pytest.raises(LabStateError, match="not a regular file"):
        load_state(path)


def test_a_symbolic_link_as_state_file_is_refused_never_followed_nor_replaced(
    tmp_path: Path,
) -> None:
    target = tmp_path / "elsewhere.json"
    target.write_text('{"format": 1, "devices": {"a": "5.0.0"}}')
    path = tmp_path / "state.json"
    path.symlink_to(target)
    with pytest.raises(LabStateError) as caught:
        StateFile(path).update({"a": Change("9.9.9", 1.0)})
    assert f"cannot read lab state file {path}: it is a symbolic link" in str(caught.value)
    assert path.is_symlink() and target.read_text() == '{"format": 1, "devices": {"a": "5.0.0"}}'


def test_a_symbolic_link_as_lock_file_is_refused_and_its_target_never_created(
    tmp_path: Path,
) -> None:
    target = tmp_path / "created-through-the-link"
    path = tmp_path / "state.json"
    (tmp_path / "state.json.lock").symlink_to(target)
    with pytest.raises(LabStateError) as caught:
        StateFile(path).update({}, seeded={"a": "5.0.0"})
    assert str(caught.value) == (
        f"cannot open {path}.lock, the lock of lab state file {path}: "
        "it is a symbolic link (give the path of the file itself)"
    )
    assert not target.exists() and not path.exists()


def test_a_write_waits_for_the_lock_then_merges_what_the_holder_wrote(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    StateFile(path).update({}, seeded={"a": "5.0.0", "b": "5.0.0"})
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(path), "b", "7.7.7"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdin is not None
        assert holder.stdout.readline() == "locked\n"
        result: list[dict[str, str]] = []
        writer = threading.Thread(
            target=lambda: result.append(StateFile(path).update({"a": Change("9.0.0", 5.0)}))
        )
        writer.start()
        # the holder has the lock: the write cannot end before the holder lets go
        holder.stdin.close()
        assert holder.wait(timeout=30) == 0
        writer.join(timeout=30)
    finally:
        holder.kill()
        holder.wait()
    assert result == [{"a": "9.0.0", "b": "7.7.7"}]
    assert load_state(path) == {"a": "9.0.0", "b": "7.7.7"}


def test_a_lock_held_too_long_is_an_error_and_the_file_is_untouched(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "state.json"
    StateFile(path).update({}, seeded={"a": "5.0.0"})
    before = path.read_bytes()
    monkeypatch.setattr(lab_state, "LOCK_TIMEOUT", 0.2)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(path), "b", "7.7.7"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline() == "locked\n"
        started = time.monotonic()
        with pytest.raises(LabStateError) as caught:
            StateFile(path).update({"a": Change("9.0.0", 5.0)})
        assert time.monotonic() - started < 20  # bounded: it never hangs
        assert path.read_bytes() == before
    finally:
        holder.kill()
        holder.wait()
    message = str(caught.value)
    assert f"lab state file {path} stayed locked by another process" in message
    assert str(path) + ".lock" in message


def test_kill_9_while_writing_never_leaves_a_partial_file(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    for kills, after in enumerate((1, 3, 7, 12, 20)):
        writer = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE, text=True
        )
        try:
            assert writer.stdout is not None
            for _ in range(after):
                assert writer.stdout.readline(), "the writer stopped writing"
        finally:
            writer.kill()
            writer.wait()
        state = read_state(path)  # whole: it parses, with every device
        assert len(state.versions) == 5000, f"kill {kills}"
        assert len(set(state.versions.values())) == 1 and state.changed
    # a start-up removes what a killed writer left behind
    StateFile(path).update({}, seeded={})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.json", "state.json.lock"]
