"""Keeping a meeting's record: sessions, chairs, and the lines heard while one runs.

Plain functions over a unit of work; `commands.minutes` is the chat side. Every line is written in the
transaction of the event it comes from, before anything answers it, so the exactly-once ledger covers it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from iscg_bot.core.errors import DomainError
from iscg_bot.core.i18n import _
from iscg_bot.domain.meetings import Timetable, expand, meeting_label
from iscg_bot.domain.minutes_model import UNSCHEDULED_TITLE
from iscg_bot.domain.recurrence import Occurrence

if TYPE_CHECKING:
    from iscg_bot.storage import UnitOfWork
    from iscg_bot.storage.models import Meeting, MeetingSession, MinuteLine, MinuteTag, Subject

BINDING_WINDOW = timedelta(minutes=30)  # a session binds to the occurrence starting this close to now
UNDECRYPTABLE_TEXT = "(a message the bot could not decrypt)"


class MinutesError(DomainError):
    """A refusal, worded for the person who asked."""


@dataclass(frozen=True)
class Heard:
    """What a line records of the event it comes from."""

    event_id: str
    sender: str
    server_time: datetime
    text: str
    msgtype: str = "m.text"


def _nearest_occurrence(meeting: Timetable, now: datetime) -> Occurrence | None:
    """The meeting's occurrence starting within ±30 minutes of `now`, the closest one."""
    window_start = now - BINDING_WINDOW - timedelta(days=2)  # long meetings still intersect the window
    found = [
        o
        for o in expand(
            meeting, window_start, now + BINDING_WINDOW + timedelta(minutes=1), include_cancelled=False
        )
        if abs(o.start - now) <= BINDING_WINDOW
    ]
    return min(found, key=lambda o: abs(o.start - now)) if found else None


async def start(
    uow: UnitOfWork,
    *,
    room_id: str,
    subject: Subject | None,
    meeting: Meeting | None,
    by: str,
    now: datetime,
    prefix: str = "!",
) -> MeetingSession:
    """Start a session in the room, bound to `meeting` (an explicit `M12`) or, when None, to the subject's
    meeting starting within ±30 minutes (with no subject: the group-wide meeting scheduled in this room, which
    is the group room); otherwise an unscheduled session. Its chairs: the starter and the subject's
    coordinators."""
    running = await uow.minutes.running(room_id)
    if running is not None:
        raise MinutesError(
            _(
                "A meeting is already running here: {title}. End it first with {command}.",
                title=running.title,
                command=f"{prefix}endmeeting",
            )
        )
    occurrence = None
    if meeting is not None:
        if meeting.room_id != room_id and (subject is None or meeting.subject_id != subject.id):
            raise MinutesError(
                _(
                    "{meeting} is not this room's meeting; start it in its own room.",
                    meeting=meeting_label(meeting.id),
                )
            )
        if meeting.status == "cancelled":
            raise MinutesError(_("{meeting} is cancelled.", meeting=meeting_label(meeting.id)))
        occurrence = _nearest_occurrence(meeting, now)
    else:
        candidates = await uow.meetings.upcoming_candidates(
            after_utc=now - BINDING_WINDOW,
            subject_id=subject.id if subject is not None else None,
            group_wide_in=room_id if subject is None else None,
        )
        best: tuple[timedelta, Meeting, Occurrence] | None = None
        for candidate in candidates:
            found = _nearest_occurrence(candidate, now)
            if found is not None and (best is None or abs(found.start - now) < best[0]):
                best = (abs(found.start - now), candidate, found)
        if best is not None:
            _distance, meeting, occurrence = best
    session = await uow.minutes.start(
        room_id=room_id,
        meeting_id=meeting.id if meeting is not None else None,
        occurrence_utc=occurrence.start if occurrence is not None else None,
        title=meeting.title if meeting is not None else UNSCHEDULED_TITLE,
        by=by,
        at=now,
    )
    chairs = {by}
    if subject is not None:
        chairs |= {
            r.matrix_id for r in await uow.roles.active(at=now, role="coordinator", subject_id=subject.id)
        }
    for chair in sorted(chairs):
        await uow.minutes.add_chair(session.id, chair)
    return session


async def running(uow: UnitOfWork, room_id: str, *, prefix: str = "!") -> MeetingSession:
    """The room's running session, or a refusal (`prefix`: the command prefix it names commands with)."""
    session = await uow.minutes.running(room_id)
    if session is None:
        raise MinutesError(
            _(
                "No meeting is running in this room; start one with {command}.",
                command=f"{prefix}startmeeting",
            )
        )
    return session


async def add_chair(uow: UnitOfWork, session: MeetingSession, user_id: str) -> bool:
    """Who may name chairs is the command's rule (`iscg_bot.chat.policy.meeting_chairs`), not the record's."""
    return await uow.minutes.add_chair(session.id, user_id)


async def remove_chair(uow: UnitOfWork, session: MeetingSession, user_id: str) -> bool:
    chairs = await uow.minutes.chairs(session.id)
    if chairs == [user_id]:
        raise MinutesError(_("A meeting keeps at least one chair."))
    return await uow.minutes.remove_chair(session.id, user_id)


async def record(
    uow: UnitOfWork, session: MeetingSession, heard: Heard, *, room_id: str
) -> MinuteLine | None:
    """Store one line of the session; None when this event is already stored (the first record wins)."""
    if await uow.minutes.line_by_event(heard.event_id) is not None:
        return None
    display_name = await uow.members.display_name(room_id, heard.sender)
    return await uow.minutes.add_line(
        session_id=session.id,
        event_id=heard.event_id,
        sender=heard.sender,
        display_name=display_name,
        server_time=heard.server_time,
        msgtype=heard.msgtype,
        text=heard.text,
    )


async def tag(
    uow: UnitOfWork,
    session: MeetingSession,
    heard: Heard,
    tag: str,
    args: dict[str, Any],
    *,
    room_id: str,
) -> MinuteTag:
    """Tag the line of the event (stored first if it is not yet: normally the record already has it)."""
    line = await uow.minutes.line_by_event(heard.event_id)
    if line is None:
        line = await record(uow, session, heard, room_id=room_id)
        assert line is not None  # record stores it: no line had this event a moment ago
    return await uow.minutes.add_tag(line, tag, args or None)


async def apply_edit(
    uow: UnitOfWork, *, original_event_id: str, edit_event_id: str, text: str, at: datetime
) -> MeetingSession | None:
    """An `m.replace` of a logged line: the new text replaces the old, which is kept in the history.
    The line's session when something changed, else None."""
    line = await uow.minutes.line_by_event(original_event_id)
    if line is None or not await uow.minutes.replace_text(
        line, text=text, edit_event_id=edit_event_id, at=at
    ):
        return None
    return await uow.minutes.get(line.session_id)


async def apply_redaction(uow: UnitOfWork, redacted_event_id: str, at: datetime) -> MeetingSession | None:
    """A redacted line leaves the minutes (the row stays, with the time). The line's session when
    something changed, else None."""
    line = await uow.minutes.line_by_event(redacted_event_id)
    if line is None or line.redacted:
        return None
    line.redacted_at = at
    await uow.session.flush()
    return await uow.minutes.get(line.session_id)


async def undo(uow: UnitOfWork, session: MeetingSession) -> MinuteTag:
    """Withdraw the session's last tag still counting (whose it may be is `iscg_bot.chat.policy.UNDOERS`)."""
    last = await uow.minutes.last_tag(session.id)
    if last is None:
        raise MinutesError(_("There is no tagged line to undo."))
    last.undone = True
    await uow.session.flush()
    return last


async def end(uow: UnitOfWork, session: MeetingSession, *, now: datetime) -> None:
    await uow.minutes.end(session, now)


def _parse_reference(reference: str) -> tuple[str, int]:
    """("M", 12) for "M12" (a meeting), ("S", 7) for "S7" (a session), case aside; else a refusal."""
    word = reference.strip().upper()
    if word[:1] in ("M", "S") and word[1:].isdigit():
        return word[0], int(word[1:])
    raise MinutesError(
        _(
            '"{reference}" names no minutes: use a meeting ID like M12 or a session like S7.',
            reference=reference[:20],
        )
    )


async def find(uow: UnitOfWork, reference: str | None, room_id: str) -> MeetingSession:
    """The session `reference` names: "M12" (that meeting's latest session), "S7", or None (this room's
    latest); a refusal when there is none."""
    if reference is None:
        session = await uow.minutes.latest_of_room(room_id)
        if session is None:
            raise MinutesError(_("No meeting has been minuted in this room yet."))
        return session
    return (await sessions_named(uow, reference))[0]


async def sessions_named(uow: UnitOfWork, reference: str) -> list[MeetingSession]:
    """Every session `reference` names, latest first: all of meeting M12's, or session S7; a refusal when
    there is none."""
    kind, number = _parse_reference(reference)
    if kind == "M":
        sessions = await uow.minutes.sessions_of_meeting(number)
        if not sessions:
            raise MinutesError(_("{meeting} has no minutes yet.", meeting=f"M{number}"))
        return sessions
    session = await uow.minutes.get(number)
    if session is None:
        raise MinutesError(_("There are no minutes {session}.", session=f"S{number}"))
    return [session]


async def approve(
    uow: UnitOfWork, session: MeetingSession, *, by: str, now: datetime, prefix: str = "!"
) -> None:
    """Lock the minutes as they stand now."""
    if session.ended_at is None:
        raise MinutesError(
            _(
                "The meeting is still running; end it with {command} before approving its minutes.",
                command=f"{prefix}endmeeting",
            )
        )
    if session.minutes_status == "approved":
        raise MinutesError(_("The minutes of {reference} are already approved.", reference=session.reference))
    session.minutes_status, session.approved_by, session.approved_at = "approved", by, now
    await uow.session.flush()


async def reopen(uow: UnitOfWork, session: MeetingSession) -> None:
    """Back to draft: changes made to the log since approval show again."""
    if session.minutes_status != "approved":
        raise MinutesError(_("The minutes of {reference} are a draft already.", reference=session.reference))
    session.minutes_status, session.approved_by, session.approved_at = "draft", None, None
    await uow.session.flush()
