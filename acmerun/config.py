"""acmerun's configuration file: where the inventory is, how to log in, run defaults.

The file is YAML (safe-loaded), from ``--config FILE``, else ``$ACMERUN_CONFIG``,
else ``$XDG_CONFIG_HOME/acmerun/config.yml`` when it exists. Every key is optional::

    inventory:
      url: http://inventory.example.net:8080   # else $ACME_INVENTORY_URL, else the embedded lab
    credentials:
      username: netops                         # $ACMEOS_USERNAME wins over this
      password_env: NETOPS_PASSWORD            # or password: ...; $ACMEOS_PASSWORD wins
    workers: 50                                # hosts in flight, when neither the runbook nor
                                               # --workers says
    report_dir: /var/log/acmerun               # as --report-dir; relative to this file
    auth_failure_limit: 3                      # as strategy.auth_failure_limit (0: no limit)
    connect_rate: 50                           # as strategy.connect_rate (logins per second)

It holds plain data read as runbooks are (no YAML tags, no duplicate keys, no
nesting deeper than ``acmerun.runbook.source.MAX_DEPTH``). A mistake in it is a
``BadOptions`` error (exit 5) with ``FILE:LINE:COLUMN``. The
caller adds the password it holds to the run's ``Secrets``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from acmerun import paths
from acmerun.acmeos.defaults import MASK
from acmerun.defaults import MAX_CONNECT_RATE
from acmerun.errors import BadOptions
from acmerun.runbook.source import parse

#: environment variable naming the configuration file
CONFIG_ENV = "ACMERUN_CONFIG"

_KEYS: dict[str, tuple[str, ...]] = {
    "": (
        "inventory",
        "credentials",
        "workers",
        "report_dir",
        "auth_failure_limit",
        "connect_rate",
    ),
    "inventory": ("url",),
    "credentials": ("username", "password", "password_env"),
}


@dataclass(frozen=True)
class Config:
    """The settings of the configuration file (all None when there is none)."""

    path: Path | None = None
    inventory_url: str | None = None
    username: str | None = None
    password: str | None = None
    workers: int | None = None
    report_dir: Path | None = None
    auth_failure_limit: int | None = None
    connect_rate: int | None = None

    def __repr__(self) -> str:
        hidden = MASK if self.password is not None else None
        return (
            f"Config(path={self.path!r}, inventory_url={self.inventory_url!r}, "
            f"username={self.username!r}, password={hidden!r}, workers={self.workers!r}, "
            f"report_dir={self.report_dir!r}, auth_failure_limit={self.auth_failure_limit!r}, "
            f"connect_rate={self.connect_rate!r})"
        )


def find_config(explicit: str | os.PathLike[str] | None = None) -> Path | None:
    """The configuration file: ``--config``, else ``$ACMERUN_CONFIG``, else the default one."""
    if explicit:
        return Path(explicit).expanduser()
    from_env = os.environ.get(CONFIG_ENV)
    if from_env:
        return Path(from_env).expanduser()
    default = paths.config_file()
    return default if default.is_file() else None


def load_config(explicit: str | os.PathLike[str] | None = None) -> Config:
    """Read and check the configuration file; ``Config()`` when there is none."""
    path = find_config(explicit)
    if path is None:
        return Config()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise BadOptions(f"config {path}: cannot read it: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise BadOptions(f"config {path}: not UTF-8 text") from exc
    return parse_config(text, path)


def parse_config(text: str, path: Path) -> Config:
    """The ``Config`` in ``text``, read from ``path`` (used in messages and for relative paths)."""
    _, problems = parse(text)  # tags, duplicates, depth; syntax errors are reported below
    first = problems[0] if problems else None
    if first and first.path != "<root>" and not first.message.startswith("YAML syntax"):
        raise BadOptions(first.render(str(path)).replace("a runbook holds", "settings are"))
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        raise BadOptions(f"{where}: not valid YAML: {getattr(exc, 'problem', exc)}") from exc
    if root is None:
        return Config(path=path)
    fields = _mapping(root, "", path)

    def value(node: yaml.Node | None, key: str, check: Callable[[Any], bool], want: str) -> Any:
        if node is None:
            return None
        data = _construct(node)
        if not check(data):
            raise BadOptions(f"{_at(node, path)}: {key}: expected {want}, got {data!r}")
        return data

    def is_text(v: Any) -> bool:
        return isinstance(v, str) and bool(v.strip())

    inventory = _mapping(fields["inventory"], "inventory", path) if "inventory" in fields else {}
    creds = _mapping(fields["credentials"], "credentials", path) if "credentials" in fields else {}
    url = value(inventory.get("url"), "inventory.url", _is_url, "an http:// or https:// URL")
    username = value(creds.get("username"), "credentials.username", is_text, "a user name")
    password = value(creds.get("password"), "credentials.password", _is_str, "a string")
    env_name = value(creds.get("password_env"), "credentials.password_env", is_text, "a name")
    if password is not None and env_name is not None:
        raise BadOptions(
            f"{_at(creds['password_env'], path)}: credentials: "
            "give password or password_env, not both"
        )
    if env_name is not None:
        password = os.environ.get(env_name)
        if password is None:
            raise BadOptions(
                f"{_at(creds['password_env'], path)}: credentials.password_env: "
                f"the environment variable {env_name} is not set"
            )
    workers = value(fields.get("workers"), "workers", _is_workers, "a whole number from 1")
    report_dir = value(fields.get("report_dir"), "report_dir", is_text, "a directory")
    auth_limit = value(
        fields.get("auth_failure_limit"), "auth_failure_limit", _is_count, "a whole number from 0"
    )
    connect_rate = value(
        fields.get("connect_rate"), "connect_rate", _is_rate, "a whole number, 1 to 100000"
    )
    return Config(
        path=path,
        inventory_url=url,
        username=username,
        password=password,
        workers=workers,
        report_dir=(path.parent / Path(report_dir).expanduser()) if report_dir else None,
        auth_failure_limit=auth_limit,
        connect_rate=connect_rate,
    )


def _mapping(node: yaml.Node, where: str, path: Path) -> dict[str, yaml.Node]:
    label = where or "the configuration"
    if not isinstance(node, yaml.MappingNode):
        raise BadOptions(f"{_at(node, path)}: {label}: expected a mapping")
    allowed = _KEYS[where]
    found: dict[str, yaml.Node] = {}
    for key_node, value_node in node.value:
        key = key_node.value
        name = f"{where}.{key}" if where else str(key)
        if key not in allowed:
            raise BadOptions(
                f"{_at(key_node, path)}: unknown setting {name!r} (known: {', '.join(allowed)})"
            )
        if key in found:
            raise BadOptions(f"{_at(key_node, path)}: {name} is given twice")
        found[key] = value_node
    return found


def _construct(node: yaml.Node) -> Any:
    loader = yaml.SafeLoader("")
    try:
        return loader.construct_document(node)
    finally:
        loader.dispose()


def _at(node: yaml.Node, path: Path) -> str:
    mark = node.start_mark
    return f"{path}:{mark.line + 1}:{mark.column + 1}"


def _is_str(v: Any) -> bool:
    return isinstance(v, str)


def _is_url(v: Any) -> bool:
    return isinstance(v, str) and v.startswith(("http://", "https://"))


def _is_count(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


def _is_rate(v: Any) -> bool:
    return _is_workers(v) and v <= MAX_CONNECT_RATE


def _is_workers(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= 1
