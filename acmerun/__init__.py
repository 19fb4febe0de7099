"""acmerun: a declarative runbook runner for fleets of AcmeOS devices, built on nornir 3."""

from acmerun.defaults import DEFAULT_WORKERS

__version__ = "0.1.0"

__all__ = ["DEFAULT_WORKERS", "__version__"]
