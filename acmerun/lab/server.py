"""``Lab``: the AcmeOS fleet simulator, serving every device on its own loopback endpoint.

The lab runs one asyncio event loop (in a daemon thread, or in the foreground
for ``acmerun lab serve``). Every device that is powered on has its own
listening socket on its own 127.A.B.C address, with a kernel-chosen port; a
reboot closes that listener and every connection of the device, and reopens
the same address and port when the device comes back. The inventory API and
the lab-only endpoints are served on ``config.host:config.port``.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import signal
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Coroutine
from types import FrameType
from typing import Any

from aiohttp import web
from aiohttp.web_protocol import RequestHandler

from acmerun.lab.config import LabConfig
from acmerun.lab.device import DeviceAPI
from acmerun.lab.errors import LabError, LabStartError
from acmerun.lab.files import file_budget
from acmerun.lab.fleet import Device, DeviceInfo, build_fleet
from acmerun.lab.inventory import InventoryAPI
from acmerun.lab.record import MAX_INSTALLS
from acmerun.lab.sessions import SessionLog
from acmerun.lab.state import StateFile
from acmerun.lab.writer import StateWriter

#: where the lab says what goes wrong while it serves (a port it must retry, a state
#: write that failed): ``acmerun lab serve`` prints it on stderr, a run logs it
logger = logging.getLogger("acmerun.lab")

#: a dirty state is written at most this often (seconds)
STATE_WRITE_INTERVAL = 0.1
#: idle keep-alive connections are closed after this long (seconds)
KEEPALIVE_SECONDS = 60.0
#: listeners opened at once during start-up
START_BATCH = 512


class _DeviceServer(web.Server):
    """One device's HTTP server: its connections are the device's connections."""

    def __init__(self, lab: Lab, device: Device, api: DeviceAPI) -> None:
        super().__init__(
            functools.partial(api.handle, device),
            handler_cancellation=True,
            keepalive_timeout=KEEPALIVE_SECONDS,
            access_log=None,
        )
        self._lab = lab

    def connection_made(self, handler: RequestHandler, transport: asyncio.Transport) -> None:
        super().connection_made(handler, transport)
        self._lab._connection_opened(handler)

    def connection_lost(self, handler: RequestHandler, exc: BaseException | None = None) -> None:
        super().connection_lost(handler, exc)
        self._lab._connection_closed(handler)


class Lab:
    """A simulated AcmeOS fleet on loopback: ``with Lab(LabConfig(sites=1)) as lab: ...``."""

    def __init__(self, config: LabConfig | None = None) -> None:
        self.config = config or LabConfig()
        self.devices_by_name: dict[str, Device] = {}
        self._port = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._stopping: asyncio.Event | None = None
        self._failure: BaseException | None = None
        self._stopped = False
        self._listeners: dict[Device, asyncio.AbstractServer] = {}
        self._servers: dict[Device, _DeviceServer] = {}
        self._placeholders: list[socket.socket] = []
        self._open: dict[RequestHandler, None] = {}
        self._connection_budget = 0
        self._state = (
            StateWriter(StateFile(self.config.state_file), STATE_WRITE_INTERVAL)
            if self.config.state_file
            else None
        )
        #: every install this lab ran since it started, oldest first (``installs()``)
        self._installs: deque[dict[str, Any]] = deque(maxlen=MAX_INSTALLS)
        self._sessions = SessionLog()  # every login a device accepted (``sessions()``)
        #: tasks started from callbacks: asyncio keeps only weak references to tasks
        self._tasks: set[asyncio.Task[None]] = set()
        self.started_at = 0.0

    # -- the public interface -------------------------------------------------------------

    @property
    def url(self) -> str:
        """The inventory API's URL, e.g. ``http://127.0.0.1:41234``."""
        host = self.config.host
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self._port}"

    def start(self) -> Lab:
        """Start serving in a daemon thread; return once every listener is bound.

        Raises ``LabStateError`` for an unreadable or corrupt state file and
        ``LabStartError`` when an address cannot be bound.
        """
        if self._thread is not None:
            raise LabStartError("this lab was already started")
        self._prepare()
        self._thread = threading.Thread(target=self._run, name="acmeos-lab", daemon=True)
        self._thread.start()
        self._ready.wait()
        if self._failure is not None:
            self._thread.join()
            self._stopped = True
            failure = self._failure
            if isinstance(failure, LabError):
                raise failure
            raise LabStartError(f"the lab could not start: {failure}") from failure
        return self

    def stop(self) -> None:
        """Stop serving, close every socket and write the state; calling it again does nothing."""
        if self._stopped or self._thread is None:
            return
        self._stopped = True
        loop, stopping = self._loop, self._stopping
        if loop is not None and stopping is not None:
            with contextlib.suppress(RuntimeError):  # the loop already ended
                loop.call_soon_threadsafe(stopping.set)
        self._thread.join()
        if self._state is not None and self._state.error is not None:
            raise self._state.error

    def __enter__(self) -> Lab:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def devices(self) -> dict[str, DeviceInfo]:
        """Every device, by name: address, site data, running version, up or down."""
        return {name: device.info() for name, device in self.devices_by_name.items()}

    def downtime(self) -> dict[str, list[list[float | None]]]:
        """Per device, every interval it was down: ``[start, end or None]`` in epoch seconds."""
        return {name: device.downtime_intervals() for name, device in self.devices_by_name.items()}

    def installs(self) -> list[dict[str, Any]]:
        """Every install this lab ran since it started (the newest ``MAX_INSTALLS``), oldest first.

        Each is ``{"device", "from", "to", "at", "result"}``: ``result`` is
        ``installed`` or ``failed``, ``at`` the epoch seconds it ended.
        """
        return [dict(r) for r in list(self._installs)]  # list() at once: the loop may append

    def sessions(self) -> dict[str, Any]:
        """The session log: new sessions per second and per device (``sessions.SessionLog``)."""
        return self._sessions.snapshot()

    def serve_forever(self, on_ready: Callable[[Lab], None] | None = None) -> None:
        """Serve in the foreground until SIGTERM or SIGINT, then stop cleanly.

        ``on_ready`` is called once every listener is bound. Must run in the
        main thread (signal handlers).
        """
        wake = threading.Event()

        def request_stop(signum: int, frame: FrameType | None) -> None:
            wake.set()

        previous = {
            sig: signal.signal(sig, request_stop) for sig in (signal.SIGTERM, signal.SIGINT)
        }
        try:
            self.start()
            if on_ready is not None:
                on_ready(self)
            while not wake.wait(1.0):
                if self._thread is not None and not self._thread.is_alive():
                    break
        finally:
            try:
                self.stop()
            finally:
                for sig, handler in previous.items():
                    signal.signal(sig, handler)

    # -- start-up ---------------------------------------------------------------------------

    def _prepare(self) -> None:
        devices = build_fleet(self.config)
        if self._state is not None:
            # the file's versions win; devices it lacks are added with their seeded version,
            # and devices of the file that this lab does not serve are kept as they are
            versions = self._state.file.update({}, seeded={d.name: d.version for d in devices})
            kept = self._state.file.read()
            for device in devices:
                device.version = versions[device.name]
                device.previous_version = kept.previous.get(device.name)
                device.faulted = device.name in kept.faulted
        self.devices_by_name = {device.name: device for device in devices}
        self._connection_budget = file_budget(
            sum(1 for device in devices if not device.dead), len(devices)
        )

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._main())
        except BaseException as exc:  # reported by start() or stop()
            if not self._ready.is_set():
                self._failure = exc
        finally:
            self._ready.set()
            with contextlib.suppress(Exception):
                loop.run_until_complete(loop.shutdown_default_executor())
            loop.close()
            for placeholder in self._placeholders:
                placeholder.close()

    async def _main(self) -> None:
        loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        api = DeviceAPI(self.config, self._reboot, self._changed, self._sessions.opened)
        self.started_at = time.time()
        inventory = InventoryAPI(lambda: self.devices_by_name, self.installs, self.sessions)
        inventory_server = web.Server(inventory.handle, access_log=None)
        try:
            listener = await loop.create_server(
                inventory_server, self.config.host, self.config.port, reuse_address=True
            )
        except OSError as exc:
            raise LabStartError(
                f"cannot listen on {self.config.host}:{self.config.port}: {exc.strerror or exc}"
            ) from None
        self._port = listener.sockets[0].getsockname()[1]
        try:
            await self._power_on_fleet(api)
            inventory.fleet_ready()
            self._ready.set()
            await self._stopping.wait()
        finally:
            listener.close()
            await self._shutdown()

    async def _power_on_fleet(self, api: DeviceAPI) -> None:
        devices = list(self.devices_by_name.values())
        for device in devices:
            self._servers[device] = _DeviceServer(self, device, api)
            if device.dead:
                device.port = self._reserve_port(device)
                device.downtime.append([self.started_at, None])
        alive = [device for device in devices if not device.dead]
        for first in range(0, len(alive), START_BATCH):
            batch = alive[first : first + START_BATCH]
            await asyncio.gather(*(self._listen(device) for device in batch))

    def _reserve_port(self, device: Device) -> int:
        """A port for a dead device: bound, never listening, so connections are refused."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.bind((device.hostname, 0))
        except OSError as exc:
            sock.close()
            raise LabStartError(f"cannot bind {device.hostname}: {exc.strerror or exc}") from None
        self._placeholders.append(sock)
        return int(sock.getsockname()[1])

    async def _listen(self, device: Device) -> None:
        loop = asyncio.get_running_loop()
        try:
            listener = await loop.create_server(
                self._servers[device], device.hostname, device.port, reuse_address=True
            )
        except OSError as exc:
            raise LabStartError(
                f"cannot listen for {device.name} on {device.hostname}:{device.port}: "
                f"{exc.strerror or exc}"
            ) from None
        device.port = listener.sockets[0].getsockname()[1]
        self._listeners[device] = listener
        device.up = True

    # -- reboots ----------------------------------------------------------------------------

    def _reboot(self, device: Device, answering: RequestHandler | None) -> None:
        """Power-cycle ``device``: down now, back after ``reboot_seconds`` (stuck: never).

        Every connection of the device is closed, except ``answering``: the
        caller closes that one once its answer is written.
        """
        if not device.up:
            return
        device.up = False
        device.sessions.clear()
        device.downtime.append([time.time(), None])
        listener = self._listeners.pop(device, None)
        if listener is not None:
            listener.close()
        for handler in self._servers[device].connections:
            if handler is not answering:
                handler.force_close()
        if device.stuck:
            return
        loop = asyncio.get_running_loop()
        loop.call_later(self.config.reboot_seconds, lambda: self._spawn(self._come_back(device)))

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _come_back(self, device: Device) -> None:
        if self._stopping is None or self._stopping.is_set():
            return
        while True:
            try:
                await self._listen(device)
                break
            except LabStartError as exc:  # the port is briefly unavailable: try again
                logger.warning("%s; retrying", exc)
                await asyncio.sleep(0.5)
        device.downtime[-1][1] = time.time()

    # -- connections ------------------------------------------------------------------------

    def _connection_opened(self, handler: RequestHandler) -> None:
        self._open[handler] = None
        if len(self._open) > self._connection_budget:
            self._shed_idle_connections()

    def _connection_closed(self, handler: RequestHandler) -> None:
        self._open.pop(handler, None)

    def _shed_idle_connections(self) -> None:
        """Close the oldest idle keep-alive connections so the lab stays within its open files."""
        target = max(1, self._connection_budget // 10)
        for handler in list(self._open)[: target * 2]:
            if target <= 0:
                break
            if not handler._request_in_progress:
                handler.force_close()
                self._open.pop(handler, None)
                target -= 1

    # -- state ------------------------------------------------------------------------------

    def _changed(self, device: Device, install: dict[str, Any]) -> None:
        self._installs.append(install)
        if self._state is not None:
            self._state.changed(
                device.name, device.version, device.previous_version, device.faulted, install
            )

    # -- shutdown ---------------------------------------------------------------------------

    async def _shutdown(self) -> None:
        for listener in self._listeners.values():
            listener.close()
        self._listeners.clear()
        for handler in list(self._open):
            handler.force_close()
        self._open.clear()
        current = asyncio.current_task()
        others = [task for task in asyncio.all_tasks() if task is not current]
        for task in others:
            task.cancel()
        if others:
            await asyncio.wait(others, timeout=2.0)
        if self._state is not None:
            await self._state.close()
