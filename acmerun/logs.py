"""Where a run's log records go: to ``--log-file`` with every secret masked, or nowhere."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from acmerun.errors import BadOptions
from acmerun.secrets import Secrets


@contextmanager
def run_logging(log_file: Path | None, secrets: Secrets) -> Iterator[None]:
    """Every log record and warning goes to ``log_file`` (secrets masked), or nowhere at all.

    acmerun's and nornir's records from INFO up, other libraries' from WARNING up.
    Nothing reaches the terminal: a handler on the root logger keeps Python's
    last-resort handler (stderr) out of the way, so ``--quiet`` stays quiet.
    Without a log file no record of ours is even built: the run logs a line per
    host, which costs a fleet of 10,000 a noticeable share of a second.
    """
    root = logging.getLogger()
    ours = [logging.getLogger(name) for name in ("acmerun", "nornir")]
    handler: logging.Handler
    if log_file is None:
        handler = logging.NullHandler()
    else:
        try:
            log_file.parent.mkdir(parents=True, exist_ok=True)
            handler = logging.FileHandler(log_file, encoding="utf-8")
        except OSError as exc:
            raise BadOptions(f"--log-file {log_file}: {exc.strerror or exc}") from exc
        handler.setFormatter(ScrubbingFormatter(secrets))
    saved = [(lg, lg.level) for lg in (root, *ours)]
    root.addHandler(handler)
    root.setLevel(logging.WARNING)
    for lg in ours:
        lg.setLevel(logging.INFO if log_file is not None else logging.CRITICAL + 1)
    logging.captureWarnings(True)
    try:
        yield
    finally:
        logging.captureWarnings(False)
        root.removeHandler(handler)
        for lg, level in saved:
            lg.setLevel(level)
        handler.close()


class ScrubbingFormatter(logging.Formatter):
    """Log lines with every known secret masked, tracebacks included."""

    def __init__(self, secrets: Secrets) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s [%(threadName)s] %(message)s")
        self.secrets = secrets

    def format(self, record: logging.LogRecord) -> str:
        return self.secrets.mask(super().format(record))
