"""Pytest fixtures for the storage layer: a real database on SQLite and on PostgreSQL.

`database` is migrated, `unmigrated_database` is empty; both are parametrized with ids `sqlite` and
`postgresql`. PostgreSQL tests get a fresh schema each (the server's test user can't create databases) and
are skipped, with the reason, when no server answers at ISCG_TEST_POSTGRES_URL.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from sqlalchemy import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from iscg_bot.storage import Database

POSTGRES_URL = os.environ.get("ISCG_TEST_POSTGRES_URL", "postgresql+asyncpg://root@127.0.0.1:5432/test")
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]

_UNCHECKED = object()
_postgres_unreachable: object | str | None = _UNCHECKED  # why PostgreSQL can't be used, once known


async def _skip_unless_postgres() -> None:
    """Probe the server once per session (2 s at most); skip every PostgreSQL test if it is not there."""
    global _postgres_unreachable
    if _postgres_unreachable is _UNCHECKED:
        engine = create_async_engine(POSTGRES_URL, connect_args={"timeout": 2})
        try:
            async with asyncio.timeout(2), engine.connect():
                _postgres_unreachable = None
        except Exception as error:
            where = make_url(POSTGRES_URL).render_as_string(hide_password=True)
            _postgres_unreachable = f"PostgreSQL not reachable at {where}: {error!r}"
        finally:
            await engine.dispose()
    if _postgres_unreachable is not None:
        pytest.skip(str(_postgres_unreachable))


@asynccontextmanager
async def open_test_database(backend: str, tmp_path: Path) -> AsyncIterator[Database]:
    """A fresh, empty database on the given backend, removed afterwards."""
    if backend == "sqlite":
        database = Database(f"sqlite+aiosqlite:///{tmp_path / 'iscg.db'}")
        try:
            yield database
        finally:
            await database.dispose()
        return

    await _skip_unless_postgres()
    schema = f"test_{secrets.token_hex(6)}"
    # search_path may name a schema that does not exist yet: create it through the same engine.
    database = Database(POSTGRES_URL, connect_args={"server_settings": {"search_path": schema}})
    try:
        async with database.engine.begin() as conn:
            await conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
        yield database
    finally:
        async with database.engine.begin() as conn:
            await conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        await database.dispose()


@pytest.fixture(params=BACKENDS)
async def unmigrated_database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    async with open_test_database(request.param, tmp_path) as database:
        yield database


@pytest.fixture(params=BACKENDS)
async def database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    async with open_test_database(request.param, tmp_path) as database:
        await database.migrate()
        yield database
