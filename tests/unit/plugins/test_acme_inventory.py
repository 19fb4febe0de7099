"""ACMEInventory against a real HTTP inventory service on loopback that plays canned answers."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from acmerun.errors import ExitCode, exit_code_of
from acmerun.plugins.inventory.acme import ACMEInventory, InventoryError, uses_embedded_lab


def host(name: str, port: int, **extra: Any) -> dict[str, Any]:
    kind, site = name.split(".")
    record = {
        "name": name,
        "hostname": "127.0.0.1",
        "port": port,
        "platform": "acmeos",
        "site": site,
        "dev_type": kind.rstrip("0123456789"),
        "rack": 10,
    }
    record.update(extra)
    return record


FLEET = [
    host("edge00.earth", 1001),
    host("spine00.earth", 1002, rack=20),
    host("leaf00.earth", 1003, rack=100),
    host("edge00.mars", 1004),
    host("leaf00.mars", 1005, rack=100),
]


class Service:
    """An inventory service: answers ``GET /api/v1/inventory/hosts`` with ``self.answer``."""

    def __init__(self) -> None:
        self.answer: tuple[int, Any] | None = None
        self.queries: list[dict[str, list[str]]] = []
        service = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                query = parse_qs(parts.query)
                service.queries.append(query)
                if service.answer is not None:
                    status, body = service.answer
                else:
                    status, body = 200, {"hosts": service.filtered(query)}
                data = body if isinstance(body, bytes) else json.dumps(body).encode()
                if parts.path != "/api/v1/inventory/hosts":
                    status, data = 404, b'{"code": "not_found", "message": "no"}'
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        ).start()

    @staticmethod
    def filtered(query: dict[str, list[str]]) -> list[dict[str, Any]]:
        sites = {s for v in query.get("site", []) for s in v.split(",")}
        types = {t for v in query.get("dev_type", []) for t in v.split(",")}
        return [
            h
            for h in FLEET
            if (not sites or h["site"] in sites) and (not types or h["dev_type"] in types)
        ]


@pytest.fixture
def service() -> Iterator[Service]:
    s = Service()
    yield s
    s.server.shutdown()
    s.server.server_close()


def test_every_host_with_its_address_and_data_one_group_per_site(service: Service) -> None:
    inventory = ACMEInventory(url=service.url).load()
    assert list(inventory.hosts) == [h["name"] for h in FLEET]
    assert sorted(inventory.groups) == ["earth", "mars"]
    spine = inventory.hosts["spine00.earth"]
    assert (spine.hostname, spine.port, spine.platform) == ("127.0.0.1", 1002, "acmeos")
    assert spine.data == {"site": "earth", "dev_type": "spine", "rack": 20}
    assert [g.name for g in spine.groups] == ["earth"]
    assert spine["site"] == "earth"
    assert inventory.defaults.username is None and inventory.defaults.password is None


def test_filters_are_sent_to_the_service(service: Service) -> None:
    inventory = ACMEInventory(
        filter_sites=["earth", "mars"], filter_dev_types=["edge"], url=service.url
    ).load()
    assert service.queries == [{"site": ["earth,mars"], "dev_type": ["edge"]}]
    assert list(inventory.hosts) == ["edge00.earth", "edge00.mars"]


def test_filters_hold_even_when_the_service_ignores_them(service: Service) -> None:
    service.answer = (200, {"hosts": FLEET})
    inventory = ACMEInventory(filter_sites="mars", url=service.url).load()
    assert list(inventory.hosts) == ["edge00.mars", "leaf00.mars"]
    assert list(inventory.groups) == ["mars"]
    inventory = ACMEInventory(filter_dev_types=("leaf",), url=service.url).load()
    assert list(inventory.hosts) == ["leaf00.earth", "leaf00.mars"]


def test_an_empty_filter_selects_no_host(service: Service) -> None:
    assert len(ACMEInventory(filter_sites=[], url=service.url).load().hosts) == 0


def test_the_environment_names_the_service_when_no_url_is_given(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ACME_INVENTORY_URL", service.url + "/")
    assert not uses_embedded_lab(None)
    assert len(ACMEInventory().load().hosts) == len(FLEET)


def test_the_url_option_wins_over_the_environment(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ACME_INVENTORY_URL", "http://127.0.0.1:9")
    assert len(ACMEInventory(url=service.url).load().hosts) == len(FLEET)


def test_with_no_url_anywhere_the_target_is_the_embedded_lab() -> None:
    assert uses_embedded_lab(None)
    assert uses_embedded_lab("")
    assert not uses_embedded_lab("http://127.0.0.1:8080")


def test_an_unreachable_service_is_an_inventory_error_naming_the_url() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    with pytest.raises(InventoryError) as caught:
        ACMEInventory(url=url).load()
    assert exit_code_of(caught.value) == ExitCode.BAD_OPTIONS
    assert str(caught.value).startswith(f"cannot reach the inventory service at {url}: ")
    assert "refused" in str(caught.value).lower()


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        ((500, b"oops"), "answered HTTP 500 for /api/v1/inventory/hosts"),
        ((200, b"not json"), "did not send a host list"),
        ((200, {"hosts": {"a": 1}}), "did not send a host list"),
        ((200, {"hosts": [{"name": "x"}]}), "sent a malformed host (#0)"),
        ((200, {"hosts": [host("a.earth", "80")]}), "sent a malformed host (#0)"),
        ((200, {"hosts": [host("a.earth", 1), host("a.earth", 2)]}), "lists host 'a.earth' twice"),
    ],
)
def test_answers_that_are_not_an_inventory_are_inventory_errors(
    service: Service, answer: tuple[int, Any], message: str
) -> None:
    service.answer = answer
    with pytest.raises(InventoryError) as caught:
        ACMEInventory(url=service.url).load()
    assert message in str(caught.value)
    assert service.url in str(caught.value)


@pytest.mark.parametrize("url", ["ftp://example", "127.0.0.1:8080", "http://"])
def test_a_url_that_is_not_http_is_refused(url: str) -> None:
    with pytest.raises(InventoryError, match="is not an http"):
        ACMEInventory(url=url).load()


@pytest.mark.parametrize("bad", [[""], ["earth,mars"], [3]])
def test_filters_must_be_names(bad: Any) -> None:
    with pytest.raises(InventoryError, match="filter_sites"):
        ACMEInventory(filter_sites=bad)
