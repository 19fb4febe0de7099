"""Where a run's log records go: to ``--log-file`` with every secret masked, or nowhere."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TextIO

from acmerun.errors import BadOptions
from acmerun.secrets import Secrets, printable


@contextmanager
def run_logging(
    log_file: Path | None, secrets: Secrets, err: TextIO | None = None
) -> Iterator[None]:
    """Every log record and warning goes to ``log_file`` (secrets masked), or nowhere at all.

    acmerun's and nornir's records from INFO up, other libraries' from WARNING up.
    Nothing reaches the terminal: a handler on the root logger keeps Python's
    last-resort handler (stderr) out of the way, so ``--quiet`` stays quiet.
    Without a log file no record of ours is even built: the run logs a line per
    host, which costs a fleet of 10,000 a noticeable share of a second.

    A log file that cannot be written is ``BadOptions`` before anything runs (its
    first line is written and flushed at once); one that fails later (a disk
    filling up) stops being written, and a single warning line on ``err`` says so
    when the run is over: never Python's "--- Logging error ---" tracebacks.
    """
    root = logging.getLogger()
    ours = [logging.getLogger(name) for name in ("acmerun", "nornir")]
    handler: logging.Handler
    if log_file is None:
        handler = logging.NullHandler()
    else:
        try:
            log_file.parent.mkdir(parents=True, exist_ok=True)
            handler = LogFileHandler(log_file)
        except OSError as exc:
            raise BadOptions(f"--log-file {log_file}: {exc.strerror or exc}") from exc
        handler.setFormatter(ScrubbingFormatter(secrets))
        handler.handle(_record(f"logging to {log_file}"))
        if handler.failure is not None:
            handler.close()
            raise BadOptions(f"--log-file {log_file}: cannot write to it: {handler.failure}")
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
        if isinstance(handler, LogFileHandler) and handler.failure is not None:
            with suppress(OSError, ValueError):
                print(
                    f"acmerun: warning: --log-file {log_file}: records were lost, writing"
                    f" failed: {handler.failure}",
                    file=err or sys.stderr,
                    flush=True,
                )


class LogFileHandler(logging.FileHandler):
    """A log file that stops being written at its first failure, and remembers why."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, encoding="utf-8")
        #: why writing failed (``No space left on device``), None while it works
        self.failure: str | None = None

    def emit(self, record: logging.LogRecord) -> None:
        if self.failure is None:
            super().emit(record)

    def handleError(self, record: logging.LogRecord) -> None:
        error = sys.exc_info()[1]
        if self.failure is None:
            strerror = getattr(error, "strerror", None)
            self.failure = str(strerror or error or "unknown error")

    def close(self) -> None:
        try:
            super().close()
        except (OSError, ValueError) as exc:
            if self.failure is None:
                self.failure = str(getattr(exc, "strerror", None) or exc)


def _record(message: str) -> logging.LogRecord:
    return logging.LogRecord("acmerun", logging.INFO, __file__, 0, message, None, None)


class ScrubbingFormatter(logging.Formatter):
    """Log lines with every known secret masked, tracebacks included; a message's control
    characters (a host name's ESC or newline) escaped, so one record is one line."""

    def __init__(self, secrets: Secrets) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s [%(threadName)s] %(message)s")
        self.secrets = secrets

    def formatMessage(self, record: logging.LogRecord) -> str:
        record.message = printable(self.secrets.mask(record.message))
        return super().formatMessage(record)

    def format(self, record: logging.LogRecord) -> str:
        return self.secrets.mask(super().format(record))
