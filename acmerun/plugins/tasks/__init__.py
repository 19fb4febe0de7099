"""nornir tasks shipped with acmerun: ``from acmerun.plugins.tasks import acmeos``."""

from acmerun.plugins.tasks import acmeos

__all__ = ["acmeos"]
