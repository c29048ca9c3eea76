"""Copy every row of one database into another, empty one: SQLite → PostgreSQL (`iscg-bot migrate-data`).

    copied = await copy_data(Database("sqlite+aiosqlite:///data/iscg-bot.db"),
                             Database("postgresql+asyncpg://iscg@db/iscg"))

The source must be at this version's head revision (the tables are copied column by column as the models
declare them); the target is migrated to the head first and must hold no row in any of the bot's tables.
Tables are copied parents first (`metadata.sorted_tables`), in chunks read by primary key, and written in one
transaction on the target (with COPY on PostgreSQL): a copy that fails leaves the target migrated and empty,
so it can be run again. Row counts are compared with the source's inside that transaction, before it commits.

Values go through the models' column types both ways: a UTC instant read from SQLite (naive there) is written
to PostgreSQL as the same instant, JSON and bytes as they were. A JSON column that holds SQL NULL stays SQL
NULL (not JSON `null`). Ids are kept, and the ids' high-water marks too: a PostgreSQL sequence (or SQLite's
AUTOINCREMENT counter) is set past every id the source ever handed out, so an `M12` deleted on SQLite is not
handed out again on PostgreSQL.

The source is read in one transaction (on SQLite it holds the write lock meanwhile): stop the bot first, or
what it writes after the copy stays behind.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    ColumnElement,
    RowMapping,
    Table,
    func,
    insert,
    inspect,
    make_url,
    null,
    select,
    text,
    tuple_,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from iscg_bot.storage.db import Database
from iscg_bot.storage.models import Base

CHUNK_ROWS = 2000
Chunk = list[dict[str, Any]]  # rows as insert parameters
_SQL_NULL = "__sql_null_"  # prefix of the labels that say a JSON column holds SQL NULL


class CopyRefused(RuntimeError):
    """The copy was not started (a non-empty target, a missing source): nothing was written."""


class CopyFailed(RuntimeError):
    """The copy did not verify: rolled back, the target is left migrated and empty."""


@dataclass(frozen=True)
class TableCopied:
    name: str
    rows: int  # in the source, and (verified) in the target
    next_id: int | None  # the id the target hands out next, for tables with generated ids


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite URL; None for another backend or an in-memory database."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def check_source_exists(url: str) -> None:
    """Refuse a SQLite source file that does not exist (opening it would create an empty one)."""
    path = sqlite_file(url)
    if path is not None and not path.is_file():
        raise CopyRefused(f"no database at {path}")


async def copy_data(
    source: Database,
    target: Database,
    *,
    chunk_rows: int = CHUNK_ROWS,
    on_table: Callable[[TableCopied], None] | None = None,
) -> list[TableCopied]:
    """Copy every table of the models from `source` into `target` (see the module's docstring)."""
    await source.check_migrated()  # NotMigratedError: the caller says to migrate the source first
    async with target.engine.connect() as conn:
        nonempty = await _tables_with_rows(conn)
    if nonempty:
        raise CopyRefused(
            f"the target is not empty ({', '.join(nonempty)} hold rows): give an empty database"
        )
    await target.migrate()
    copied: list[TableCopied] = []
    async with _ReadSnapshot(source) as reading, target.engine.connect() as writing:
        async with writing.begin():
            if nonempty := await _tables_with_rows(writing):  # another copy, run meanwhile, committed
                raise CopyRefused(f"the target is not empty ({', '.join(nonempty)} hold rows)")
            high_water = await _high_water_marks(reading)
            for table in Base.metadata.sorted_tables:
                rows = await _copy_table(table, reading, writing, chunk_rows)
                counted = await _count(writing, table)
                if counted != rows:
                    raise CopyFailed(f"{table.name}: {rows} rows read, {counted} in the target: rolled back")
                next_id = await _set_high_water(writing, table, high_water.get(table.name, 0))
                copied.append(TableCopied(table.name, rows, next_id))
                if on_table is not None:
                    on_table(copied[-1])
    return copied


# ---- reading and writing ---------------------------------------------------------------------------------


class _ReadSnapshot:
    """The source in one transaction: every table read as of the same moment."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self.conn: AsyncConnection | None = None

    async def __aenter__(self) -> AsyncConnection:
        conn = await self.database.engine.connect()
        if not self.database.is_sqlite:  # SQLite's transactions are snapshots already (BEGIN IMMEDIATE)
            conn = await conn.execution_options(isolation_level="REPEATABLE READ")
        await conn.begin()
        self.conn = conn
        return conn

    async def __aexit__(self, *exc: object) -> None:
        assert self.conn is not None
        await self.conn.rollback()  # read only: nothing to keep
        await self.conn.close()


async def _copy_table(
    table: Table, reading: AsyncConnection, writing: AsyncConnection, chunk_rows: int
) -> int:
    copied = 0
    async for chunk in _chunks(table, reading, chunk_rows):
        if writing.dialect.driver == "asyncpg":
            await _copy_in(writing, table, chunk)
        else:
            await writing.execute(insert(table), chunk)
        copied += len(chunk)
    return copied


async def _copy_in(conn: AsyncConnection, table: Table, chunk: Chunk) -> None:
    """PostgreSQL's COPY (through asyncpg), faster than INSERTs. The values are made ready for the driver by
    the columns' own bind processors, as for an INSERT: UTC instants, JSON text, SQL NULL for `null()`."""
    dialect = conn.dialect
    processors = [(c.key, c.type.dialect_impl(dialect).bind_processor(dialect)) for c in table.columns]
    records = [
        tuple(process(row[key]) if process is not None else row[key] for key, process in processors)
        for row in chunk
    ]
    driver = (await conn.get_raw_connection()).driver_connection
    assert driver is not None  # None only once closed; `conn` is open
    # Unqualified, as SQLAlchemy names it: found on the connection's search_path.
    await driver.copy_records_to_table(table.name, records=records, columns=[c.name for c in table.columns])


async def _chunks(table: Table, conn: AsyncConnection, chunk_rows: int) -> AsyncIterator[Chunk]:
    """The table's rows as insert parameters, `chunk_rows` at a time, in primary-key order (keyset paging:
    each chunk starts after the last key of the one before, so no chunk rescans what came before)."""
    key = list(table.primary_key.columns)
    json_columns = [c for c in table.columns if isinstance(c.type, JSON)]
    sql_nulls = [c.is_(None).label(_SQL_NULL + c.name) for c in json_columns]
    query = select(*table.columns, *sql_nulls).order_by(*key)
    last: tuple[Any, ...] | None = None
    while True:
        page = query if last is None else query.where(_after(key, last))
        rows = (await conn.execute(page.limit(chunk_rows))).mappings().all()
        if not rows:
            return
        yield [_parameters(table, row, json_columns) for row in rows]
        last = tuple(rows[-1][c.name] for c in key)
        if len(rows) < chunk_rows:
            return


def _after(key: list[Column[Any]], last: tuple[Any, ...]) -> ColumnElement[bool]:
    if len(key) == 1:
        return key[0] > last[0]
    return tuple_(*key) > tuple_(*last)


def _parameters(table: Table, row: RowMapping, json_columns: list[Column[Any]]) -> dict[str, Any]:
    values = {c.key: row[c.name] for c in table.columns}
    for column in json_columns:
        if row[_SQL_NULL + column.name]:
            values[column.key] = null()  # else None would be written as JSON `null`
    return values


async def _count(conn: AsyncConnection, table: Table) -> int:
    return int((await conn.execute(select(func.count()).select_from(table))).scalar_one())


async def _tables_with_rows(conn: AsyncConnection) -> list[str]:
    """The bot's tables that exist in the database and hold at least one row."""
    existing = set(await conn.run_sync(lambda sync: inspect(sync).get_table_names()))
    found = []
    for table in Base.metadata.sorted_tables:
        if table.name in existing and (await conn.execute(select(1).select_from(table).limit(1))).first():
            found.append(table.name)
    return found


# ---- ids never handed out twice --------------------------------------------------------------------------


async def _high_water_marks(conn: AsyncConnection) -> dict[str, int]:
    """The highest id each table has ever handed out, where the database remembers more than max(id):
    SQLite's AUTOINCREMENT counters, PostgreSQL's sequences."""
    if conn.dialect.name == "sqlite":
        if not await conn.run_sync(lambda sync: inspect(sync).has_table("sqlite_sequence")):
            return {}
        rows = await conn.execute(text("SELECT name, seq FROM sqlite_sequence"))
        return {str(name): int(seq) for name, seq in rows}
    marks = {}
    for table in Base.metadata.sorted_tables:
        if (sequence := await _sequence(conn, table)) is not None:
            last, called = (await conn.execute(text(f"SELECT last_value, is_called FROM {sequence}"))).one()
            marks[table.name] = int(last) if called else int(last) - 1
    return marks


async def _sequence(conn: AsyncConnection, table: Table) -> str | None:
    column = table.autoincrement_column
    if column is None:
        return None
    found = await conn.execute(select(func.pg_get_serial_sequence(table.name, column.name)))
    name = found.scalar_one()
    return str(name) if name is not None else None


async def _set_high_water(conn: AsyncConnection, table: Table, high_water: int) -> int | None:
    """Make the target hand out ids after max(id) and after `high_water`; the next id it will hand out (None
    for a table whose ids are not generated). A SQLite table without AUTOINCREMENT hands out max(id) + 1
    whatever the source had: the same as it did on the source."""
    column = table.autoincrement_column
    if column is None:
        return None
    highest = (await conn.execute(select(func.max(column)))).scalar_one() or 0
    mark = max(int(highest), high_water)
    if conn.dialect.name == "postgresql":
        sequence = await _sequence(conn, table)
        if sequence is not None and mark > 0:
            await conn.execute(select(func.setval(sequence, mark, True)))
    elif table.dialect_options["sqlite"]["autoincrement"] and mark > 0:
        # SQLite keeps AUTOINCREMENT counters in sqlite_sequence, a row per table once an id was handed out.
        counter = {"name": table.name, "seq": mark}
        updated = await conn.execute(
            text("UPDATE sqlite_sequence SET seq = max(seq, :seq) WHERE name = :name"), counter
        )
        if updated.rowcount == 0:
            await conn.execute(text("INSERT INTO sqlite_sequence (name, seq) VALUES (:name, :seq)"), counter)
    else:
        return int(highest) + 1
    return mark + 1
