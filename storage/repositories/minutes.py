"""Meeting sessions and their minutes: the running session of a room, its chairs, the logged lines."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from iscg_bot.storage.models import MeetingSession, MinuteLine, MinuteLineEdit, MinuteTag, SessionChair


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
        # A DELETE's result is a CursorResult (it has rowcount); AsyncSession.execute is typed for SELECTs.
        result = cast(
            CursorResult[Any],
            await self._session.execute(
                delete(SessionChair).filter_by(session_id=session_id, matrix_id=matrix_id)
            ),
        )
        return bool(result.rowcount)

    async def line(self, line_id: int) -> MinuteLine | None:
        return await self._session.get(MinuteLine, line_id)

    async def line_by_event(self, event_id: str) -> MinuteLine | None:
        return await self._session.scalar(select(MinuteLine).filter_by(event_id=event_id))

    async def add_line(
        self,
        *,
        session_id: int,
        event_id: str,
        sender: str,
        server_time: datetime,
        msgtype: str,
        text: str,
        display_name: str | None = None,
    ) -> MinuteLine:
        row = MinuteLine(
            session_id=session_id,
            event_id=event_id,
            sender=sender,
            display_name=display_name,
            server_time=server_time,
            msgtype=msgtype,
            text=text,
        )
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

    async def add_tag(self, line: MinuteLine, tag: str, args: dict[str, Any] | None) -> MinuteTag:
        """One more tag on the line, after those it has."""
        count = await self._session.scalar(
            select(func.count()).select_from(MinuteTag).filter_by(line_id=line.id)
        )
        row = MinuteTag(line_id=line.id, position=count or 0, tag=tag, args=args)
        self._session.add(row)
        await self._session.flush()
        return row

    async def tags_of_line(self, line_id: int) -> list[MinuteTag]:
        query = select(MinuteTag).filter_by(line_id=line_id).order_by(MinuteTag.position)
        return list(await self._session.scalars(query))

    async def tags(self, session_id: int) -> dict[int, list[MinuteTag]]:
        """The session's tags by line ID, undone ones included, each line's in position order."""
        query = (
            select(MinuteTag)
            .join(MinuteLine, MinuteLine.id == MinuteTag.line_id)
            .where(MinuteLine.session_id == session_id)
            .order_by(MinuteTag.line_id, MinuteTag.position)
        )
        found: dict[int, list[MinuteTag]] = {}
        for tag in await self._session.scalars(query):
            found.setdefault(tag.line_id, []).append(tag)
        return found

    async def last_tag(self, session_id: int) -> MinuteTag | None:
        """The latest tag still counting (not undone, on a line not redacted)."""
        query = (
            select(MinuteTag)
            .join(MinuteLine, MinuteLine.id == MinuteTag.line_id)
            .where(
                MinuteLine.session_id == session_id,
                MinuteTag.undone.is_(False),
                MinuteLine.redacted_at.is_(None),
            )
            .order_by(MinuteLine.server_time.desc(), MinuteLine.id.desc(), MinuteTag.position.desc())
            .limit(1)
        )
        return await self._session.scalar(query)

    async def edits_of_session(self, session_id: int) -> dict[int, list[MinuteLineEdit]]:
        """Every edit of the session's lines by line ID, oldest first."""
        query = (
            select(MinuteLineEdit)
            .join(MinuteLine, MinuteLine.id == MinuteLineEdit.line_id)
            .where(MinuteLine.session_id == session_id)
            .order_by(MinuteLineEdit.line_id, MinuteLineEdit.at)
        )
        found: dict[int, list[MinuteLineEdit]] = {}
        for edit in await self._session.scalars(query):
            found.setdefault(edit.line_id, []).append(edit)
        return found

    async def sessions_of_meeting(self, meeting_id: int) -> list[MeetingSession]:
        """The meeting's sessions, latest first."""
        query = select(MeetingSession).filter_by(meeting_id=meeting_id).order_by(MeetingSession.id.desc())
        return list(await self._session.scalars(query))

    async def latest_of_room(self, room_id: str) -> MeetingSession | None:
        query = select(MeetingSession).filter_by(room_id=room_id).order_by(MeetingSession.id.desc()).limit(1)
        return await self._session.scalar(query)

    async def with_minutes(self, meeting_ids: list[int]) -> dict[int, MeetingSession]:
        """For each meeting that has ended sessions, its latest one."""
        if not meeting_ids:
            return {}
        query = (
            select(MeetingSession)
            .where(MeetingSession.meeting_id.in_(meeting_ids), MeetingSession.ended_at.is_not(None))
            .order_by(MeetingSession.id)
        )
        return {
            row.meeting_id: row for row in await self._session.scalars(query) if row.meeting_id is not None
        }

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
