"""The lab's session log: every new session (a login a device accepted), with its time.

What an AAA server would see of a run: ``GET /lab/sessions`` and ``Lab.sessions()``
give the sessions opened in each second (the calendar second of the lab's clock,
epoch seconds), per device the count and the time of the newest, and the newest
``MAX_RECENT`` sessions one by one. Memory stays bounded: ``MAX_SECONDS`` seconds
of counts, ``MAX_RECENT`` sessions; a device's own figures are two numbers.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict, deque
from typing import Any

#: seconds of per-second counts kept (the newest)
MAX_SECONDS = 86_400
#: sessions kept one by one (the newest)
MAX_RECENT = 20_000


class SessionLog:
    """The sessions a lab's devices opened; ``opened`` from the lab's loop, read from anywhere."""

    def __init__(self, max_seconds: int = MAX_SECONDS, max_recent: int = MAX_RECENT) -> None:
        self._lock = threading.Lock()
        self._max_seconds = max_seconds
        self._per_second: OrderedDict[int, int] = OrderedDict()
        self._devices: dict[str, list[float]] = {}
        self._recent: deque[tuple[float, str]] = deque(maxlen=max_recent)
        self._total = 0

    def opened(self, device: str, at: float | None = None) -> None:
        """``device`` accepted a login at ``at`` (epoch seconds; now by default)."""
        at = time.time() if at is None else at
        second = int(at)
        with self._lock:
            self._total += 1
            if second in self._per_second:
                self._per_second[second] += 1
            else:
                self._per_second[second] = 1
                if len(self._per_second) > self._max_seconds:
                    self._per_second.popitem(last=False)
            figures = self._devices.get(device)
            if figures is None:
                self._devices[device] = [1, at]
            else:
                figures[0] += 1
                figures[1] = at
            self._recent.append((at, device))

    def snapshot(self) -> dict[str, Any]:
        """``{"total", "per_second", "busiest", "devices", "recent"}`` as JSON-ready data.

        ``per_second`` is ``[[second, sessions], ...]``, oldest first, seconds with no
        session left out; ``busiest`` the second with the most (the earliest of equals),
        or None; ``devices`` maps each device that took a session to ``{"sessions",
        "last"}``; ``recent`` the newest sessions ``{"device", "at"}``, oldest first.
        """
        with self._lock:
            seconds = [[second, n] for second, n in self._per_second.items()]
            devices = {
                name: {"sessions": int(count), "last": last}
                for name, (count, last) in self._devices.items()
            }
            recent = [{"device": name, "at": at} for at, name in self._recent]
            total = self._total
        busiest = None
        for second, n in seconds:
            if busiest is None or n > busiest["sessions"]:
                busiest = {"second": second, "sessions": n}
        return {
            "total": total,
            "per_second": seconds,
            "busiest": busiest,
            "devices": devices,
            "recent": recent,
        }
