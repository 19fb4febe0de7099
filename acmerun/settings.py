"""Where each setting comes from, and which source wins: one table, declared once.

    setting        sources, first found wins
    inventory_url  the inventory's url option (the runbook's), $ACME_INVENTORY_URL,
                   the config file's inventory.url (none: the embedded lab, see the run)
    username       $ACMEOS_USERNAME, the config file's credentials.username
    password       $ACMEOS_PASSWORD, the config file's credentials.password(_env)
    workers        --workers, the runbook's strategy.workers, the config file's workers,
                   the default (50)
    report_dir     --report-dir, the config file's report_dir
    auth_failure_limit  --auth-failure-limit, the runbook's strategy.auth_failure_limit,
                   the config file's auth_failure_limit, the default (3; 0: no limit)
    history        --history, $ACMERUN_HISTORY, the default (<state dir>/history.sqlite;
                   --no-history: none)
    plan_max_age   --max-plan-age, $ACMERUN_PLAN_MAX_AGE, the default (24h): the oldest
                   plan ``acmerun apply`` runs
    connect_rate   --connect-rate, the runbook's strategy.connect_rate, the config file's
                   connect_rate (none: logins are not rate-limited)

Credentials an inventory gives a host (host, group or defaults) always win over
these: the table says what acmerun fills in where the inventory is silent.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from acmerun import paths
from acmerun.acmeos.defaults import INVENTORY_URL_ENV, PASSWORD_ENV, USERNAME_ENV
from acmerun.config import Config
from acmerun.defaults import DEFAULT_AUTH_FAILURE_LIMIT, DEFAULT_WORKERS

#: the environment variable naming the history file, and the file's name in the state dir
HISTORY_ENV = "ACMERUN_HISTORY"
HISTORY_FILE = "history.sqlite"
#: the oldest plan ``acmerun apply`` runs by default
DEFAULT_PLAN_MAX_AGE = "24h"
#: the environment variable of ``plan_max_age``
PLAN_MAX_AGE_ENV = "ACMERUN_PLAN_MAX_AGE"


@dataclass(frozen=True)
class Inputs:
    """Everything a setting can come from, for one run (or one plugin)."""

    #: the command line's values, by setting name (``workers``, ``report_dir``)
    options: Mapping[str, Any] = field(default_factory=dict)
    #: the inventory's options as the runbook (or a nornir script) gives them
    inventory_options: Mapping[str, Any] = field(default_factory=dict)
    #: the runbook's strategy.workers
    runbook_workers: int | None = None
    #: the runbook's strategy.auth_failure_limit
    runbook_auth_failure_limit: int | None = None
    #: the runbook's strategy.connect_rate
    runbook_connect_rate: int | None = None
    environ: Mapping[str, str] = field(default_factory=dict)
    config: Config = field(default_factory=Config)


@dataclass(frozen=True)
class Source:
    """One place a setting can come from: how a person names it, and how to read it."""

    label: str
    read: Callable[[Inputs], Any]


@dataclass(frozen=True)
class Resolved:
    """A setting's value and the source it came from (None: no source gave one)."""

    value: Any
    source: str | None


def _url_option(inputs: Inputs) -> Any:
    url = inputs.inventory_options.get("url")
    if isinstance(url, (list, tuple)):
        url = ",".join(str(u) for u in url)
    return url


#: every setting's sources, in precedence order
SETTINGS: dict[str, tuple[Source, ...]] = {
    "inventory_url": (
        Source("the inventory's url option", _url_option),
        Source(f"${INVENTORY_URL_ENV}", lambda i: i.environ.get(INVENTORY_URL_ENV)),
        Source("the config file's inventory.url", lambda i: i.config.inventory_url),
    ),
    "username": (
        Source(f"${USERNAME_ENV}", lambda i: i.environ.get(USERNAME_ENV)),
        Source("the config file's credentials.username", lambda i: i.config.username),
    ),
    "password": (
        Source(f"${PASSWORD_ENV}", lambda i: i.environ.get(PASSWORD_ENV)),
        Source("the config file's credentials", lambda i: i.config.password),
    ),
    "workers": (
        Source("--workers", lambda i: i.options.get("workers")),
        Source("the runbook's strategy.workers", lambda i: i.runbook_workers),
        Source("the config file's workers", lambda i: i.config.workers),
        Source("the default", lambda i: DEFAULT_WORKERS),
    ),
    "auth_failure_limit": (
        Source("--auth-failure-limit", lambda i: i.options.get("auth_failure_limit")),
        Source("the runbook's strategy.auth_failure_limit", lambda i: i.runbook_auth_failure_limit),
        Source("the config file's auth_failure_limit", lambda i: i.config.auth_failure_limit),
        Source("the default", lambda i: DEFAULT_AUTH_FAILURE_LIMIT),
    ),
    "plan_max_age": (
        Source("--max-plan-age", lambda i: i.options.get("plan_max_age")),
        Source(f"${PLAN_MAX_AGE_ENV}", lambda i: i.environ.get(PLAN_MAX_AGE_ENV)),
        Source("the default", lambda i: DEFAULT_PLAN_MAX_AGE),
    ),
    "connect_rate": (
        Source("--connect-rate", lambda i: i.options.get("connect_rate")),
        Source("the runbook's strategy.connect_rate", lambda i: i.runbook_connect_rate),
        Source("the config file's connect_rate", lambda i: i.config.connect_rate),
    ),
    "report_dir": (
        Source("--report-dir", lambda i: i.options.get("report_dir")),
        Source("the config file's report_dir", lambda i: i.config.report_dir),
    ),
    "history": (
        Source("--history", lambda i: i.options.get("history")),
        Source(f"${HISTORY_ENV}", lambda i: i.environ.get(HISTORY_ENV)),
        Source("the default", lambda i: paths.state_dir() / HISTORY_FILE),
    ),
}


def resolve(name: str, inputs: Inputs) -> Resolved:
    """The value of setting ``name``: the first of its sources that gives one."""
    for source in SETTINGS[name]:
        value = source.read(inputs)
        if value is not None and value != "":
            return Resolved(value, source.label)
    return Resolved(None, None)
