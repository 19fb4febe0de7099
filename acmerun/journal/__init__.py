"""The run journal and the event stream: one JSON object a line, as the run goes.

``log.py`` writes the events (``EventLog``: the journal in the state directory,
fsync'd, and ``--events``); ``state.py`` reads a journal back (a line cut short by
a crash is ignored) and finds the run to resume; ``resume.py`` continues it.
The events' shape is ``schema.json`` (``EVENTS_VERSION``), documented in
docs/runs.md.
"""

from __future__ import annotations

#: the ``v`` of every event; raised when an event changes in a way a reader would notice
EVENTS_VERSION = 1
