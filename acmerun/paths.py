"""Where acmerun keeps its per-user files (lab state, locks, crash logs)."""

from __future__ import annotations

import os
from pathlib import Path


def state_dir() -> Path:
    """The per-user state directory, created on first use.

    ``$ACMERUN_STATE_DIR`` if set, else ``$XDG_STATE_HOME/acmerun``, else
    ``~/.local/state/acmerun``.
    """
    explicit = os.environ.get("ACMERUN_STATE_DIR")
    if explicit:
        path = Path(explicit)
    else:
        base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
        path = Path(base) / "acmerun"
    path.mkdir(parents=True, exist_ok=True)
    return path


def config_file() -> Path:
    """The default configuration file: ``$XDG_CONFIG_HOME/acmerun/config.yml``."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "acmerun" / "config.yml"
