"""A subject's minutes of a period read ahead for the reports: `Prefetched` is the unit of work as
`minutes_document.build` sees it, answering from a few bulk queries instead of several per session.

    minutes = await Prefetched.load(uow, subject, sessions, meetings)
    document = await minutes_document.build(minutes, session, zone=zone, base_url=base_url)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from iscg_bot.storage import Meetings, Minutes, Rsvps, Subjects, UnitOfWork

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from iscg_bot.storage import Meeting, MeetingSession, MinuteLine, MinuteLineEdit, MinuteTag, Rsvp, Subject

__all__ = ["Prefetched"]


class Prefetched(UnitOfWork):
    """The unit of work as `minutes_document.build` sees it, with one subject's sessions of the period read
    ahead: lines, tags, edits, chairs, meetings and answers in one query each instead of one per session.
    Whatever it was not given is asked of the real unit of work, so `build` stays the only place that says
    what the minutes are (tests/test_reports.py checks both give the same document)."""

    def __init__(
        self,
        uow: UnitOfWork,
        *,
        lines: dict[int, list[MinuteLine]],
        tags: dict[int, dict[int, list[MinuteTag]]],
        edits: dict[int, dict[int, list[MinuteLineEdit]]],
        chairs: dict[int, list[str]],
        meetings: dict[int, Meeting],
        rsvps: dict[int, list[Rsvp]],
        subjects: dict[str, Subject],
    ) -> None:
        # Not a unit of work of its own: `uow`'s session and repositories (its transaction, open), four of
        # them answering from what was read ahead.
        vars(self).update(vars(uow))
        self.minutes = _MinutesReadAhead(uow.session, lines=lines, tags=tags, edits=edits, chairs=chairs)
        self.meetings = _MeetingsReadAhead(uow.session, meetings)
        self.rsvps = _RsvpsReadAhead(uow.session, rsvps)
        self.subjects = _SubjectsReadAhead(uow.session, subjects)

    @classmethod
    async def load(
        cls, uow: UnitOfWork, subject: Subject, sessions: list[MeetingSession], meetings: dict[int, Meeting]
    ) -> Prefetched:
        ids = [s.id for s in sessions]
        return cls(
            uow,
            lines=await uow.reports.lines_of_sessions(ids),
            tags=await uow.reports.tags_of_sessions(ids),
            edits=await uow.reports.edits_of_sessions(ids),
            chairs=await uow.reports.chairs_of_sessions(ids),
            meetings=meetings,
            rsvps=await uow.reports.rsvps_of_meetings(list(meetings)),
            subjects={subject.room_id: subject},
        )


# The repositories `build` reads, answering from a dict when it holds the key, from the database otherwise.


class _MinutesReadAhead(Minutes):
    def __init__(
        self,
        session: AsyncSession,
        *,
        lines: dict[int, list[MinuteLine]],  # plain rows with a line's columns (`lines_of_sessions`)
        tags: dict[int, dict[int, list[MinuteTag]]],
        edits: dict[int, dict[int, list[MinuteLineEdit]]],
        chairs: dict[int, list[str]],
    ) -> None:
        super().__init__(session)
        self._lines, self._tags, self._edits, self._chairs = lines, tags, edits, chairs

    async def lines(self, session_id: int) -> list[MinuteLine]:
        return self._lines[session_id] if session_id in self._lines else await super().lines(session_id)

    async def tags(self, session_id: int) -> dict[int, list[MinuteTag]]:
        return self._tags[session_id] if session_id in self._tags else await super().tags(session_id)

    async def edits_of_session(self, session_id: int) -> dict[int, list[MinuteLineEdit]]:
        if session_id in self._edits:
            return self._edits[session_id]
        return await super().edits_of_session(session_id)

    async def chairs(self, session_id: int) -> list[str]:
        return self._chairs[session_id] if session_id in self._chairs else await super().chairs(session_id)


class _MeetingsReadAhead(Meetings):
    def __init__(self, session: AsyncSession, meetings: dict[int, Meeting]) -> None:
        super().__init__(session)
        self._meetings = meetings

    async def get(self, meeting_id: int) -> Meeting | None:
        return self._meetings[meeting_id] if meeting_id in self._meetings else await super().get(meeting_id)


class _RsvpsReadAhead(Rsvps):
    def __init__(self, session: AsyncSession, rsvps: dict[int, list[Rsvp]]) -> None:
        super().__init__(session)
        self._rsvps = rsvps

    async def for_meeting(self, meeting_id: int) -> list[Rsvp]:
        return self._rsvps[meeting_id] if meeting_id in self._rsvps else await super().for_meeting(meeting_id)


class _SubjectsReadAhead(Subjects):
    def __init__(self, session: AsyncSession, subjects: dict[str, Subject]) -> None:
        super().__init__(session)
        self._subjects = subjects

    async def by_room(self, room_id: str) -> Subject | None:
        return self._subjects[room_id] if room_id in self._subjects else await super().by_room(room_id)
