"""SQLite connections that make one trip to aiosqlite's thread per statement (storage/sqlite_driver.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from iscg_bot.storage import Database
from iscg_bot.storage.sqlite_driver import OneTripConnection, one_trip_connector


@pytest.fixture
async def connection(tmp_path: Path) -> OneTripConnection:
    connection = await one_trip_connector(make_url(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}"))()
    yield connection
    await connection.close()


async def test_a_cursor_gives_rows_counts_and_ids_as_sqlite_does(connection: OneTripConnection) -> None:
    cursor = connection.cursor()
    await cursor.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT)")
    await cursor.executemany("INSERT INTO t (name) VALUES (?)", [("a",), ("b",), ("c",)])
    assert cursor.rowcount == 3
    await cursor.execute("INSERT INTO t (name) VALUES (:name)", {"name": "d"})
    assert (cursor.rowcount, cursor.lastrowid) == (1, 4)
    await cursor.execute("SELECT id, name FROM t ORDER BY id")
    assert [column[0] for column in cursor.description] == ["id", "name"]
    assert await cursor.fetchone() == (1, "a")
    assert await cursor.fetchmany(2) == [(2, "b"), (3, "c")]
    assert await cursor.fetchall() == [(4, "d")]
    assert await cursor.fetchone() is None


async def test_a_rollback_undoes_and_one_with_nothing_to_undo_is_harmless(
    connection: OneTripConnection,
) -> None:
    cursor = connection.cursor()
    await cursor.execute("CREATE TABLE t (name TEXT)")
    await connection.rollback()  # not in a transaction: nothing happens
    await cursor.execute("BEGIN IMMEDIATE")
    await cursor.execute("INSERT INTO t VALUES ('kept?')")
    await connection.rollback()
    await cursor.execute("SELECT count(*) FROM t")
    assert await cursor.fetchall() == [(0,)]


async def test_each_statement_is_one_trip_to_the_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'trips.db'}")
    trips: list[str] = []
    execute = OneTripConnection._execute

    async def counted(
        self: OneTripConnection, function: object, *arguments: object, **named: object
    ) -> object:
        trips.append(getattr(function, "__name__", "?"))
        return await execute(self, function, *arguments, **named)

    monkeypatch.setattr(OneTripConnection, "_execute", counted)
    try:
        async with database.engine.connect() as conn:  # connecting and its PRAGMAs are trips too
            trips.clear()
            rows = (await conn.execute(text("SELECT 1 UNION SELECT 2"))).all()
            # BEGIN IMMEDIATE (see db._tune_sqlite), then the SELECT with its rows: aiosqlite's own cursor
            # made four trips for each (open, execute, fetch, close).
            assert len(trips) == 2
        assert rows == [(1,), (2,)]
    finally:
        await database.dispose()
