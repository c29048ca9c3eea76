"""Meeting sessions and their minutes: the running session of a room, its chairs, the logged lines."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import MeetingSession, MinuteLine, MinuteLineEdit, SessionChair


class Minutes:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def running(self, room_id: str) -> MeetingSession | None:
        """The room's session not yet ended, if any."""
        query = select(MeetingSession).where(
            MeetingSession.room_id == room_id, MeetingSession.ended_at.is_(None)
        )
        return await self._session.scalar(query.order_by(MeetingSession.id.desc()).limit(1))

    async def get(self, session_id: int) -> MeetingSession | None:
        return await self._session.get(MeetingSession, session_id)

    async def start(
        self,
        *,
        room_id: str,
        meeting_id: int | None,
        occurrence_utc: datetime | None,
        title: str,
        by: str,
        at: datetime,
    ) -> MeetingSession:
        row = MeetingSession(
            room_id=room_id,
            meeting_id=meeting_id,
            occurrence_utc=occurrence_utc,
            title=title,
            started_by=by,
            started_at=at,
        )
        self._session.add(row)
        await self._session.flush()
        return row

    async def end(self, session: MeetingSession, at: datetime) -> None:
        session.ended_at = at
        await self._session.flush()

    async def chairs(self, session_id: int) -> list[str]:
        query = (
            select(SessionChair.matrix_id).filter_by(session_id=session_id).order_by(SessionChair.matrix_id)
        )
        return list(await self._session.scalars(query))

    async def add_chair(self, session_id: int, matrix_id: str) -> bool:
        """Whether they were not a chair yet."""
        if await self._session.get(SessionChair, (session_id, matrix_id)) is not None:
            return False
        self._session.add(SessionChair(session_id=session_id, matrix_id=matrix_id))
        await self._session.flush()
        return True

    async def remove_chair(self, session_id: int, matrix_id: str) -> bool:
        result: Any = await self._session.execute(
            delete(SessionChair).filter_by(session_id=session_id, matrix_id=matrix_id)
        )
        return bool(result.rowcount)

    async def line_by_event(self, event_id: str) -> MinuteLine | None:
        return await self._session.scalar(select(MinuteLine).filter_by(event_id=event_id))

    async def add_line(self, **fields: Any) -> MinuteLine:
        row = MinuteLine(**fields)
        self._session.add(row)
        await self._session.flush()
        return row

    async def lines(self, session_id: int) -> list[MinuteLine]:
        """Every line of the session, redacted and undone ones included, in the order heard."""
        query = (
            select(MinuteLine)
            .filter_by(session_id=session_id)
            .order_by(MinuteLine.server_time, MinuteLine.id)
        )
        return list(await self._session.scalars(query))

    async def last_tagged(self, session_id: int) -> MinuteLine | None:
        """The latest tagged line still counting (not undone, not redacted)."""
        query = (
            select(MinuteLine)
            .where(
                MinuteLine.session_id == session_id,
                MinuteLine.tag.is_not(None),
                MinuteLine.undone.is_(False),
                MinuteLine.redacted.is_(False),
            )
            .order_by(MinuteLine.id.desc())
            .limit(1)
        )
        return await self._session.scalar(query)

    async def replace_text(self, line: MinuteLine, *, text: str, edit_event_id: str, at: datetime) -> bool:
        """Keep the old text in the history and put the new one in; False if this edit was applied."""
        if await self._session.get(MinuteLineEdit, (line.id, edit_event_id)) is not None:
            return False
        self._session.add(MinuteLineEdit(line_id=line.id, event_id=edit_event_id, text=line.text, at=at))
        line.text = text
        line.edited_at = at
        await self._session.flush()
        return True

    async def edits(self, line_id: int) -> list[MinuteLineEdit]:
        query = select(MinuteLineEdit).filter_by(line_id=line_id).order_by(MinuteLineEdit.at)
        return list(await self._session.scalars(query))
