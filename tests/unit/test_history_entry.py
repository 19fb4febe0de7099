"""The history's records: ``--since`` read as a user writes it, options masked before storing."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from acmerun.history import parse_since
from acmerun.history.entry import masked_options
from acmerun.secrets import Redactor

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("text", "moment"),
    [
        ("24h", datetime(2026, 12, 2, 12, 0, tzinfo=timezone.utc)),
        ("7d", datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc)),
        ("30m", datetime(2026, 12, 3, 11, 30, tzinfo=timezone.utc)),
        ("2w", datetime(2026, 11, 19, 12, 0, tzinfo=timezone.utc)),
        ("2026-12-01", datetime(2026, 12, 1, tzinfo=timezone.utc)),
        ("2026-12-01T02:00Z", datetime(2026, 12, 1, 2, 0, tzinfo=timezone.utc)),
        ("2026-12-01T03:00+01:00", datetime(2026, 12, 1, 2, 0, tzinfo=timezone.utc)),
    ],
)
def test_since_reads_relative_and_iso_times(text: str, moment: datetime) -> None:
    assert parse_since(text, NOW) == moment


@pytest.mark.parametrize("text", ["yesterday", "24", "h", "-1d", "2026-13-01", ""])
def test_since_refuses_anything_else_with_the_forms_it_takes(text: str) -> None:
    with pytest.raises(ValueError, match=r"neither a time back from now \(24h, 7d"):
        parse_since(text, NOW)


def test_options_keep_names_and_mask_secret_values() -> None:
    kept = masked_options(
        {
            "limit": "leaf*",
            "extra_vars": {"note": "in pw-1234 out", "api_token": "abc", "site": "earth"},
        },
        Redactor(["pw-1234"]),
    )
    assert kept == {
        "limit": "leaf*",
        "extra_vars": {"note": "in ******** out", "api_token": "********", "site": "earth"},
    }
