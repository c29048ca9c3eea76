"""SQLite through aiosqlite, one trip to its thread per statement instead of four.

aiosqlite runs every call on the connection's own thread, and SQLAlchemy's adapter makes four calls per
statement: open a cursor, execute, fetch the rows, close the cursor. Each trip is a queue put, a thread
wake-up, the GIL handed over and back, and a wake-up of the event loop: for the bot answering a `!ping`
(13 statements) those trips cost more CPU than the SQL itself. Here a cursor does all four in one trip and
keeps the rows; fetching and closing are then local. Nothing else changes: the same thread, the same
sqlite3 connection, the same transactions.

Every statement's rows are fetched at once, as SQLAlchemy's adapter does anyway for ordinary cursors; a
server-side cursor (`stream()`, `yield_per`) therefore gets its rows from memory, not in chunks.
"""

from __future__ import annotations

import sqlite3
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from types import TracebackType
from typing import Any

import aiosqlite
from sqlalchemy.dialects.sqlite.aiosqlite import SQLiteDialect_aiosqlite
from sqlalchemy.engine import URL

Row = tuple[object, ...]
Parameters = Sequence[object] | Mapping[str, object]
Described = tuple[Any, int, int | None, list[Row]]  # description, rowcount, lastrowid, rows


def _execute(connection: sqlite3.Connection, sql: str, parameters: Parameters | None) -> Described:
    """Runs on the connection's thread: the whole statement, rows included."""
    cursor = connection.cursor()
    try:
        cursor.execute(sql, parameters) if parameters is not None else cursor.execute(sql)
        rows = cursor.fetchall() if cursor.description else []
        return cursor.description, cursor.rowcount, cursor.lastrowid, rows
    finally:
        cursor.close()


def _execute_many(connection: sqlite3.Connection, sql: str, parameters: Iterable[Parameters]) -> Described:
    cursor = connection.cursor()
    try:
        cursor.executemany(sql, parameters)
        return cursor.description, cursor.rowcount, cursor.lastrowid, []
    finally:
        cursor.close()


class OneTripCursor:
    """What SQLAlchemy's adapter uses of an aiosqlite cursor; `execute` is the only trip to the thread."""

    def __init__(self, connection: OneTripConnection) -> None:
        self._connection = connection
        self.description: Any = None
        self.rowcount = -1
        self.lastrowid: int | None = None
        self.arraysize = 1
        self._rows: deque[Row] = deque()

    async def __aenter__(self) -> OneTripCursor:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def execute(self, sql: str, parameters: Parameters | None = None) -> OneTripCursor:
        self._take(await self._connection.on_thread(_execute, sql, parameters))
        return self

    async def executemany(self, sql: str, parameters: Iterable[Parameters]) -> OneTripCursor:
        self._take(await self._connection.on_thread(_execute_many, sql, parameters))
        return self

    def _take(self, described: Described) -> None:
        self.description, self.rowcount, self.lastrowid, rows = described
        self._rows = deque(rows)

    async def fetchone(self) -> Row | None:
        return self._rows.popleft() if self._rows else None

    async def fetchmany(self, size: int | None = None) -> list[Row]:
        count = min(size or self.arraysize, len(self._rows))
        return [self._rows.popleft() for _ in range(count)]

    async def fetchall(self) -> list[Row]:
        rows = list(self._rows)
        self._rows.clear()
        return rows

    async def close(self) -> None:
        self._rows.clear()


class OneTripConnection(aiosqlite.Connection):
    """aiosqlite's connection, whose cursors make one trip per statement."""

    def cursor(self) -> OneTripCursor:  # type: ignore[override]  # aiosqlite's is a context-manager coroutine
        return OneTripCursor(self)

    async def rollback(self) -> None:
        """Roll back, without a trip when there is nothing to roll back: the pool resets every connection
        it takes back, also after a commit (two trips per `!ping`). Nothing else uses the connection
        meanwhile: SQLAlchemy waits for each call on it to finish before the next."""
        if self._connection is not None and not self._connection.in_transaction:
            return
        await super().rollback()

    async def on_thread(self, function: Callable[..., Described], *arguments: object) -> Described:
        """`function(sqlite3_connection, *arguments)`, run on the connection's thread."""
        result: Described = await self._execute(lambda: function(self._conn, *arguments))
        return result


def one_trip_connector(url: URL) -> Callable[[], Any]:
    """`create_async_engine(url, async_creator=…)` for a `sqlite+aiosqlite` URL: the connection SQLAlchemy
    would make (same file, same driver arguments), with one-trip cursors."""
    [database], options = SQLiteDialect_aiosqlite().create_connect_args(url)

    def open_file() -> sqlite3.Connection:
        return sqlite3.connect(database, **options)

    async def connect() -> OneTripConnection:
        connection = OneTripConnection(open_file, iter_chunk_size=64)
        connection._thread.daemon = True  # as SQLAlchemy does for aiosqlite's: never holds the process up
        await connection
        return connection

    return connect
