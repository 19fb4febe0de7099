"""ACMEInventory's request: a total deadline, a size cap, URLs checked, credentials kept."""

from __future__ import annotations

import base64
import time

import pytest

from acmerun.acmeos import defaults
from acmerun.plugins.inventory.acme import ACMEInventory, InventoryError
from tests.support.slow_servers import FloodServer, TrickleServer, json_answer

SECRET = "s3cr3t-inv-pw"
HOSTS = {
    "hosts": [
        {
            "name": "edge00.earth",
            "hostname": "127.0.0.1",
            "port": 9,
            "site": "earth",
            "dev_type": "edge",
            "rack": 1,
        },
    ]
}


def test_a_trickling_service_fails_at_the_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(defaults, "INVENTORY_DEADLINE", 1.0)
    with TrickleServer(json_answer(HOSTS), interval=0.3, fast=20) as server:
        started = time.monotonic()
        with pytest.raises(InventoryError) as caught:
            ACMEInventory(url=server.url).load()
        took = time.monotonic() - started
    assert str(caught.value) == (
        f"inventory service at {server.url} did not send its whole answer within 1s"
    )
    assert 0.9 <= took < 3.0


@pytest.mark.parametrize("announce", [True, False], ids=["announced", "unannounced"])
def test_an_answer_over_the_cap_is_refused(announce: bool) -> None:
    limit = defaults.MAX_INVENTORY_BYTES
    with FloodServer(size=3 * limit, announce=announce) as server:
        with pytest.raises(InventoryError) as caught:
            ACMEInventory(url=server.url).load()
        assert server.sent < limit + 16 * 1024 * 1024  # it stopped reading near the cap
    said = f" (it announced {3 * limit} bytes)" if announce else ""
    assert str(caught.value) == (
        f"inventory service at {server.url} sent too much: the answer is larger than"
        f" {limit} bytes{said} (the limit)"
    )


@pytest.mark.parametrize(
    ("url", "message"),
    [
        (
            "http://[::1",
            "inventory URL 'http://[::1' cannot be used: it cannot be read (Invalid IPv6 URL)",
        ),
        (
            f"http://netops:{SECRET}@[::1",
            "inventory URL 'http://********@[::1' cannot be used:"
            " it cannot be read (Invalid IPv6 URL)",
        ),
        (
            "http://inventory:99999",
            "inventory URL 'http://inventory:99999' cannot be used: it cannot be read"
            " (Port out of range 0-65535)",
        ),
        (
            f"http://netops:{SECRET}@inventory:0/",
            "inventory URL 'http://********@inventory:0/' cannot be used:"
            " port 0 is not a TCP port (1-65535)",
        ),
        (
            "ftp://inventory",
            "inventory URL 'ftp://inventory' cannot be used: it is not an http(s) URL",
        ),
        (
            "http://inv entory",
            "inventory URL 'http://inv entory' cannot be used:"
            " hostname 'inv entory' is neither an IP address nor a DNS name",
        ),
    ],
)
def test_an_unusable_url_is_one_clear_error(url: str, message: str) -> None:
    with pytest.raises(InventoryError) as caught:
        ACMEInventory(url=url).load()
    assert str(caught.value) == message
    assert SECRET not in str(caught.value)


def test_credentials_in_the_url_are_sent_and_never_shown() -> None:
    with TrickleServer(json_answer(HOSTS), interval=0, fast=10**6) as server:
        url = f"http://netops:{SECRET}@127.0.0.1:{server.port}"
        inventory = ACMEInventory(url=url).load()
        assert list(inventory.hosts) == ["edge00.earth"]
        expected = base64.b64encode(f"netops:{SECRET}".encode())
        headers = dict(
            line.split(b": ", 1) for line in server.heads[0].split(b"\r\n")[1:] if b": " in line
        )
        assert {k.lower(): v for k, v in headers.items()}[b"authorization"] == b"Basic " + expected
    with TrickleServer(json_answer({"code": "nope"}, "500 Oops"), interval=0, fast=10**6) as server:
        url = f"http://netops:{SECRET}@127.0.0.1:{server.port}/"
        with pytest.raises(InventoryError) as caught:
            ACMEInventory(url=url).load()
    assert str(caught.value) == (
        f"inventory service at http://********@127.0.0.1:{server.port}/ answered HTTP 500"
        f" for {defaults.INVENTORY_HOSTS_PATH}"
    )


def test_an_unreachable_service_is_named_without_its_credentials() -> None:
    with TrickleServer(b"", interval=0) as server:
        port = server.port
    with pytest.raises(InventoryError) as caught:
        ACMEInventory(url=f"http://netops:{SECRET}@127.0.0.1:{port}").load()
    text = str(caught.value)
    assert text.startswith(
        f"cannot reach the inventory service at http://********@127.0.0.1:{port}: "
    )
    assert SECRET not in text


def test_a_host_list_nested_beyond_the_stack_is_not_a_host_list() -> None:
    body = b'{"hosts": ' + b"[" * 200_000 + b"]" * 200_000 + b"}"
    answer = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body
    with (
        TrickleServer(answer, interval=0, fast=len(answer)) as server,
        pytest.raises(InventoryError, match="did not send a host list"),
    ):
        ACMEInventory(url=server.url).load()
