"""The configuration file: where it is found, what it holds, and mistakes located by line."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from acmerun.config import Config, load_config
from acmerun.errors import BadOptions


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_no_config_anywhere_is_empty() -> None:
    assert load_config() == Config()


def test_full_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NETOPS_PW", "from-env-pw")
    path = write(
        tmp_path / "cfg" / "acmerun.yml",
        "inventory: {url: http://inv.example:8080}\n"
        "credentials: {username: netops, password_env: NETOPS_PW}\n"
        "workers: 80\n"
        "report_dir: reports\n",
    )
    cfg = load_config(path)
    assert cfg.inventory_url == "http://inv.example:8080"
    assert (cfg.username, cfg.password, cfg.workers) == ("netops", "from-env-pw", 80)
    assert cfg.report_dir == tmp_path / "cfg" / "reports"
    assert "from-env-pw" not in repr(cfg)


def test_found_through_env_then_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    default = write(Path(os.environ["XDG_CONFIG_HOME"]) / "acmerun" / "config.yml", "workers: 3\n")
    assert load_config().workers == 3
    monkeypatch.setenv("ACMERUN_CONFIG", str(write(tmp_path / "c.yml", "workers: 4\n")))
    assert load_config().workers == 4
    assert load_config(default).workers == 3


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("workers: 0\n", "c.yml:1:10: workers: expected a whole number from 1, got 0"),
        (
            "auth_failure_limit: -1\n",
            "c.yml:1:21: auth_failure_limit: expected a whole number from 0, got -1",
        ),
        ("workers: 5\nwokers: 6\n", "c.yml:2:1: unknown setting 'wokers' (known: inventory,"),
        ("inventory:\n  uri: x\n", "c.yml:2:3: unknown setting 'inventory.uri' (known: url)"),
        ("inventory: {url: ftp://x}\n", "c.yml:1:18: inventory.url: expected an http:// or"),
        ("credentials: [a]\n", "c.yml:1:14: credentials: expected a mapping"),
        ("workers: [\n", "c.yml:2:1: not valid YAML"),
        ("- a\n", "c.yml:1:1: the configuration: expected a mapping"),
        (
            "credentials: {password_env: NOPE_NOT_SET}\n",
            "c.yml:1:29: credentials.password_env: "
            "the environment variable NOPE_NOT_SET is not set",
        ),
    ],
)
def test_mistakes_are_located(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path / "c.yml", text)
    with pytest.raises(BadOptions) as caught:
        load_config(path)
    assert str(caught.value).startswith(f"{path.parent}/{message}")


def test_unreadable_config(tmp_path: Path) -> None:
    with pytest.raises(BadOptions, match=r"config .*nope.yml: cannot read it: No such file"):
        load_config(tmp_path / "nope.yml")
