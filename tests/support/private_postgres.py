"""Whole databases of their own on the test server, for what must name its database in a URL (a bot process,
pg_dump); the storage tests' schemas (`tests.fixtures_storage`) cannot be named so."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from sqlalchemy import make_url, text
from sqlalchemy.ext.asyncio import create_async_engine

from tests.fixtures_storage import POSTGRES_URL


@asynccontextmanager
async def private_databases(count: int) -> AsyncIterator[list[str]]:
    """`count` fresh databases' URLs, dropped afterwards; skips, saying why, when the server does not answer
    or the test user may not create databases."""
    names = [f"iscg_test_{secrets.token_hex(4)}" for _ in range(count)]
    admin = create_async_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT", connect_args={"timeout": 2})
    try:
        async with asyncio.timeout(5), admin.connect() as conn:
            for name in names:
                await conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as error:
        await admin.dispose()
        where = make_url(POSTGRES_URL).render_as_string(hide_password=True)
        pytest.skip(f"cannot create a database on the PostgreSQL at {where}: {error!r}")
    try:
        base = make_url(POSTGRES_URL)
        yield [base.set(database=name).render_as_string(hide_password=False) for name in names]
    finally:
        async with admin.connect() as conn:
            for name in names:
                await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()
