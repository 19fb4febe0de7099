"""Every end-to-end test is checked for written-out passwords (``secret_scan``)."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture(autouse=True)
def _every_test_is_scanned_for_secrets(secret_scan: Any) -> Any:
    return secret_scan
