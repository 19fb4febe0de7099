"""Shared fixtures: a real AcmeOS lab on loopback, in a thread, per test; the secret scan."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.credentials import LAB_PASSWORD, LAB_USERNAME, WRONG_PASSWORD
from tests.support.processes import SecretScan, set_scan

#: the folders whose every test runs its processes under the ``secret_scan`` fixture
SCANNED_FOLDERS = ("e2e", "reliability", "distributed")
TESTS = Path(__file__).resolve().parent


@pytest.fixture(autouse=True)
def _isolated_environment(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No test reads or writes the user's real state dir, config or inventory settings."""
    state = tmp_path_factory.mktemp("state")
    monkeypatch.setenv("ACMERUN_STATE_DIR", str(state))
    monkeypatch.setenv("XDG_STATE_HOME", str(state))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path_factory.mktemp("config")))
    for var in ("ACME_INVENTORY_URL", "ACMEOS_USERNAME", "ACMEOS_PASSWORD", "ACMERUN_CONFIG"):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture
def make_lab(tmp_path: Path) -> Iterator[Callable[..., Any]]:
    """Start labs in threads on loopback: ``make_lab(sites=1, dead=["edge00.*"])``.

    Keyword arguments are ``LabConfig`` fields; the credentials default to the test
    ones above. Every lab started is stopped at the end of the test.
    """
    from acmerun.lab import Lab, LabConfig

    labs: list[Any] = []

    def start(**options: Any) -> Any:
        options.setdefault("username", LAB_USERNAME)
        options.setdefault("password", LAB_PASSWORD)
        lab = Lab(LabConfig(**options))
        lab.start()
        labs.append(lab)
        return lab

    yield start
    for lab in labs:
        lab.stop()


@pytest.fixture
def lab(make_lab: Callable[..., Any]) -> Any:
    """One site (earth: 2 edge, 4 spine, 100 leaf), no faults, test credentials."""
    return make_lab(sites=["earth"])


@pytest.fixture
def lab_env(lab: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The ``lab`` fixture, with the environment pointing nornir plugins at it."""
    monkeypatch.setenv("ACME_INVENTORY_URL", lab.url)
    monkeypatch.setenv("ACMEOS_USERNAME", LAB_USERNAME)
    monkeypatch.setenv("ACMEOS_PASSWORD", LAB_PASSWORD)
    return lab


@pytest.fixture
def secret_scan(_isolated_environment: None, tmp_path: Path) -> Iterator[Any]:
    """Fails the test if a password shows in a process's output or any file the test left.

    Scans what ``tests.support.processes`` helpers recorded, then every file under the
    test's folder and the state dir (reports, logs, JUnit, crash logs, locks).
    """
    roots = [tmp_path, Path(os.environ["ACMERUN_STATE_DIR"])]
    scan = SecretScan([LAB_PASSWORD, WRONG_PASSWORD], roots)
    set_scan(scan)
    try:
        yield scan
    finally:
        set_scan(None)
    scan.verify()


@pytest.fixture(autouse=True)
def _scanned_for_secrets(request: pytest.FixtureRequest) -> None:
    """Every test of ``SCANNED_FOLDERS`` is checked for written-out passwords."""
    folder = Path(request.node.path).resolve().relative_to(TESTS).parts[0]
    if folder in SCANNED_FOLDERS:
        request.getfixturevalue("secret_scan")
