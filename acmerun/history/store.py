"""The history file: SQLite, opened safely, migrated forward, shared by concurrent runs.

The file is created 0600 and opened without following a symlink at its name (nor at
its ``-wal`` and ``-shm`` companions). Its schema version is ``PRAGMA user_version``:
an older file is migrated forward when it is opened, in one transaction that the
first of several concurrent openers runs; a file of a newer acmerun is read but never
written. WAL lets runs write while others read, and a busy timeout makes a writer
wait for another's transaction rather than fail.

Every problem is a ``HistoryError`` (exit 5 for the ``history`` and ``show``
commands; a run turns it into one warning line and keeps its exit code).
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import stat
from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from acmerun.errors import BadOptions
from acmerun.history.entry import HostEntry, RunEntry
from acmerun.report.json import iso_utc

#: the schema this acmerun writes; files of older versions are migrated to it
SCHEMA_VERSION = 2

#: how long a writer waits for another process's transaction, in seconds
BUSY_TIMEOUT = 10.0

#: the statements that take a file from version N-1 to version N
MIGRATIONS: dict[int, tuple[str, ...]] = {
    1: (
        """CREATE TABLE runs (
            run_id TEXT PRIMARY KEY,
            runbook TEXT NOT NULL,
            runbook_key TEXT NOT NULL,
            runbook_sha256 TEXT NOT NULL,
            name TEXT NOT NULL,
            started TEXT NOT NULL,
            ended TEXT NOT NULL,
            exit_code INTEGER NOT NULL,
            check_mode INTEGER NOT NULL,
            target TEXT NOT NULL,
            interrupted INTEGER NOT NULL,
            options TEXT NOT NULL,
            totals TEXT NOT NULL
        )""",
        "CREATE INDEX runs_by_start ON runs (started)",
        "CREATE INDEX runs_by_runbook ON runs (runbook_key, started)",
        """CREATE TABLE hosts (
            run_id TEXT NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
            host TEXT NOT NULL,
            status TEXT NOT NULL,
            changed INTEGER NOT NULL,
            failed_step TEXT,
            error TEXT,
            PRIMARY KEY (run_id, host)
        ) WITHOUT ROWID""",
    ),
    # the report itself, zlib-compressed JSON, so that `acmerun show RUN_ID` can give it back
    2: ("ALTER TABLE runs ADD COLUMN report BLOB",),
}

_RUN_COLUMNS = (
    "run_id, runbook, runbook_key, runbook_sha256, name, started, ended, exit_code, "
    "check_mode, target, interrupted, options, totals"
)


class HistoryError(BadOptions):
    """The history file cannot be opened, read or written."""


class History:
    """The history file at ``path``; ``with History.open(path) as history:``.

    ``write=False`` opens it to read: a file of a newer acmerun is then accepted.
    ``HistoryError`` when the file cannot be used.
    """

    def __init__(self, path: Path, connection: sqlite3.Connection, version: int) -> None:
        self.path = path
        self.version = version
        self._db = connection

    @classmethod
    def open(cls, path: Path, *, write: bool = True, timeout: float = BUSY_TIMEOUT) -> History:
        """The file opened (created 0600 if new) and migrated to ``SCHEMA_VERSION``."""
        _create_safely(path)
        try:
            db = sqlite3.connect(str(path), timeout=timeout, isolation_level=None)
        except sqlite3.Error as exc:
            raise HistoryError(f"{path}: cannot open: {exc}") from None
        try:
            with _sqlite_errors(path):
                version = _migrate(db, path, write=write)
        except BaseException:
            db.close()
            raise
        return cls(path, db, version)

    def close(self) -> None:
        """Close the file (its WAL is checkpointed by the last one out)."""
        self._db.close()

    def __enter__(self) -> History:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def add(self, entry: RunEntry) -> None:
        """Record one run and its hosts, in one transaction.

        A run resumed after a crash keeps its id: its new record replaces the old one.
        """
        with _sqlite_errors(self.path), _transaction(self._db):
            self._db.execute("DELETE FROM hosts WHERE run_id = ?", (entry.run_id,))
            self._db.execute("DELETE FROM runs WHERE run_id = ?", (entry.run_id,))
            self._db.execute(
                f"INSERT INTO runs ({_RUN_COLUMNS}, report) VALUES "
                "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    entry.run_id,
                    entry.runbook,
                    entry.runbook_key,
                    entry.runbook_sha256,
                    entry.name,
                    entry.started,
                    entry.ended,
                    entry.exit_code,
                    int(entry.check),
                    entry.target,
                    int(entry.interrupted),
                    json.dumps(entry.options, ensure_ascii=True, sort_keys=True),
                    json.dumps(dict(entry.totals), ensure_ascii=True),
                    entry.report,
                ),
            )
            self._db.executemany(
                "INSERT INTO hosts (run_id, host, status, changed, failed_step, error) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (
                    (entry.run_id, h.host, h.status, int(h.changed), h.failed_step, h.error)
                    for h in entry.hosts
                ),
            )

    def runs(
        self,
        *,
        runbook_key: str | None = None,
        since: datetime | None = None,
        limit: int | None = None,
        failed: bool = False,
    ) -> list[RunEntry]:
        """Runs newest first (no hosts, no report): of one runbook, since a moment, failed."""
        where, values = [], []
        if runbook_key is not None:
            where.append("runbook_key = ?")
            values.append(runbook_key)
        if since is not None:
            where.append("started >= ?")
            values.append(iso_utc(since))
        if failed:
            where.append("exit_code NOT IN (0, 6)")
        sql = f"SELECT {_RUN_COLUMNS} FROM runs"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY started DESC, run_id DESC"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        with _sqlite_errors(self.path):
            return [_entry(row) for row in self._db.execute(sql, values)]

    def get(self, run_id: str) -> RunEntry | None:
        """The run ``run_id`` with its report (None: no such run)."""
        with _sqlite_errors(self.path):
            row = self._db.execute(
                f"SELECT {_RUN_COLUMNS}, report FROM runs WHERE run_id = ?", (run_id,)
            ).fetchone()
        if row is None:
            return None
        entry = _entry(row[:-1])
        return RunEntry(**{**entry.__dict__, "report": row[-1]})

    def hosts(self, run_id: str, statuses: Sequence[str] | None = None) -> list[HostEntry]:
        """The hosts of run ``run_id`` (only those in ``statuses``, if given), by name."""
        sql = "SELECT host, status, changed, failed_step, error FROM hosts WHERE run_id = ?"
        values: list[Any] = [run_id]
        if statuses is not None:
            sql += f" AND status IN ({', '.join('?' for _ in statuses)})"
            values.extend(statuses)
        with _sqlite_errors(self.path):
            rows = self._db.execute(sql + " ORDER BY host", values).fetchall()
        return [HostEntry(r[0], r[1], bool(r[2]), r[3], r[4]) for r in rows]


def _entry(row: Sequence[Any]) -> RunEntry:
    return RunEntry(
        run_id=row[0],
        runbook=row[1],
        runbook_key=row[2],
        runbook_sha256=row[3],
        name=row[4],
        started=row[5],
        ended=row[6],
        exit_code=int(row[7]),
        check=bool(row[8]),
        target=row[9],
        interrupted=bool(row[10]),
        options=json.loads(row[11]),
        totals=json.loads(row[12]),
    )


def _create_safely(path: Path) -> None:
    """Create the file 0600 if missing; refuse a symlink or anything but a regular file."""
    flags = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        fd = os.open(path, flags, 0o600)
    except OSError as exc:
        hint = " (a symlink is never followed)" if os.path.islink(path) else ""
        raise HistoryError(f"{path}: cannot open: {exc.strerror or exc}{hint}") from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise HistoryError(f"{path}: not a regular file")
    finally:
        os.close(fd)
    for suffix in ("-wal", "-shm"):
        companion = Path(f"{path}{suffix}")
        if companion.is_symlink():
            raise HistoryError(f"{companion}: is a symlink; remove it")


def _migrate(db: sqlite3.Connection, path: Path, *, write: bool) -> int:
    """The file's schema version once migrated; ``HistoryError`` if newer and ``write``."""
    version = int(db.execute("PRAGMA user_version").fetchone()[0])
    if version > SCHEMA_VERSION and write:
        raise HistoryError(
            f"{path} has schema version {version}, newer than this acmerun's "
            f"({SCHEMA_VERSION}): not written; upgrade acmerun"
        )
    if version <= SCHEMA_VERSION:
        # a newer acmerun's file is left exactly as it is, its journal mode included
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
    if version < SCHEMA_VERSION:
        with _transaction(db):
            # another process may have migrated it while this one waited for the lock
            version = int(db.execute("PRAGMA user_version").fetchone()[0])
            for step in range(version + 1, SCHEMA_VERSION + 1):
                for statement in MIGRATIONS[step]:
                    db.execute(statement)
            if version < SCHEMA_VERSION:
                db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
                version = SCHEMA_VERSION
    return version


@contextlib.contextmanager
def _transaction(db: sqlite3.Connection) -> Iterator[None]:
    """One write transaction, taken at once (``BEGIN IMMEDIATE``) so it waits, not deadlocks."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


@contextlib.contextmanager
def _sqlite_errors(path: Path) -> Iterator[None]:
    try:
        yield
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc) or "busy" in str(exc):
            raise HistoryError(f"{path}: {exc} (another run held it too long)") from None
        raise HistoryError(f"{path}: {exc}") from None
    except sqlite3.Error as exc:
        raise HistoryError(f"{path}: {exc}") from None
