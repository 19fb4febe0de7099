"""The crash log: an unpredictable name, created exclusively, mode 0600, argv masked."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import pytest

from acmerun.cli.boundary import write_crash_log
from acmerun.secrets import masked_argv


def _crash(secrets: list[str]) -> Path:
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        path = write_crash_log(secrets)
    assert path is not None
    return path


def test_crash_logs_are_new_files_mode_0600_with_unpredictable_names(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sys, "argv", ["acmerun", "run", "rb.yml"])
    first, second = _crash([]), _crash([])
    assert first != second
    for path in (first, second):
        assert re.fullmatch(r"crash-\d{8}T\d{6}-[0-9a-f]{16}\.log", path.name)
        assert path.stat().st_mode & 0o7777 == 0o600
        assert "RuntimeError: boom" in path.read_text()
    assert str(os.getpid()) not in first.name


def test_argv_in_a_crash_log_has_secrets_and_url_passwords_masked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    argv = [
        "acmerun",
        "run",
        "-e",
        "db_password=hunter2",
        "--extra-vars=api_token=abc123",
        "-e",
        "site=earth",
        "--inventory",
        "https://ops:s3cr3t@inventory.example/hosts",
    ]
    monkeypatch.setattr(sys, "argv", argv)
    text = _crash([]).read_text()
    for secret in ("hunter2", "abc123", "s3cr3t"):
        assert secret not in text
    assert "site=earth" in text
    assert masked_argv(argv)[-1] == "https://ops:********@inventory.example/hosts"


@pytest.mark.parametrize(
    "value",
    [
        '{"enable_secret": "hunter2"}',
        "{enable_secret: hunter2, site: earth}",
        '[{"password": "hunter2"}]',
        'device={"enable_secret": "hunter2"}',
        "  {auth: {user: ops, pw: hunter2}}",
    ],
)
def test_inline_json_or_yaml_extra_vars_naming_a_secret_are_masked(value: str) -> None:
    for argv in (
        ["acmerun", "-e", value],
        ["acmerun", f"-e{value}"],
        ["acmerun", f"--extra-vars={value}"],
    ):
        masked = " ".join(masked_argv(argv))
        assert "hunter2" not in masked
        assert "********" in masked


def test_inline_data_without_a_secret_key_and_files_are_kept() -> None:
    argv = ["acmerun", "-e", '{"site": "earth"}', "-e", "@vars/secret.yml", "-e", "n=5"]
    assert masked_argv(argv) == argv
