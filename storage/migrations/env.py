"""Alembic environment, async-aware.

Database.migrate() passes its own connection in `config.attributes["connection"]`. From the alembic CLI
(`alembic revision --autogenerate`, `alembic upgrade head`) the URL comes from `sqlalchemy.url` or, failing
that, the ISCG_DATABASE_URL environment variable.
"""

from __future__ import annotations

import asyncio
import os
from logging.config import fileConfig
from typing import Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy import Connection

from iscg_bot.storage.db import Database
from iscg_bot.storage.models import Base
from iscg_bot.storage.types import LocalDateTime, UTCDateTime

config = context.config
target_metadata = Base.metadata

# Only the CLI has an ini file; when called from the bot, logging is the bot's business.
if config.config_file_name is not None and config.attributes.get("connection") is None:
    fileConfig(config.config_file_name, disable_existing_loggers=False)


def render_item(type_: str, obj: object, autogen_context: AutogenContext) -> str | Literal[False]:
    # Migrations describe the column as stored; they must not import app types that may change later.
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    if type_ == "type" and isinstance(obj, LocalDateTime):
        return "sa.DateTime()"
    return False


def database_url() -> str:
    url = config.get_main_option("sqlalchemy.url") or os.environ.get("ISCG_DATABASE_URL")
    if not url:
        raise RuntimeError("set ISCG_DATABASE_URL (e.g. sqlite+aiosqlite:///data/iscg.db) to run alembic")
    return url


def run_migrations(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=True,  # SQLite can't ALTER most things: Alembic copies the table instead
        render_item=render_item,
    )
    with context.begin_transaction():
        context.run_migrations()


async def run_migrations_with_own_engine() -> None:
    database = Database(database_url())
    try:
        async with database.engine.connect() as connection:
            await connection.run_sync(run_migrations)
            await connection.commit()
    finally:
        await database.dispose()


def run_migrations_offline() -> None:
    context.configure(
        url=database_url(),
        target_metadata=target_metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
        render_as_batch=True,
        render_item=render_item,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
elif (given := config.attributes.get("connection")) is not None:
    run_migrations(given)
else:
    asyncio.run(run_migrations_with_own_engine())
