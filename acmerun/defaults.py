"""acmerun's defaults and plugin names: constants only, importable from anywhere.

Every default a user can meet (in the schema's descriptions, the model, the runner
and the CLI's help) is one of these names.
"""

from __future__ import annotations

#: hosts in flight when neither --workers, the runbook nor the config file says
DEFAULT_WORKERS = 50

#: devices that may refuse the credentials before no new host starts (0: no limit)
DEFAULT_AUTH_FAILURE_LIMIT = 3

#: hosts of one redundancy group in flight at once, when ``strategy.rolling`` does not say
DEFAULT_MAX_DOWN = 1

#: what a failed host halts (``strategy.rolling.on_failure``); the first is the default
ON_FAILURE = ("halt_group", "halt_all", "continue")
DEFAULT_ON_FAILURE = ON_FAILURE[0]

#: the nornir plugins of this package, by the names they are registered under (nornir keeps
#: one registry for every kind, so the names are unique across kinds)
INVENTORY_PLUGIN = "ACMEInventory"
RUNNER_PLUGIN = "RollingRunner"
CONNECTION_PLUGIN = "acmeos"
#: the highest connect_rate (new device sessions per second), as the runbook's schema says
MAX_CONNECT_RATE = 100_000
