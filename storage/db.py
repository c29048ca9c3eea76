"""The engine and session factory, SQLite tuning, and Alembic migrations run from code.

Alembic (and Mako, which it imports) is imported only when a migration runs or a database is not at the
head revision: the usual start, on a database already migrated, is decided by one SELECT and a glance at the
migration scripts' revision lines (a tenth of a second and some 10 MB less at every start).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy import URL, Connection, event, inspect, make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry

from iscg_bot.storage.sqlite_driver import one_trip_connector

if TYPE_CHECKING:
    from alembic.config import Config
    from alembic.script import ScriptDirectory
    from sqlalchemy.dialects.sqlite.aiosqlite import AsyncAdapt_aiosqlite_connection

MIGRATIONS = Path(__file__).parent / "migrations"
VERSION_TABLE = "alembic_version"  # Alembic's default, which env.py keeps
# `revision: str = "0009_meeting_folds"`, `down_revision: str | None = None`: a script's lines as the template
# writes them. A line in another form (a merge's tuple) matches nothing, and Alembic decides.
_REVISION_LINE = re.compile(
    r"""^(?P<name>revision|down_revision)\b[^=\n]*=\s*(?:None|"(?P<dq>[^"]+)"|'(?P<sq>[^']+)')\s*$""",
    re.MULTILINE,
)
SQLITE_BUSY_TIMEOUT_MS = 10_000


def libpq_url(url: str, *, password: bool = True) -> URL:
    """The bot's `postgresql+asyncpg://` URL as libpq's tools read it (pg_dump, psycopg2): asyncpg's `ssl`
    becomes libpq's `sslmode` (`true` → `require`); a key given twice keeps its last value."""
    parsed = make_url(url)
    query = {key: value if isinstance(value, str) else value[-1] for key, value in parsed.query.items()}
    if "ssl" in query:
        ssl = query.pop("ssl")
        query.setdefault("sslmode", "require" if ssl.lower() == "true" else ssl)
    secret = parsed.password if password else None
    return URL.create("postgresql", parsed.username, secret, parsed.host, parsed.port, parsed.database, query)


class NotMigratedError(RuntimeError):
    """The database schema is not the one this version of the bot was written for."""


class Database:
    """One engine, one session factory. SQLite by default; PostgreSQL by URL.

    `connect_args` goes to the driver, e.g. `{"server_settings": {"search_path": "myschema"}}` for asyncpg.
    """

    def __init__(
        self, url: str, *, echo: bool = False, connect_args: Mapping[str, Any] | None = None
    ) -> None:
        parsed = make_url(url)
        self.is_sqlite = parsed.get_backend_name() == "sqlite"
        if self.is_sqlite and parsed.database not in (None, "", ":memory:"):
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        # Our SQLite connections make one trip to aiosqlite's thread per statement (see sqlite_driver).
        one_trip = parsed.drivername == "sqlite+aiosqlite" and not connect_args
        self.engine: AsyncEngine = create_async_engine(
            parsed,
            echo=echo,
            connect_args=dict(connect_args or {}),
            **({"async_creator": one_trip_connector(parsed)} if one_trip else {}),
        )
        if self.is_sqlite:
            _tune_sqlite(self.engine)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)

    async def migrate(self, revision: str = "head") -> None:
        if revision == "head" and await self._at_head_without_alembic():
            return  # nothing to run (`run --migrate` at every start of the Docker image)
        await self._run_alembic("upgrade", revision)

    async def downgrade(self, revision: str) -> None:
        await self._run_alembic("downgrade", revision)

    async def current_revision(self) -> str | None:
        from alembic.runtime.migration import MigrationContext

        async with self.engine.connect() as conn:
            return await conn.run_sync(lambda sync: MigrationContext.configure(sync).get_current_revision())

    def head_revision(self) -> str:
        from alembic.script import ScriptDirectory

        head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
        assert head is not None, "storage/migrations/versions holds no migration"
        return head

    async def check_migrated(self) -> None:
        """Raise NotMigratedError unless the schema is at this version's head revision."""
        if await self._at_head_without_alembic():
            return
        from alembic.script import ScriptDirectory

        current, head = await self.current_revision(), self.head_revision()
        if current == head:
            return
        if current is not None and not _known(ScriptDirectory.from_config(_alembic_config()), current):
            raise NotMigratedError(
                f"database at revision {current}, unknown to this version (which needs {head}): "
                "was it migrated by a newer iscg-bot?"
            )
        raise NotMigratedError(
            f'database at revision {current}, this version needs {head}: run "iscg-bot migrate"'
        )

    async def dispose(self) -> None:
        await self.engine.dispose()

    async def _at_head_without_alembic(self) -> bool:
        """Whether the stored revision is the scripts' head, as far as can be told without Alembic; False
        also when it cannot be told (no version table, several rows, scripts in another form)."""
        head = _script_head()
        return head is not None and await self._stored_revision() == head

    async def _stored_revision(self) -> str | None:
        """The one revision in the version table; None when the table is missing or holds several."""
        async with self.engine.connect() as conn:
            if not await conn.run_sync(lambda sync: inspect(sync).has_table(VERSION_TABLE)):
                return None
            rows = (await conn.exec_driver_sql(f"SELECT version_num FROM {VERSION_TABLE}")).scalars().all()
        return str(rows[0]) if len(rows) == 1 else None

    async def _run_alembic(self, alembic_command: Literal["upgrade", "downgrade"], revision: str) -> None:
        from alembic import command

        # Alembic is synchronous: hand it our connection inside run_sync (env.py picks it up from
        # config.attributes), so it runs on this event loop and in one transaction.
        def run(sync_conn: Connection) -> None:
            config = _alembic_config()
            config.attributes["connection"] = sync_conn
            getattr(command, alembic_command)(config, revision)

        async with self.engine.connect() as conn:
            sqlite = conn.dialect.name == "sqlite"
            if sqlite:
                # SQLite alters a table by copying it and dropping the old one; with foreign keys on, the
                # drop would cascade to the rows that refer to it. Off outside the transaction (inside, the
                # pragma does nothing), then checked and back on.
                await _sqlite_pragma(conn, "foreign_keys=OFF")
            try:
                async with conn.begin():
                    await conn.run_sync(run)
                    if sqlite:
                        broken = (await conn.exec_driver_sql("PRAGMA foreign_key_check")).all()
                        if broken:
                            raise RuntimeError(f"the migration broke foreign keys: {broken[:5]}")
            finally:
                if sqlite:
                    await _sqlite_pragma(conn, "foreign_keys=ON")


async def _sqlite_pragma(conn: AsyncConnection, pragma: str) -> None:
    """Run a PRAGMA on the driver's connection, outside any transaction."""
    driver = (await conn.get_raw_connection()).driver_connection
    assert driver is not None  # None only once the connection is closed; `conn` is open
    await driver.execute(f"PRAGMA {pragma}")


def _known(scripts: ScriptDirectory, revision: str) -> bool:
    """Whether a script of this version has that revision (Alembic raises rather than answer no)."""
    from alembic.util import CommandError

    try:
        return scripts.get_revision(revision) is not None
    except CommandError:
        return False


@functools.cache
def _script_head() -> str | None:
    """The head revision, read from the scripts' `revision` and `down_revision` lines without importing
    Alembic (its own answer is `head_revision()`); None when a script is not in that form or the scripts do
    not make one line of history."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for script in MIGRATIONS.joinpath("versions").glob("*.py"):
        found = {m["name"]: m["dq"] or m["sq"] for m in _REVISION_LINE.finditer(script.read_text("utf-8"))}
        if not found.get("revision") or "down_revision" not in found:
            return None
        revisions.add(found["revision"])
        if found["down_revision"] is not None:
            parents.add(found["down_revision"])
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 and parents <= revisions else None


def _alembic_config() -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def _tune_sqlite(engine: AsyncEngine) -> None:
    """Make SQLite safe for concurrent transactions from several asyncio tasks.

    The sqlite3 driver starts transactions lazily, at the first write, so two transactions that both read
    and then write can each hold a read lock and wait on the other: "database is locked". Following the
    SQLAlchemy docs, the driver's own transaction handling is turned off and every transaction starts with
    BEGIN IMMEDIATE, taking the write lock up front; others wait for it (busy_timeout). WAL keeps readers on
    other connections (a backup, the sqlite3 shell) from blocking the writer. SAVEPOINTs still work inside
    these transactions.
    """

    @event.listens_for(engine.sync_engine, "connect")
    def on_connect(dbapi_connection: AsyncAdapt_aiosqlite_connection, _record: ConnectionPoolEntry) -> None:
        dbapi_connection.isolation_level = None  # the driver no longer emits BEGIN; SQLAlchemy does below
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def on_begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")
