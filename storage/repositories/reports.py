"""Read-only queries for the reports to the advisory groups (`iscg_bot.domain.reports`): a period's sessions,
role history, action items and names, each in one query for many subjects rather than one per row."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from iscg_bot.storage.models import (
    ActionItem,
    Meeting,
    MeetingSession,
    MinuteLine,
    MinuteLineEdit,
    MinuteTag,
    Person,
    RoleAssignment,
    RoomMember,
    Rsvp,
    SessionChair,
    Subject,
)


class Reports:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def ended_sessions(
        self, *, subject_id: int, room_id: str, started_from: datetime, started_before: datetime
    ) -> list[MeetingSession]:
        """The subject's ended sessions started in [started_from, started_before), by start: those bound to
        one of its meetings, and the unscheduled ones held in its room."""
        found = await self.ended_sessions_of_subjects(
            subject_ids=[subject_id],
            room_ids=[room_id],
            started_from=started_from,
            started_before=started_before,
        )
        return [session for session, _ in found]

    async def ended_sessions_of_subjects(
        self,
        *,
        subject_ids: Sequence[int],
        room_ids: Sequence[str],
        started_from: datetime,
        started_before: datetime,
    ) -> list[tuple[MeetingSession, int | None]]:
        """`ended_sessions` for many subjects in one query: the ended sessions started in [started_from,
        started_before) bound to a meeting of one of `subject_ids`, or unscheduled in one of `room_ids`, by
        start; each with the subject ID of its meeting (None: unscheduled, the room's subject's)."""
        if not subject_ids and not room_ids:
            return []
        query = (
            select(MeetingSession, Meeting.subject_id)
            .outerjoin(Meeting, Meeting.id == MeetingSession.meeting_id)
            .where(
                MeetingSession.ended_at.is_not(None),
                MeetingSession.started_at >= started_from,
                MeetingSession.started_at < started_before,
                or_(
                    Meeting.subject_id.in_(subject_ids),
                    and_(MeetingSession.meeting_id.is_(None), MeetingSession.room_id.in_(room_ids)),
                ),
            )
            .order_by(MeetingSession.started_at, MeetingSession.id)
        )
        return [(session, subject_id) for session, subject_id in await self._session.execute(query)]

    async def held_by_subject(
        self, *, started_from: datetime, started_before: datetime
    ) -> list[tuple[int | None, datetime]]:
        """(subject ID, start) of every ended session started in [started_from, started_before), by the rule
        of `ended_sessions`; None for a group-wide meeting or an unscheduled one in a room with no subject."""
        query = (
            select(func.coalesce(Meeting.subject_id, Subject.id), MeetingSession.started_at)
            .outerjoin(Meeting, Meeting.id == MeetingSession.meeting_id)
            .outerjoin(
                Subject, and_(MeetingSession.meeting_id.is_(None), Subject.room_id == MeetingSession.room_id)
            )
            .where(
                MeetingSession.ended_at.is_not(None),
                MeetingSession.started_at >= started_from,
                MeetingSession.started_at < started_before,
            )
            .order_by(MeetingSession.started_at, MeetingSession.id)
        )
        return [(subject_id, started) for subject_id, started in await self._session.execute(query)]

    async def sessions(self, session_ids: Iterable[int]) -> dict[int, MeetingSession]:
        wanted = set(session_ids)
        if not wanted:
            return {}
        found = await self._session.scalars(select(MeetingSession).where(MeetingSession.id.in_(wanted)))
        return {row.id: row for row in found}

    async def meetings(self, meeting_ids: Iterable[int]) -> dict[int, Meeting]:
        """Meetings by ID, with their agenda and overrides loaded."""
        wanted = set(meeting_ids)
        if not wanted:
            return {}
        query = (
            select(Meeting)
            .options(selectinload(Meeting.agenda), selectinload(Meeting.overrides))
            .where(Meeting.id.in_(wanted))
        )
        return {row.id: row for row in await self._session.scalars(query)}

    async def subject_roles(
        self, subject_ids: Sequence[int], *, roles: Sequence[str] = ("coordinator", "focal_point")
    ) -> list[RoleAssignment]:
        """Every assignment of those roles in those subjects, ended ones included, by assigned_at."""
        if not subject_ids:
            return []
        query = (
            select(RoleAssignment)
            .where(RoleAssignment.subject_id.in_(subject_ids), RoleAssignment.role.in_(roles))
            .order_by(RoleAssignment.assigned_at, RoleAssignment.id)
        )
        return list(await self._session.scalars(query))

    async def actions_of_subjects_created_before(
        self, subject_ids: Sequence[int], before: datetime
    ) -> dict[int, list[ActionItem]]:
        """The action items of those subjects created before `before`: subject ID → its items, by number."""
        found: dict[int, list[ActionItem]] = {subject_id: [] for subject_id in subject_ids}
        if not subject_ids:
            return found
        query = (
            select(ActionItem)
            .where(ActionItem.subject_id.in_(subject_ids), ActionItem.created_at < before)
            .order_by(ActionItem.id)
        )
        for item in await self._session.scalars(query):
            subject_id = item.subject_id
            if subject_id is not None:  # always: asked by subject
                found[subject_id].append(item)
        return found

    async def names(self, matrix_ids: Iterable[str], room_ids: Iterable[str]) -> dict[str, str]:
        """Display names by Matrix ID: the one people set with the bot, else the one they use in one of
        `room_ids` (the first such room by room ID). The nameless are left out."""
        wanted = {m for m in matrix_ids if m.startswith("@")}
        if not wanted:
            return {}
        found: dict[str, str] = {}
        rooms = sorted(set(room_ids))
        if rooms:
            query = (
                select(RoomMember.matrix_id, RoomMember.display_name)
                .where(RoomMember.matrix_id.in_(wanted), RoomMember.room_id.in_(rooms))
                .order_by(RoomMember.room_id.desc())
            )
            for matrix_id, name in await self._session.execute(query):
                if name:
                    found[matrix_id] = name  # the last written wins: the first room by ID
        query = select(Person.matrix_id, Person.display_name).where(Person.matrix_id.in_(wanted))
        for matrix_id, name in await self._session.execute(query):
            if name:
                found[matrix_id] = name
        return found

    # ---- a period's minutes in a few queries: what `minutes_document.build` reads, for many sessions ----

    async def lines_of_sessions(self, session_ids: Sequence[int]) -> dict[int, list[Any]]:
        """Every line of those sessions by session ID, redacted ones included, in the order heard
        (`Minutes.lines` for many sessions). Plain rows with the line's columns as attributes: reading
        200 lines a meeting as ORM objects would cost more than the rest of the report."""
        found: dict[int, list[Any]] = {session_id: [] for session_id in session_ids}
        if not session_ids:
            return found
        query = (
            select(*MinuteLine.__table__.columns)
            .where(MinuteLine.session_id.in_(session_ids))
            .order_by(MinuteLine.session_id, MinuteLine.server_time, MinuteLine.id)
        )
        for row in await self._session.execute(query):
            found[row.session_id].append(row)
        return found

    async def tags_of_sessions(self, session_ids: Sequence[int]) -> dict[int, dict[int, list[MinuteTag]]]:
        """`Minutes.tags` for many sessions: session ID → line ID → tags in position order, undone ones
        included."""
        found: dict[int, dict[int, list[MinuteTag]]] = {session_id: {} for session_id in session_ids}
        if not session_ids:
            return found
        query = (
            select(MinuteLine.session_id, MinuteTag)
            .join(MinuteLine, MinuteLine.id == MinuteTag.line_id)
            .where(MinuteLine.session_id.in_(session_ids))
            .order_by(MinuteTag.line_id, MinuteTag.position)
        )
        for session_id, tag in await self._session.execute(query):
            found[session_id].setdefault(tag.line_id, []).append(tag)
        return found

    async def lines_that_count(self, session_ids: Sequence[int], tags: Sequence[str]) -> dict[int, list[Any]]:
        """The lines of those sessions a report can see (`lines_of_sessions`, fewer): those with one of `tags`
        (undone or not), every redacted one (whether it counts depends on when the minutes were approved), and
        one unredacted line of each sender (for the attendance). A report reads a few lines a meeting, not
        every one that was said."""
        found: dict[int, list[Any]] = {session_id: [] for session_id in session_ids}
        if not session_ids:
            return found
        first_of_each_sender = (
            select(func.min(MinuteLine.id))
            .where(MinuteLine.session_id.in_(session_ids), MinuteLine.redacted_at.is_(None))
            .group_by(MinuteLine.session_id, MinuteLine.sender)
        )
        tagged = select(MinuteTag.id).where(MinuteTag.line_id == MinuteLine.id, MinuteTag.tag.in_(tags))
        query = (
            select(*MinuteLine.__table__.columns)
            .where(
                MinuteLine.session_id.in_(session_ids),
                or_(
                    MinuteLine.redacted_at.is_not(None),
                    MinuteLine.id.in_(first_of_each_sender),
                    tagged.exists(),
                ),
            )
            .order_by(MinuteLine.session_id, MinuteLine.server_time, MinuteLine.id)
        )
        for row in await self._session.execute(query):
            found[row.session_id].append(row)
        return found

    async def tags_of_kinds(
        self, session_ids: Sequence[int], tags: Sequence[str]
    ) -> dict[int, dict[int, list[Any]]]:
        """`tags_of_sessions` of those kinds only (`tags`), as plain rows with a tag's columns."""
        found: dict[int, dict[int, list[Any]]] = {session_id: {} for session_id in session_ids}
        if not session_ids:
            return found
        query = (
            select(MinuteLine.session_id.label("session_id_"), *MinuteTag.__table__.columns)
            .join(MinuteLine, MinuteLine.id == MinuteTag.line_id)
            .where(MinuteLine.session_id.in_(session_ids), MinuteTag.tag.in_(tags))
            .order_by(MinuteTag.line_id, MinuteTag.position)
        )
        for row in await self._session.execute(query):
            found[row.session_id_].setdefault(row.line_id, []).append(row)
        return found

    async def edits_of_sessions(
        self, session_ids: Sequence[int]
    ) -> dict[int, dict[int, list[MinuteLineEdit]]]:
        """`Minutes.edits_of_session` for many sessions: session ID → line ID → edits, oldest first."""
        found: dict[int, dict[int, list[MinuteLineEdit]]] = {session_id: {} for session_id in session_ids}
        if not session_ids:
            return found
        query = (
            select(MinuteLine.session_id, MinuteLineEdit)
            .join(MinuteLine, MinuteLine.id == MinuteLineEdit.line_id)
            .where(MinuteLine.session_id.in_(session_ids))
            .order_by(MinuteLineEdit.line_id, MinuteLineEdit.at)
        )
        for session_id, edit in await self._session.execute(query):
            found[session_id].setdefault(edit.line_id, []).append(edit)
        return found

    async def chairs_of_sessions(self, session_ids: Sequence[int]) -> dict[int, list[str]]:
        """`Minutes.chairs` for many sessions: session ID → chairs' Matrix IDs, sorted."""
        found: dict[int, list[str]] = {session_id: [] for session_id in session_ids}
        if not session_ids:
            return found
        query = (
            select(SessionChair.session_id, SessionChair.matrix_id)
            .where(SessionChair.session_id.in_(session_ids))
            .order_by(SessionChair.session_id, SessionChair.matrix_id)
        )
        for session_id, matrix_id in await self._session.execute(query):
            found[session_id].append(matrix_id)
        return found

    async def rsvps_of_meetings(self, meeting_ids: Sequence[int]) -> dict[int, list[Rsvp]]:
        """`Rsvps.for_meeting` for many meetings: meeting ID → answers by Matrix ID."""
        found: dict[int, list[Rsvp]] = {meeting_id: [] for meeting_id in meeting_ids}
        if not meeting_ids:
            return found
        query = select(Rsvp).where(Rsvp.meeting_id.in_(meeting_ids)).order_by(Rsvp.meeting_id, Rsvp.matrix_id)
        for rsvp in await self._session.scalars(query):
            found[rsvp.meeting_id].append(rsvp)
        return found
