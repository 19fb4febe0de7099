"""Where acmerun keeps its per-user files (lab state, locks, crash logs)."""

from __future__ import annotations

import os
from pathlib import Path

from acmerun.errors import BadOptions


def state_dir() -> Path:
    """The per-user state directory, created on first use.

    ``$ACMERUN_STATE_DIR`` if set, else ``$XDG_STATE_HOME/acmerun``, else
    ``~/.local/state/acmerun``. ``BadOptions`` (exit 5) when it cannot be created
    (a file stands where a directory should be, a read-only file system...).
    """
    explicit = os.environ.get("ACMERUN_STATE_DIR")
    if explicit:
        path = Path(explicit)
    else:
        base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
        path = Path(base) / "acmerun"
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BadOptions(
            f"state directory {path}: cannot create it: {exc.strerror or exc} "
            "(set ACMERUN_STATE_DIR or XDG_STATE_HOME to a writable directory)"
        ) from exc
    if not path.is_dir():
        raise BadOptions(
            f"state directory {path}: not a directory "
            "(set ACMERUN_STATE_DIR or XDG_STATE_HOME to a writable directory)"
        )
    return path


def config_file() -> Path:
    """The default configuration file: ``$XDG_CONFIG_HOME/acmerun/config.yml``."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "acmerun" / "config.yml"
