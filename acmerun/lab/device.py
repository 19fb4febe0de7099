"""The AcmeOS device API (``docs/acmeos-api.md``) as every lab device serves it.

One ``DeviceAPI`` serves every device of a lab: the aiohttp server of each
device calls ``handle(device, request)``. Per-request work is kept small: a
dictionary lookup for the route, one JSON encode for the answer.
"""

from __future__ import annotations

import asyncio
import json
import random
import secrets
import time
from collections.abc import Awaitable, Callable
from fnmatch import fnmatchcase
from typing import Any

from aiohttp import web
from aiohttp.web_protocol import RequestHandler

from acmerun.acmeos.defaults import VERSION_PATTERN
from acmerun.lab.config import SLOW_SECONDS, LabConfig
from acmerun.lab.fleet import Device
from acmerun.lab.operational import interfaces, neighbors
from acmerun.lab.record import FAILED, INSTALLED, install_record

#: sessions a device remembers; logging in past this forgets the oldest
MAX_SESSIONS = 256
TOKEN_HEADER = "X-Auth-Token"

_Handler = Callable[[Device, web.BaseRequest], Awaitable[web.StreamResponse]]


def json_response(status: int, data: Any) -> web.Response:
    """A JSON answer."""
    return web.Response(
        body=json.dumps(data).encode(), status=status, content_type="application/json"
    )


def error(status: int, code: str, message: str) -> web.Response:
    """An error answer: ``{"code": ..., "message": ...}``."""
    return json_response(status, {"code": code, "message": message})


def not_found(path: str) -> web.Response:
    """The answer to a path the server does not serve."""
    return error(404, "not_found", f"no such path: {path}")


def not_allowed(method: str, path: str, allowed: tuple[str, ...]) -> web.Response:
    """The answer to a known path called with the wrong method."""
    response = error(
        405, "method_not_allowed", f"{method} is not allowed on {path} (use {', '.join(allowed)})"
    )
    response.headers["Allow"] = ", ".join(allowed)
    return response


async def read_json_object(request: web.BaseRequest) -> dict[str, Any] | web.Response:
    """The request's JSON object body, or the ``400 bad_request`` answer to give instead."""
    try:
        data = json.loads(await request.read())
    except ValueError:
        return error(400, "bad_request", "the request body is not valid JSON")
    if not isinstance(data, dict):
        return error(400, "bad_request", "the request body must be a JSON object")
    return data


class DeviceAPI:
    """The device API of every device of one lab, with the lab's fault injection.

    ``reboot(device, answering)`` power-cycles a device; ``changed(device, install)``
    is called after every install that ran, with its record (the lab keeps the
    record and writes its state); ``logged_in(name)`` after every login a device accepted.
    """

    def __init__(
        self,
        config: LabConfig,
        reboot: Callable[[Device, RequestHandler | None], None],
        changed: Callable[[Device, dict[str, Any]], None],
        logged_in: Callable[[str], None] | None = None,
    ) -> None:
        self._config = config
        self._logged_in = logged_in
        self._reboot = reboot
        self._changed = changed
        self._rng = random.Random(f"{config.seed}:faults")
        low, high = config.latency_ms
        self._latency = (low / 1000.0, high / 1000.0) if high > 0 else None
        self._error_rate = config.error_rate
        self._credentials = (config.username, config.password)
        self._fault_globs = tuple(config.post_upgrade_fault)
        self._routes: dict[str, dict[str, _Handler]] = {
            "/api/v1/session": {"POST": self._login, "DELETE": self._logout},
            "/api/v1/version": {"GET": self._version},
            "/api/v1/resources": {"GET": self._resources},
            "/api/v1/interfaces": {"GET": self._interfaces},
            "/api/v1/neighbors": {"GET": self._neighbors},
            "/api/v1/install": {"POST": self._install},
            "/api/v1/reboot": {"POST": self._reboot_now},
        }
        self._allowed = {path: tuple(methods) for path, methods in self._routes.items()}
        self._login_handler = self._routes["/api/v1/session"]["POST"]

    async def handle(self, device: Device, request: web.BaseRequest) -> web.StreamResponse:
        """Answer one call to ``device``, after the lab's latency and faults."""
        if device.slow:
            await asyncio.sleep(SLOW_SECONDS)
        if self._latency is not None:
            await asyncio.sleep(self._rng.uniform(*self._latency))
        if self._error_rate and self._rng.random() < self._error_rate:
            # a transient failure: the connection is reset, no answer at all
            transport = request.transport
            if transport is not None:
                transport.abort()
            # writing to the aborted connection fails quietly: the caller sees a reset
            return error(503, "transient", "transient failure")
        path = request.path
        methods = self._routes.get(path)
        if methods is None:
            return not_found(path)
        handler = methods.get(request.method)
        if handler is None:
            return not_allowed(request.method, path, self._allowed[path])
        if (
            handler is not self._login_handler
            and request.headers.get(TOKEN_HEADER) not in device.sessions
        ):
            return error(
                401,
                "unauthenticated",
                "no valid session: log in with POST /api/v1/session and send the token "
                f"in the {TOKEN_HEADER} header",
            )
        return await handler(device, request)

    async def _login(self, device: Device, request: web.BaseRequest) -> web.StreamResponse:
        data = await read_json_object(request)
        if isinstance(data, web.Response):
            return data
        username, password = data.get("username"), data.get("password")
        if not isinstance(username, str) or not isinstance(password, str):
            return error(400, "bad_request", "username and password must be strings")
        if (username, password) != self._credentials:
            device.failed_logins += 1
            return error(401, "authentication_failed", "wrong username or password")
        token = secrets.token_urlsafe(24)
        sessions = device.sessions
        sessions[token] = None
        if len(sessions) > MAX_SESSIONS:
            del sessions[next(iter(sessions))]
        if self._logged_in is not None:
            self._logged_in(device.name)
        return json_response(201, {"token": token})

    async def _logout(self, device: Device, request: web.BaseRequest) -> web.StreamResponse:
        device.sessions.pop(request.headers.get(TOKEN_HEADER, ""), None)
        return web.Response(status=204)

    async def _version(self, device: Device, request: web.BaseRequest) -> web.StreamResponse:
        os_version, _, revision = device.version.rpartition(".")
        return json_response(
            200,
            {
                "os_version": os_version,
                "revision": revision,
                "full_version": device.version,
                "previous_version": device.previous_version,
            },
        )

    async def _resources(self, device: Device, request: web.BaseRequest) -> web.StreamResponse:
        rng = self._rng
        cpu = min(100.0, max(0.0, device.cpu + rng.uniform(-3.0, 3.0)))
        used = device.ram_used + int(rng.uniform(-0.01, 0.01) * device.ram_total)
        return json_response(
            200,
            {"cpu": round(cpu, 1), "ram_total": device.ram_total, "ram_used": used},
        )

    async def _interfaces(self, device: Device, request: web.BaseRequest) -> web.StreamResponse:
        return json_response(200, {"interfaces": interfaces(device, self._config)})

    async def _neighbors(self, device: Device, request: web.BaseRequest) -> web.StreamResponse:
        return json_response(200, {"neighbors": neighbors(device, self._config)})

    async def _install(self, device: Device, request: web.BaseRequest) -> web.StreamResponse:
        data = await read_json_object(request)
        if isinstance(data, web.Response):
            return data
        version = data.get("version")
        if not isinstance(version, str):
            return error(400, "bad_request", "version must be a string such as '5.4.1'")
        if not VERSION_PATTERN.fullmatch(version):
            return error(
                400, "invalid_version", f"invalid version {version!r}: expected X.Y.Z, e.g. 5.4.1"
            )
        if device.installing:
            return error(503, "busy", "an install is already running on this device")
        previous = device.version
        if version == previous:
            return json_response(
                200,
                {
                    "previous_version": previous,
                    "version": version,
                    "status": "unchanged",
                    "reboot_seconds": 0,
                },
            )
        # the install runs on even if the caller goes away; its reboot then follows on its own
        device.installing = True  # now, so a second request in this loop turn is busy
        install = asyncio.ensure_future(self._run_install(device, version))
        try:
            installed = await asyncio.shield(install)
        except asyncio.CancelledError:
            install.add_done_callback(lambda done: self._reboot_if_installed(device, done))
            raise
        if not installed:
            return error(
                500,
                "install_failed",
                f"installing {version} failed; the device still runs {previous}",
            )
        return await self._answer_then_reboot(
            device,
            request,
            {
                "previous_version": previous,
                "version": version,
                "status": "rebooting",
                "reboot_seconds": self._config.reboot_seconds,
            },
        )

    async def _reboot_now(self, device: Device, request: web.BaseRequest) -> web.StreamResponse:
        if device.installing:
            return error(503, "busy", "an install is running on this device")
        return await self._answer_then_reboot(
            device,
            request,
            {"status": "rebooting", "reboot_seconds": self._config.reboot_seconds},
        )

    async def _run_install(self, device: Device, version: str) -> bool:
        previous = device.version
        try:
            if self._config.install_seconds:
                await asyncio.sleep(self._config.install_seconds)
            if self._rng.random() < self._config.install_failure_rate:
                self._changed(
                    device, install_record(device.name, previous, version, time.time(), FAILED)
                )
                return False
            # installing the previous image is a rollback: it clears a post-upgrade fault
            rollback = version == device.previous_version
            device.previous_version = previous
            device.version = version
            device.faulted = not rollback and self._fault_prone(device)
            self._changed(
                device, install_record(device.name, previous, version, time.time(), INSTALLED)
            )
            return True
        finally:
            device.installing = False

    def _fault_prone(self, device: Device) -> bool:
        """Whether ``device`` comes back from an upgrade with a post-upgrade fault."""
        if any(fnmatchcase(device.name, glob) for glob in self._fault_globs):
            return True
        rate = self._config.post_upgrade_fault_rate
        draw = random.Random(f"{self._config.seed}:{device.name}:post-upgrade-fault")
        return rate > 0 and draw.random() < rate

    def _reboot_if_installed(self, device: Device, install: asyncio.Future[bool]) -> None:
        if not install.cancelled() and install.exception() is None and install.result():
            self._reboot(device, None)

    async def _answer_then_reboot(
        self, device: Device, request: web.BaseRequest, answer: dict[str, Any]
    ) -> web.StreamResponse:
        # down first (new connections are refused from now on), then answer on this
        # connection, then close it
        self._reboot(device, request.protocol)
        response = json_response(200, answer)
        response.force_close()
        try:
            await response.prepare(request)
            await response.write_eof()
        finally:
            request.protocol.force_close()
        return response
