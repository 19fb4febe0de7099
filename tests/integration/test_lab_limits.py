"""The lab keeps within its open-files limit by closing the oldest idle connections."""

from __future__ import annotations

import http.client
import json
from typing import Any

from tests.support.credentials import LAB_PASSWORD, LAB_USERNAME

BODY = json.dumps({"username": LAB_USERNAME, "password": LAB_PASSWORD})


def open_session(host: str, port: int) -> http.client.HTTPConnection:
    conn = http.client.HTTPConnection(host, port, timeout=5)
    conn.request("POST", "/api/v1/session", body=BODY)
    response = conn.getresponse()
    response.read()
    assert response.status == 201
    return conn


def test_past_the_connection_budget_the_oldest_idle_connections_are_closed(
    make_lab: Any,
) -> None:
    lab = make_lab(sites=["earth"], leaves=20)
    lab._connection_budget = 10  # as if the open-files limit were nearly reached
    devices = list(lab.devices().values())
    conns = [open_session(d.hostname, d.port) for d in devices[:25]]
    # the first connections were idle and closed by the lab; the newest still work
    closed = 0
    for conn in conns[:5]:
        try:
            conn.request("GET", "/api/v1/version")
            conn.getresponse().read()
        except (ConnectionError, http.client.HTTPException):
            closed += 1
    assert closed == 5
    conn = conns[-1]
    conn.request("GET", "/api/v1/version")
    assert conn.getresponse().status == 401  # answered (no token sent)
    for conn in conns:
        conn.close()
    # a fresh connection to a device whose connection was closed works
    assert open_session(devices[0].hostname, devices[0].port)
