"""The run history: every run that reached its hosts, in one SQLite file.

entry.py   the records: a run (``RunEntry``) and its hosts (``HostEntry``), made from an
           outcome, every secret masked; ``since`` (``24h``, ``7d``, ISO dates)
store.py   ``History``: the file opened safely (0600, no symlink followed), its schema
           versioned (``PRAGMA user_version``) and migrated forward, WAL and a busy
           timeout so that concurrent runs write safely

The file is ``<state dir>/history.sqlite`` unless ``--history PATH`` or
``$ACMERUN_HISTORY`` says otherwise (``acmerun/settings.py``); ``--no-history`` keeps
none. What a run records and how it reads its past runs back is ``session/history.py``.
"""

from __future__ import annotations

from acmerun.history.entry import HostEntry, RunEntry, parse_since
from acmerun.history.store import SCHEMA_VERSION, History, HistoryError

__all__ = ["SCHEMA_VERSION", "History", "HistoryError", "HostEntry", "RunEntry", "parse_since"]
