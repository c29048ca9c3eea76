"""Rows written and read as an older schema held them, for the migration tests: the models follow the newest
schema (a `language` column an old `subjects` or `people` table does not have), so those tests write and
read old tables with plain SQL through these."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import column, insert, select, table
from sqlalchemy.ext.asyncio import AsyncSession

from iscg_bot.storage.types import UTCDateTime

# subjects as 0002_subjects_roles made it: the columns without a server default.
SUBJECTS_0002 = table(
    "subjects",
    column("id"),
    column("slug"),
    column("title"),
    column("timezone"),
    column("room_id"),
    column("created_by"),
    column("created_at", UTCDateTime()),
    column("updated_at", UTCDateTime()),
)
# people as 0002 left it (0001's columns and the e-mail address).
PEOPLE_0002 = table(
    "people",
    column("matrix_id"),
    column("display_name"),
    column("timezone"),
    column("email"),
    column("created_at", UTCDateTime()),
    column("updated_at", UTCDateTime()),
)


async def insert_subject(session: AsyncSession, slug: str, *, created_by: str, at: datetime) -> int:
    """A subject bound to `!<slug>:example.org`, in the Europe/Zurich zone; its id."""
    values = {"slug": slug, "title": slug, "timezone": "Europe/Zurich", "room_id": f"!{slug}:example.org"}
    statement = insert(SUBJECTS_0002).values(**values, created_by=created_by, created_at=at, updated_at=at)
    return (await session.execute(statement.returning(SUBJECTS_0002.c.id))).scalar_one()


async def subject_slugs(session: AsyncSession) -> list[str]:
    return list((await session.execute(select(SUBJECTS_0002.c.slug).order_by("id"))).scalars())
