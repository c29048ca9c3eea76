"""Keeping a meeting's record: sessions, chairs, and the lines heard while one runs.

Plain functions over a unit of work; `commands.minutes` is the chat side. Every line is written in the
transaction of the event it comes from, before anything answers it, so the exactly-once ledger covers it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from iscg_bot.meetings import expand, meeting_label

BINDING_WINDOW = timedelta(minutes=30)  # a session binds to the occurrence starting this close to now
UNDECRYPTABLE_TEXT = "(a message the bot could not decrypt)"
UNSCHEDULED_TITLE = "Unscheduled meeting"


class MinutesError(Exception):
    """A refusal, worded for the person who asked."""


@dataclass(frozen=True)
class Heard:
    """What a line records of the event it comes from."""

    event_id: str
    sender: str
    server_time: datetime
    text: str
    msgtype: str = "m.text"
    tag: str | None = None
    tag_args: dict[str, Any] | None = None


@dataclass
class Summary:
    title: str
    started_at: datetime
    ended_at: datetime
    lines: int
    attendance: list[str] = field(default_factory=list)
    regrets: list[str] = field(default_factory=list)
    decisions: list[str] = field(default_factory=list)
    actions: list[tuple[str, str]] = field(default_factory=list)  # (who, what)
    key_issues: list[str] = field(default_factory=list)


def _nearest_occurrence(meeting: Any, now: datetime) -> Any | None:
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


async def start(uow: Any, *, room_id: str, subject: Any, meeting: Any, by: str, now: datetime) -> Any:
    """Start a session in the room, bound to `meeting` (an explicit `M12`) or, when None, to the subject's
    meeting starting within ±30 minutes; otherwise an unscheduled session. Its chairs: the starter and the
    subject's coordinators."""
    running = await uow.minutes.running(room_id)
    if running is not None:
        raise MinutesError(
            f"A meeting is already running here: {running.title}. End it first with !endmeeting."
        )
    occurrence = None
    if meeting is not None:
        if meeting.room_id != room_id and (subject is None or meeting.subject_id != subject.id):
            raise MinutesError(
                f"{meeting_label(meeting.id)} is not this room's meeting; start it in its own room."
            )
        if meeting.status == "cancelled":
            raise MinutesError(f"{meeting_label(meeting.id)} is cancelled.")
        occurrence = _nearest_occurrence(meeting, now)
    elif subject is not None:
        candidates = await uow.meetings.upcoming_candidates(
            after_utc=now - BINDING_WINDOW, subject_id=subject.id
        )
        best: tuple[timedelta, Any, Any] | None = None
        for candidate in candidates:
            found = _nearest_occurrence(candidate, now)
            if found is not None and (best is None or abs(found.start - now) < best[0]):
                best = (abs(found.start - now), candidate, found)
        if best is not None:
            _, meeting, occurrence = best
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


async def running(uow: Any, room_id: str) -> Any:
    """The room's running session, or a refusal."""
    session = await uow.minutes.running(room_id)
    if session is None:
        raise MinutesError("No meeting is running in this room; start one with !startmeeting.")
    return session


async def is_chair(uow: Any, session: Any, user_id: str) -> bool:
    return user_id in await uow.minutes.chairs(session.id)


async def require_chair(uow: Any, session: Any, user_id: str, what: str) -> None:
    if not await is_chair(uow, session, user_id):
        raise MinutesError(f"Only the meeting's chairs may {what}.")


async def add_chair(uow: Any, session: Any, user_id: str, *, by: str) -> bool:
    await require_chair(uow, session, by, "name chairs")
    return await uow.minutes.add_chair(session.id, user_id)


async def remove_chair(uow: Any, session: Any, user_id: str, *, by: str) -> bool:
    await require_chair(uow, session, by, "remove chairs")
    chairs = await uow.minutes.chairs(session.id)
    if chairs == [user_id]:
        raise MinutesError("A meeting keeps at least one chair.")
    return await uow.minutes.remove_chair(session.id, user_id)


async def record(uow: Any, session: Any, heard: Heard, *, room_id: str) -> Any | None:
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
        tag=heard.tag,
        tag_args=heard.tag_args,
    )


async def apply_edit(
    uow: Any, *, original_event_id: str, edit_event_id: str, text: str, at: datetime
) -> bool:
    """An `m.replace` of a logged line: the new text replaces the old, which is kept in the history."""
    line = await uow.minutes.line_by_event(original_event_id)
    if line is None:
        return False
    return await uow.minutes.replace_text(line, text=text, edit_event_id=edit_event_id, at=at)


async def apply_redaction(uow: Any, redacted_event_id: str) -> bool:
    """A redacted line leaves the minutes (the row stays, marked)."""
    line = await uow.minutes.line_by_event(redacted_event_id)
    if line is None or line.redacted:
        return False
    line.redacted = True
    await uow.session.flush()
    return True


async def undo(uow: Any, session: Any) -> Any:
    """Withdraw the session's last tagged line still counting."""
    line = await uow.minutes.last_tagged(session.id)
    if line is None:
        raise MinutesError("There is no tagged line to undo.")
    line.undone = True
    await uow.session.flush()
    return line


async def end(uow: Any, session: Any, *, by: str, now: datetime) -> Summary:
    await require_chair(uow, session, by, "end the meeting")
    await uow.minutes.end(session, now)
    return await summarize(uow, session)


async def summarize(uow: Any, session: Any) -> Summary:
    """What the session recorded, redacted and undone lines left out."""
    lines = [line for line in await uow.minutes.lines(session.id) if not line.redacted]
    summary = Summary(session.title, session.started_at, session.ended_at or session.started_at, len(lines))
    attendance: dict[str, None] = {}
    regrets: dict[str, None] = {}
    for line in lines:
        attendance.setdefault(line.sender)
        if line.undone or line.tag is None:
            continue
        args = line.tag_args or {}
        if line.tag == "present":
            for user in args.get("users") or [line.sender]:
                attendance.setdefault(user)
        elif line.tag == "regrets":
            regrets.setdefault(args.get("user", line.sender))
        elif line.tag == "agreed":
            summary.decisions.append(args.get("text", ""))
        elif line.tag == "action":
            summary.actions.append((args.get("who", ""), args.get("text", "")))
        elif line.tag == "keyissue":
            summary.key_issues.append(args.get("text", ""))
    if session.meeting_id is not None:
        for rsvp in await uow.rsvps.for_meeting(session.meeting_id):
            if rsvp.answer == "no":
                regrets.setdefault(rsvp.matrix_id)
    summary.attendance = sorted(attendance)
    summary.regrets = sorted(regrets)
    return summary
