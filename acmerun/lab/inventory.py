"""The ACME inventory API and the lab-only endpoints, served on the lab's inventory port."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from aiohttp import web

from acmerun.acmeos.defaults import INVENTORY_HOSTS_PATH
from acmerun.lab.device import json_response, not_allowed, not_found
from acmerun.lab.fleet import Device


def _filter_values(request: web.BaseRequest, name: str) -> set[str] | None:
    """A filter's values: repeatable and comma-separated; None when not given."""
    values = request.query.getall(name, [])
    if not values:
        return None
    return {part.strip() for value in values for part in value.split(",") if part.strip()}


class InventoryAPI:
    """``GET /api/v1/inventory/hosts`` and ``GET /lab/`` downtime, devices, installs, sessions.

    ``devices()`` gives the fleet it serves, by name, ``installs()`` the lab's
    install record, ``sessions()`` its session log; all are called from the lab's
    event loop, which owns the devices.
    """

    def __init__(
        self,
        devices: Callable[[], Mapping[str, Device]],
        installs: Callable[[], list[dict[str, Any]]] = list,
        sessions: Callable[[], dict[str, Any]] = dict,
    ) -> None:
        self._fleet = devices
        self._install_record = installs
        self._session_log = sessions
        self._hosts: list[dict[str, Any]] = []
        self._all_hosts = b""
        self._routes: dict[str, Callable[[web.BaseRequest], Awaitable[web.StreamResponse]]] = {
            INVENTORY_HOSTS_PATH: self._hosts_answer,
            "/lab/downtime": self._downtime,
            "/lab/devices": self._devices,
            "/lab/installs": self._installs,
            "/lab/sessions": self._sessions,
        }

    def fleet_ready(self) -> None:
        """Every device has its address and port: the host list is fixed from now on."""
        self._hosts = [device.host_record() for device in self._fleet().values()]
        self._all_hosts = json.dumps({"hosts": self._hosts}).encode()

    async def handle(self, request: web.BaseRequest) -> web.StreamResponse:
        """Answer one inventory or lab call."""
        route = self._routes.get(request.path)
        if route is None:
            return not_found(request.path)
        if request.method not in ("GET", "HEAD"):
            return not_allowed(request.method, request.path, ("GET",))
        return await route(request)

    async def _hosts_answer(self, request: web.BaseRequest) -> web.StreamResponse:
        sites = _filter_values(request, "site")
        dev_types = _filter_values(request, "dev_type")
        if sites is None and dev_types is None:
            return web.Response(body=self._all_hosts, content_type="application/json")
        hosts = [
            host
            for host in self._hosts
            if (sites is None or host["site"] in sites)
            and (dev_types is None or host["dev_type"] in dev_types)
        ]
        return json_response(200, {"hosts": hosts})

    async def _downtime(self, request: web.BaseRequest) -> web.StreamResponse:
        return json_response(
            200, {name: device.downtime_intervals() for name, device in self._fleet().items()}
        )

    async def _devices(self, request: web.BaseRequest) -> web.StreamResponse:
        return json_response(
            200,
            {
                name: {
                    "version": device.version,
                    "previous_version": device.previous_version,
                    "faulted": device.faulted,
                    "up": device.up,
                    "hostname": device.hostname,
                    "port": device.port,
                    "failed_logins": device.failed_logins,
                }
                for name, device in self._fleet().items()
            },
        )

    async def _installs(self, request: web.BaseRequest) -> web.StreamResponse:
        return json_response(200, {"installs": self._install_record()})

    async def _sessions(self, request: web.BaseRequest) -> web.StreamResponse:
        return json_response(200, self._session_log())
