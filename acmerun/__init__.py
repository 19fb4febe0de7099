"""acmerun: a declarative runbook runner for fleets of AcmeOS devices, built on nornir 3."""

__version__ = "0.1.0"

#: hosts in flight when neither --workers, the runbook nor the config file says
DEFAULT_WORKERS = 50
