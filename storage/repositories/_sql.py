"""SQL helpers shared by the repositories."""

from __future__ import annotations

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from iscg_bot.storage.models import Base


def upsert(session: AsyncSession, model: type[Base]) -> postgresql.Insert | sqlite.Insert:
    """INSERT … ON CONFLICT for the session's backend: atomic, so two writers can't both insert."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(model)
    if dialect == "sqlite":
        return sqlite.insert(model)
    raise KeyError(dialect)
