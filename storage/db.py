"""The engine and session factory, SQLite tuning, and Alembic migrations run from code."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, event, make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry

if TYPE_CHECKING:
    from sqlalchemy.dialects.sqlite.aiosqlite import AsyncAdapt_aiosqlite_connection

MIGRATIONS = Path(__file__).parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 10_000


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
        self.engine: AsyncEngine = create_async_engine(
            parsed, echo=echo, connect_args=dict(connect_args or {})
        )
        if self.is_sqlite:
            _tune_sqlite(self.engine)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)

    async def migrate(self, revision: str = "head") -> None:
        await self._run_alembic(command.upgrade, revision)

    async def downgrade(self, revision: str) -> None:
        await self._run_alembic(command.downgrade, revision)

    async def current_revision(self) -> str | None:
        async with self.engine.connect() as conn:
            return await conn.run_sync(lambda sync: MigrationContext.configure(sync).get_current_revision())

    def head_revision(self) -> str:
        head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
        assert head is not None, "storage/migrations/versions holds no migration"
        return head

    async def check_migrated(self) -> None:
        """Raise NotMigratedError unless the schema is at this version's head revision."""
        current, head = await self.current_revision(), self.head_revision()
        if current == head:
            return
        known = current is None or ScriptDirectory.from_config(_alembic_config()).get_revision(current)
        if not known:
            raise NotMigratedError(
                f"database at revision {current}, unknown to this version (which needs {head}): "
                "was it migrated by a newer iscg-bot?"
            )
        raise NotMigratedError(
            f'database at revision {current}, this version needs {head}: run "iscg-bot migrate"'
        )

    async def dispose(self) -> None:
        await self.engine.dispose()

    async def _run_alembic(self, alembic_command: Callable[[Config, str], None], revision: str) -> None:
        # Alembic is synchronous: hand it our connection inside run_sync (env.py picks it up from
        # config.attributes), so it runs on this event loop and in one transaction.
        def run(sync_conn: Connection) -> None:
            config = _alembic_config()
            config.attributes["connection"] = sync_conn
            alembic_command(config, revision)

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


def _alembic_config() -> Config:
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
