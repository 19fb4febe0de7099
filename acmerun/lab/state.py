"""The lab's state file: every device's version, shared safely by the labs that use it.

Several labs may keep their state in one file (two ``acmerun`` runs on the
embedded lab each serve their own lab). No lab undoes another's change: each
writes back only the devices it changed since it started, with the time of each
change. A write takes an ``flock`` on the lock file beside the state file
(``FILE.lock``), reads the file again, keeps for each device its newest change,
and replaces the file atomically (a temporary file in the same folder, flushed
to disk, renamed over it), so a kill -9 at any moment leaves the previous file
or the new one, whole.

The file and its lock are created with mode 0600, and a symbolic link at either
name is refused, never followed nor replaced. A file that cannot be read or is
not a lab state file is an error naming it, and is left as it is.

The format (JSON)::

    {"format": 1,
     "devices": {"leaf00.earth": "9.0.1", "leaf01.earth": "5.3.2", ...},
     "changed": {"leaf00.earth": 1764000000.125},
     "previous": {"leaf00.earth": "5.3.2"},
     "faulted": ["leaf00.earth"],
     "installs": [{"device": "leaf00.earth", "from": "5.3.2", "to": "9.0.1",
                   "at": 1764000000.125, "result": "installed"}, ...]}

``changed`` says when (epoch seconds) a lab last changed a device; a device
without it still runs the version the lab seeded it with. ``previous`` is the
version a device ran before its last install, ``faulted`` the devices that
came back from an upgrade with a post-upgrade fault, ``installs`` every install
the labs made (the newest ``MAX_INSTALLS``), oldest first; the three are
optional (a file without them is read as having none).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import math
import os
import stat
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from acmerun.lab.errors import LabStateError
from acmerun.lab.record import is_install, merge_installs

#: the format of the state file; a file of another format is refused
STATE_FORMAT = 1
#: the permissions of the state file and of its lock file
FILE_MODE = 0o600
#: the lock file is the state file's name with this suffix, in the same folder
LOCK_SUFFIX = ".lock"
#: how long a write waits for another lab to release the lock (seconds)
LOCK_TIMEOUT = 10.0
#: how often a waiting write tries the lock again (seconds)
LOCK_POLL = 0.02


@dataclass(frozen=True)
class Change:
    """A lab's change of one device: the version it now runs, and when it changed.

    ``previous`` is the version it ran before; ``faulted`` says it came back
    from the change with a post-upgrade fault.
    """

    version: str
    at: float
    previous: str | None = None
    faulted: bool = False


@dataclass
class State:
    """What a state file holds: each device's version, and when a lab last changed it.

    Also each device's previous version, the faulted devices, and the install record.
    """

    versions: dict[str, str] = field(default_factory=dict)
    changed: dict[str, float] = field(default_factory=dict)
    previous: dict[str, str] = field(default_factory=dict)
    faulted: set[str] = field(default_factory=set)
    installs: list[dict[str, Any]] = field(default_factory=list)


class StateFile:
    """One lab state file and its lock file."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.lock_path = self.path.with_name(self.path.name + LOCK_SUFFIX)

    def read(self) -> State:
        """The file's content; empty when there is no file. Raises ``LabStateError``."""
        return read_state(self.path)

    def update(
        self,
        changes: Mapping[str, Change],
        seeded: Mapping[str, str] | None = None,
        installs: Sequence[dict[str, Any]] = (),
    ) -> dict[str, str]:
        """Merge ``changes`` into the file under its lock; the versions the file then holds.

        A change is written unless the file holds a newer change of the same
        device (the newest change wins). ``installs`` the file lacks are added
        to its record. ``seeded`` devices (name -> version)
        the file does not know are added as they are; a start-up passes them,
        and then also removes the temporary files a killed writer left.
        Raises ``LabStateError`` when the file cannot be read, is not a state
        file, or cannot be locked or written: the file is then left as it is.
        """
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise LabStateError(
                f"cannot write lab state file {self.path}: {_reason(exc)}"
            ) from None
        with self._locked():
            state = read_state(self.path)
            for name, version in (seeded or {}).items():
                state.versions.setdefault(name, version)
            for name, change in changes.items():
                if change.at >= state.changed.get(name, -math.inf):
                    state.versions[name] = change.version
                    state.changed[name] = change.at
                    if change.previous is None:
                        state.previous.pop(name, None)
                    else:
                        state.previous[name] = change.previous
                    if change.faulted:
                        state.faulted.add(name)
                    else:
                        state.faulted.discard(name)
            merge_installs(state.installs, installs)
            if seeded is not None:
                self._remove_temporaries()
            write_state(self.path, state)
        return state.versions

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """Hold the lock file's ``flock``; the kernel releases it however the process ends."""
        flags = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK
        try:
            fd = os.open(self.lock_path, flags, FILE_MODE)
        except OSError as exc:
            raise LabStateError(
                f"cannot open {self.lock_path}, the lock of lab state file {self.path}: "
                f"{_reason(exc)}"
            ) from None
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise LabStateError(
                    f"{self.lock_path}, the lock of lab state file {self.path}, "
                    "is not a regular file"
                )
            deadline = time.monotonic() + LOCK_TIMEOUT
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise LabStateError(
                            f"lab state file {self.path} stayed locked by another process "
                            f"for {LOCK_TIMEOUT:g} s (its lock is {self.lock_path})"
                        ) from None
                    time.sleep(LOCK_POLL)
            yield
        finally:
            os.close(fd)

    def _remove_temporaries(self) -> None:
        """Temporary files of writers that died mid-write (only a lock holder writes one)."""
        for stray in self.path.parent.glob(f".{self.path.name}.*.tmp"):
            with contextlib.suppress(OSError):
                stray.unlink()


def load_state(path: str | os.PathLike[str]) -> dict[str, str]:
    """The device versions kept in ``path``; empty if the file does not exist."""
    return read_state(Path(path)).versions


def read_state(path: Path) -> State:
    """The content of the state file ``path``; empty if it does not exist.

    Raises ``LabStateError`` when the file exists but cannot be read (a
    symbolic link, not a regular file, ...) or is not a state file.
    """
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        return State()
    except OSError as exc:
        raise LabStateError(f"cannot read lab state file {path}: {_reason(exc)}") from None
    try:
        with os.fdopen(fd, "rb") as handle:
            if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                raise LabStateError(f"cannot read lab state file {path}: not a regular file")
            raw = handle.read()
    except OSError as exc:
        raise LabStateError(f"cannot read lab state file {path}: {_reason(exc)}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise LabStateError(f"cannot read lab state file {path}: {exc}") from None
    return _parse(path, text)


def _parse(path: Path, text: str) -> State:
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise LabStateError(f"lab state file {path} is corrupt: {exc}") from None
    if not isinstance(data, dict) or data.get("format") != STATE_FORMAT:
        raise LabStateError(
            f"lab state file {path} is not an AcmeOS lab state file (format {STATE_FORMAT})"
        )
    versions = data.get("devices")
    if not isinstance(versions, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in versions.items()
    ):
        raise LabStateError(
            f"lab state file {path} is corrupt: 'devices' must map names to versions"
        )
    changed = data.get("changed", {})
    if not isinstance(changed, dict) or not all(
        isinstance(k, str) and _is_time(v) for k, v in changed.items()
    ):
        raise LabStateError(f"lab state file {path} is corrupt: 'changed' must map names to times")
    previous = data.get("previous", {})
    if not isinstance(previous, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in previous.items()
    ):
        raise LabStateError(
            f"lab state file {path} is corrupt: 'previous' must map names to versions"
        )
    faulted = data.get("faulted", [])
    if not isinstance(faulted, list) or not all(isinstance(name, str) for name in faulted):
        raise LabStateError(f"lab state file {path} is corrupt: 'faulted' must list names")
    installs = data.get("installs", [])
    if not isinstance(installs, list) or not all(is_install(record) for record in installs):
        raise LabStateError(
            f"lab state file {path} is corrupt: 'installs' must list install records"
        )
    return State(
        versions,
        {name: float(at) for name, at in changed.items()},
        previous,
        set(faulted),
        installs,
    )


def write_state(path: Path, state: State) -> None:
    """Replace ``path`` with ``state`` atomically; the caller holds the lock.

    The content goes to a new temporary file (mode 0600, created exclusively,
    so never through a link) in the same folder, is flushed to disk, then
    renamed over ``path``: a kill at any moment leaves a whole file.
    """
    body = json.dumps(
        {
            "format": STATE_FORMAT,
            "devices": state.versions,
            "changed": state.changed,
            "previous": state.previous,
            "faulted": sorted(state.faulted),
            "installs": state.installs,
        },
        separators=(",", ":"),
    ).encode("utf-8")
    try:
        fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as handle:
                os.fchmod(handle.fileno(), FILE_MODE)
                handle.write(body)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temp)
            raise
    except OSError as exc:
        raise LabStateError(f"cannot write lab state file {path}: {_reason(exc)}") from None
    _fsync_directory(path.parent)


def _is_time(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _reason(exc: OSError) -> str:
    if exc.errno == errno.ELOOP:
        return "it is a symbolic link (give the path of the file itself)"
    return exc.strerror or str(exc)


def _fsync_directory(directory: Path) -> None:
    """Make the rename itself durable; a folder that cannot be opened is left to the kernel."""
    try:
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
