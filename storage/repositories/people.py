"""People: their preferences, and who is in which room under which name."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from iscg_bot.storage.models import Person, RoomMember
from iscg_bot.storage.repositories._sql import upsert

# Matrix bounds display names loosely (Synapse: 256 characters; another server may send more), the
# columns hold 255: a name is informative, so a longer one is cut rather than refused.
DISPLAY_NAME_LENGTH = 255


def _fit(name: str | None) -> str | None:
    return name[:DISPLAY_NAME_LENGTH] if name is not None else None


class People:
    """People the bot knows and their preferences; someone unknown is created on first write."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, matrix_id: str) -> Person | None:
        return await self._session.get(Person, matrix_id)

    async def many(self, matrix_ids: Iterable[str]) -> dict[str, Person]:
        """The known ones among `matrix_ids`, by Matrix ID, in one query; the unknown are left out."""
        wanted = set(matrix_ids)
        if not wanted:
            return {}
        found = await self._session.scalars(select(Person).where(Person.matrix_id.in_(wanted)))
        return {person.matrix_id: person for person in found}

    async def set_timezone(self, matrix_id: str, timezone: str | None, at: datetime) -> Person:
        return await self._set(matrix_id, at, timezone=timezone)

    async def set_display_name(self, matrix_id: str, name: str | None, at: datetime) -> Person:
        return await self._set(matrix_id, at, display_name=_fit(name))

    async def set_email(self, matrix_id: str, email: str | None, at: datetime) -> Person:
        return await self._set(matrix_id, at, email=email)

    async def set_language(self, matrix_id: str, language: str | None, at: datetime) -> Person:
        return await self._set(matrix_id, at, language=language)

    async def _set(self, matrix_id: str, at: datetime, **changes: str | None) -> Person:
        new = upsert(self._session, Person).values(
            matrix_id=matrix_id, created_at=at, updated_at=at, **changes
        )
        statement = new.on_conflict_do_update(
            index_elements=[Person.matrix_id], set_={**changes, "updated_at": at}
        ).returning(Person)
        # populate_existing: refresh a Person this session already holds with the row as written.
        result = await self._session.scalars(statement, execution_options={"populate_existing": True})
        return result.one()


class RoomMembers:
    """Who is in each room and their per-room display name, fed from m.room.member events."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def record(
        self, room_id: str, matrix_id: str, membership: str, display_name: str | None, at: datetime
    ) -> None:
        """Store the membership as the event gives it.

        The display name given replaces the stored one, None included (someone who left has no name in
        the room), except that a join without a displayname keeps the name already known. A name longer
        than the column is cut to DISPLAY_NAME_LENGTH.
        """
        display_name = _fit(display_name)
        changes: dict[str, Any] = {"membership": membership, "updated_at": at}
        if display_name is not None or membership != "join":
            changes["display_name"] = display_name
        new = upsert(self._session, RoomMember).values(
            room_id=room_id,
            matrix_id=matrix_id,
            membership=membership,
            display_name=display_name,
            updated_at=at,
        )
        statement = new.on_conflict_do_update(
            index_elements=[RoomMember.room_id, RoomMember.matrix_id], set_=changes
        ).returning(RoomMember)
        # populate_existing: refresh a RoomMember this session already holds with the row as written.
        result = await self._session.scalars(statement, execution_options={"populate_existing": True})
        result.one()

    async def joined(self, room_id: str) -> list[RoomMember]:
        """The members currently joined to the room, by Matrix ID."""
        query = (
            select(RoomMember).filter_by(room_id=room_id, membership="join").order_by(RoomMember.matrix_id)
        )
        return list(await self._session.scalars(query))

    async def display_name(self, room_id: str, matrix_id: str) -> str | None:
        query = select(RoomMember.display_name).filter_by(room_id=room_id, matrix_id=matrix_id)
        return await self._session.scalar(query)
