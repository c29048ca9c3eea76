"""A throwaway database on the machine's PostgreSQL for a bench, dropped afterwards; None where no server
answers (the bench then says so and runs on SQLite)."""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import make_url, text
from sqlalchemy.ext.asyncio import create_async_engine

POSTGRES_URL = os.environ.get("ISCG_TEST_POSTGRES_URL", "postgresql+asyncpg://root@127.0.0.1:5432/test")


@asynccontextmanager
async def postgres_database(prefix: str = "iscg_bench") -> AsyncIterator[str | None]:
    """The URL of a new, empty database (None, printing why, when none can be made)."""
    base = make_url(POSTGRES_URL)
    name = f"{prefix}_{secrets.token_hex(4)}"
    admin = create_async_engine(base, isolation_level="AUTOCOMMIT", connect_args={"timeout": 3})
    try:
        async with admin.connect() as conn:
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as error:
        await admin.dispose()
        print(f"no PostgreSQL database ({type(error).__name__}): on SQLite instead")
        yield None
        return
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()
