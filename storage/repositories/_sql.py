"""SQL helpers shared by the repositories."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from iscg_bot.storage.models import Base

if TYPE_CHECKING:
    from sqlalchemy.dialects import postgresql, sqlite

T = TypeVar("T")

# Values per `IN (…)` list: one bound parameter each, and SQLite allows no more than 999 in older builds.
IN_LIST_CHUNK = 500


def chunked(values: Sequence[T], size: int | None = None) -> Iterator[Sequence[T]]:
    """`values` in slices of at most `size` (default IN_LIST_CHUNK), for queries that bind one parameter
    per value."""
    size = size or IN_LIST_CHUNK
    for start in range(0, len(values), size):
        yield values[start : start + size]


def upsert(session: AsyncSession, model: type[Base]) -> postgresql.Insert | sqlite.Insert:
    """INSERT … ON CONFLICT for the session's backend: atomic, so two writers can't both insert."""
    dialect = session.get_bind().dialect.name
    # Each dialect's module loads with its first upsert: a SQLite bot never loads PostgreSQL's (2 MB).
    if dialect == "postgresql":
        from sqlalchemy.dialects import postgresql

        return postgresql.insert(model)
    if dialect == "sqlite":
        from sqlalchemy.dialects import sqlite

        return sqlite.insert(model)
    raise KeyError(dialect)
