"""acmerun: a declarative runbook runner for fleets of AcmeOS devices, built on nornir 3."""

__version__ = "0.1.0"
