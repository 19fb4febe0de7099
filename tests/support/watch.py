"""Wait for a file to be created in a folder: the kernel's inotify event, not a poll (Linux)."""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import select
import struct
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

IN_CREATE = 0x00000100
IN_MOVED_TO = 0x00000080
IN_NONBLOCK = 0o4000
IN_CLOEXEC = 0o2000000
_EVENT = struct.Struct("iIII")

_libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)


class FolderWatch:
    """The names created in one folder from the moment the watch starts."""

    def __init__(self, fd: int) -> None:
        self._fd = fd

    def wait_for(self, wanted: Callable[[str], bool], timeout: float = 60.0) -> str:
        """The first name created (or renamed in) for which ``wanted(name)`` is true."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._fd], [], [], left)[0]:
                raise AssertionError(f"no such file was created within {timeout:g}s")
            for name in self._names(os.read(self._fd, 65536)):
                if wanted(name):
                    return name

    @staticmethod
    def _names(data: bytes) -> Iterator[str]:
        offset = 0
        while offset < len(data):
            _, _, _, length = _EVENT.unpack_from(data, offset)
            offset += _EVENT.size
            yield data[offset : offset + length].rstrip(b"\0").decode("utf-8", "replace")
            offset += length


@contextmanager
def watch_folder(folder: Path) -> Iterator[FolderWatch]:
    """Watch ``folder`` for new files for the length of the block."""
    fd = _libc.inotify_init1(IN_NONBLOCK | IN_CLOEXEC)
    if fd < 0:
        raise OSError(ctypes.get_errno(), "inotify_init1 failed")
    try:
        if _libc.inotify_add_watch(fd, os.fsencode(folder), IN_CREATE | IN_MOVED_TO) < 0:
            raise OSError(ctypes.get_errno(), f"cannot watch {folder}")
        yield FolderWatch(fd)
    finally:
        os.close(fd)
