"""What the subjects' parts of a report read, for all of them at once (`iscg_bot.domain.reports`): a query for
each kind of row rather than one for each subject, and of the minutes only the lines that can change what a
report shows.

    read = await ReadAhead.load(uow, subjects, bounds)  # bounds: subject ID → its period, [start, end)
    read.sessions[subject.id], read.minutes, read.actions[subject.id], …
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from iscg_bot.domain.read_ahead import Prefetched

if TYPE_CHECKING:
    from iscg_bot.storage import ActionItem, Meeting, MeetingSession, Subject, UnitOfWork

__all__ = ["COUNTED_TAGS", "ReadAhead", "minutes_that_count"]


@dataclass(frozen=True)
class ReadAhead:
    """What the subjects' parts of a report read, for all of them at once: a query for each kind of row
    rather than one for each subject."""

    # subject ID → its ended sessions started in its period, by start
    sessions: dict[int, list[MeetingSession]]
    meetings: dict[int, Meeting]  # the meetings they were bound to, by ID
    minutes: Prefetched  # their minutes, as a report reads them (`minutes_that_count`)
    actions: dict[int, list[ActionItem]]  # subject ID → its action items created before its period's end
    origins: dict[int, MeetingSession]  # the sessions the action items were taken in, by ID

    @classmethod
    async def load(
        cls, uow: UnitOfWork, subjects: list[Subject], bounds: dict[int, tuple[datetime, datetime]]
    ) -> ReadAhead:
        """Each subject's period is in its own zone: the rows of the widest span are read, then each
        subject keeps those of its own (the rule of `Reports.ended_sessions` for the sessions)."""
        ids = [subject.id for subject in subjects]
        if not ids:
            return cls({}, {}, await minutes_that_count(uow, [], [], {}), {}, {})
        widest = min(bounds[i][0] for i in ids), max(bounds[i][1] for i in ids)
        room_subject = {subject.room_id: subject.id for subject in subjects}
        sessions: dict[int, list[MeetingSession]] = {i: [] for i in ids}
        for session, meeting_subject in await uow.reports.ended_sessions_of_subjects(
            subject_ids=ids, room_ids=list(room_subject), started_from=widest[0], started_before=widest[1]
        ):
            # bound to a meeting: that meeting's subject; unscheduled: the subject of the room it was held in
            owner = meeting_subject if session.meeting_id is not None else room_subject.get(session.room_id)
            if owner in sessions and bounds[owner][0] <= session.started_at < bounds[owner][1]:
                sessions[owner].append(session)
        held = [session for i in ids for session in sessions[i]]
        meetings = await uow.reports.meetings(s.meeting_id for s in held if s.meeting_id is not None)
        minutes = await minutes_that_count(uow, subjects, held, meetings)
        actions = await uow.reports.actions_of_subjects_created_before(ids, widest[1])
        for i in ids:
            actions[i] = [item for item in actions[i] if item.created_at < bounds[i][1]]
        origins = await uow.reports.sessions(
            item.session_id for i in ids for item in actions[i] if item.session_id is not None
        )
        return cls(sessions, meetings, minutes, actions, origins)


# The tags whose lines a report reads: the rest (topics, information, actions…) change nothing it shows.
COUNTED_TAGS = ("agreed", "keyissue", "present", "regrets")


async def minutes_that_count(
    uow: UnitOfWork, subjects: list[Subject], sessions: list[MeetingSession], meetings: dict[int, Meeting]
) -> Prefetched:
    """The subjects' minutes read ahead (`Prefetched`) with only what a report shows of them: the lines
    with a COUNTED_TAGS tag and those tags (the others are left out: a tag's text is found by its rank among
    the line's tags of its kind), the redacted lines, and one line of each sender (the attendance). The
    documents `build` makes of them have a partial log and partial topics, but the same attendance, regrets,
    decisions, key issues and page as the whole minutes: a report reads a few lines of a meeting instead of
    all of them (tests/test_report_minutes.py checks them against the whole)."""
    ids = [s.id for s in sessions]
    return Prefetched(
        uow,
        lines=await uow.reports.lines_that_count(ids, COUNTED_TAGS),
        tags=await uow.reports.tags_of_kinds(ids, COUNTED_TAGS),
        edits=await uow.reports.edits_of_sessions(ids),
        chairs=await uow.reports.chairs_of_sessions(ids),
        meetings=meetings,
        rsvps=await uow.reports.rsvps_of_meetings(list(meetings)),
        subjects={subject.room_id: subject for subject in subjects},
    )
