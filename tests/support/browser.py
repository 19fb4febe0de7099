"""Headless Chromium through selenium and Debian's chromedriver, for tests of the HTML report.

In CI (``CI=1``, set by ``.ci/run``, which installs ``chromium`` and
``chromium-driver``) a missing browser fails the test; elsewhere the test is
skipped with the reason.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from selenium.webdriver.remote.webdriver import WebDriver

CHROMEDRIVER = "/usr/bin/chromedriver"


def require_chromium() -> tuple[str, str]:
    """Chromium and chromedriver's paths; skipped (failed in CI) when either is missing."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = CHROMEDRIVER if os.path.exists(CHROMEDRIVER) else shutil.which("chromedriver")
    missing = [name for name, path in (("chromium", browser), ("chromedriver", driver)) if not path]
    if missing:
        reason = f"{' and '.join(missing)} not installed (apt-get install chromium chromium-driver)"
        if os.environ.get("CI") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    try:
        import selenium  # noqa: F401
    except ImportError:
        if os.environ.get("CI") == "1":
            pytest.fail("selenium not installed (pip install -e '.[dev]')")
        pytest.skip("selenium not installed (pip install -e '.[dev]')")
    assert browser is not None and driver is not None
    return browser, driver


@contextmanager
def chromium(width: int = 1280, height: int = 900) -> Iterator[WebDriver]:
    """A headless Chromium (no sandbox: tests run as root), closed at the end."""
    browser, driver = require_chromium()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="acmerun-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        f"--window-size={width},{height}",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(argument)
    session = webdriver.Chrome(service=Service(executable_path=driver), options=options)
    try:
        session.set_page_load_timeout(60)
        yield session
    finally:
        session.quit()
        shutil.rmtree(profile, ignore_errors=True)


def url(path: Path) -> str:
    """The ``file://`` URL of a local file."""
    return path.resolve().as_uri()
