"""A consistent copy of the database while the bot runs (`iscg-bot backup FILE`).

SQLite: the online backup API (`sqlite3.Connection.backup`) in one step, so the whole copy is read in one
transaction, one snapshot: the bot keeps writing meanwhile (WAL: readers and the writer do not wait on each
other). The copy is written beside FILE, checked (`PRAGMA integrity_check`), and only then renamed to FILE:
a FILE that exists is always a whole, checked backup.

PostgreSQL: `pg_dump --format=custom`, which also reads one snapshot while the bot runs. It is run when on the
PATH (an operator's cron line is then the same for both backends); otherwise the error says the command to
run. Restore with `pg_restore --clean --if-exists --no-owner -d URL FILE`.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from sqlalchemy import make_url

from iscg_bot.storage.db import SQLITE_BUSY_TIMEOUT_MS, VERSION_TABLE, libpq_url


class BackupError(RuntimeError):
    """No backup was written (FILE is left as it was)."""


@dataclass(frozen=True)
class Backup:
    path: Path
    size: int  # bytes
    kind: Literal["sqlite", "pg_dump"]  # a SQLite database file, or pg_dump's custom format
    revision: str | None = None  # the copy's schema revision (SQLite; None: not migrated)
    handled_events: int | None = None  # rows of the exactly-once ledger in the copy (SQLite)


def backup(url: str, destination: Path) -> Backup:
    """Write a consistent copy of the database at `url` to `destination`, which must not exist yet."""
    if destination.exists():
        raise BackupError(f"{destination} exists: give a new file name (backups are never overwritten)")
    if not destination.parent.is_dir():
        raise BackupError(f"no directory {destination.parent}")
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database in (None, "", ":memory:"):
            raise BackupError("an in-memory database cannot be backed up")
        return _backup_sqlite(Path(parsed.database), destination)
    if parsed.get_backend_name() == "postgresql":
        return _backup_postgresql(url, destination)
    raise BackupError(f"cannot back up a {parsed.get_backend_name()} database")


def _backup_sqlite(source: Path, destination: Path) -> Backup:
    if not source.is_file():
        raise BackupError(f"no database at {source}")
    partial = _partial(destination)
    partial.unlink(missing_ok=True)  # left by a backup that was killed: start afresh
    try:
        with closing(sqlite3.connect(source)) as reading, closing(sqlite3.connect(partial)) as writing:
            reading.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            reading.backup(writing)  # pages=-1: every page in one step, from one snapshot
        with closing(sqlite3.connect(partial)) as copy:
            checked = [row[0] for row in copy.execute("PRAGMA integrity_check")]
            if checked != ["ok"]:
                raise BackupError(f"the copy failed its integrity check: {'; '.join(checked[:3])}")
            revision, handled = _revision_and_ledger(copy)
            copy.execute("PRAGMA journal_mode=DELETE")  # one file, readable anywhere (the bot puts WAL back)
        os.replace(partial, destination)
    except sqlite3.Error as error:
        raise BackupError(f"backup of {source} failed: {error}") from error
    finally:
        partial.unlink(missing_ok=True)
    return Backup(destination, destination.stat().st_size, "sqlite", revision, handled)


def _revision_and_ledger(copy: sqlite3.Connection) -> tuple[str | None, int | None]:
    tables = {row[0] for row in copy.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    revision = None
    if VERSION_TABLE in tables:
        found = copy.execute(f"SELECT version_num FROM {VERSION_TABLE}").fetchone()
        revision = str(found[0]) if found else None
    handled = None
    if "processed_events" in tables:
        handled = int(copy.execute("SELECT count(*) FROM processed_events").fetchone()[0])
    return revision, handled


def _backup_postgresql(url: str, destination: Path) -> Backup:
    parsed = make_url(url)
    # libpq's form of the URL; the password goes in the environment, not on a command line others can see.
    dsn = libpq_url(url, password=False).render_as_string(hide_password=False)
    pg_dump = shutil.which("pg_dump")
    if pg_dump is None:
        raise BackupError(
            "pg_dump not found: install the PostgreSQL client (the server's major version or newer), or run "
            f"`pg_dump --format=custom --file={destination} '{dsn}'` where it is installed"
        )
    environment = dict(os.environ)
    if parsed.password is not None:
        environment["PGPASSWORD"] = str(parsed.password)
    partial = _partial(destination)
    try:
        done = subprocess.run(
            [pg_dump, "--format=custom", f"--file={partial}", f"--dbname={dsn}"],
            env=environment,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            said = done.stderr.strip().splitlines()
            raise BackupError(f"pg_dump failed: {said[0] if said else f'exit status {done.returncode}'}")
        os.replace(partial, destination)
    finally:
        partial.unlink(missing_ok=True)
    return Backup(destination, destination.stat().st_size, "pg_dump")


def _partial(destination: Path) -> Path:
    return destination.with_name(destination.name + ".partial")
