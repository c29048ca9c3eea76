"""Electronic meetings as plain functions over a unit of work: schedule, move, cancel, agenda, conflicts.

A meeting keeps its IANA zone and its wall-clock start (a series stays at 14:00 in its own zone across
DST); `start_utc` and `series_end_utc` are derived for queries. Every change raises the meeting's sequence
number once, which the calendar feeds rely on. Refusals are `MeetingError`s: one sentence each.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from iscg_bot.core.errors import DomainError
from iscg_bot.core.formatting import single_line
from iscg_bot.core.i18n import _, n_
from iscg_bot.domain.recurrence import (
    Occurrence,
    OverrideLike,
    Repeat,
    first_start,
    from_rrule,
    occurrence_on,
    occurrences,
    series_end,
    to_rrule,
    wall_instant,
)
from iscg_bot.domain.roles import RoleKind
from iscg_bot.domain.timeparse import When, local_reading

if TYPE_CHECKING:
    from iscg_bot.storage import UnitOfWork
    from iscg_bot.storage.models import AgendaItem, Meeting, Subject

MEETING_REF = re.compile(r"[Mm]([0-9]{1,9})")
CONFLICT_HORIZON = timedelta(days=366)  # how far ahead a series is checked against other meetings
MAX_TITLE = 200
MAX_AGENDA_ITEM = 500
MAX_AGENDA_ITEMS = 50


class MeetingError(DomainError):
    """A request about meetings that cannot be done; the message is one sentence."""


def meeting_label(meeting_id: int) -> str:
    return f"M{meeting_id}"


def parse_meeting_ref(word: str) -> int:
    match = MEETING_REF.fullmatch(word.strip())
    if match is None:
        raise MeetingError(_('"{word}" is not a meeting ID like M12.', word=word[:20]))
    return int(match.group(1))


class OtherEvent(Protocol):
    """An event of another body's calendar, in UTC (`iscg_bot.calendar.imported.ImportedEvent`)."""

    @property
    def source(self) -> str: ...
    @property
    def uid(self) -> str: ...
    @property
    def summary(self) -> str: ...
    @property
    def start(self) -> datetime: ...
    @property
    def end(self) -> datetime: ...


class OtherCalendars(Protocol):
    """The calendars of other bodies read for conflicts (`iscg_bot.calendar.imported.ImportedCalendars`)."""

    def events_between(self, start: datetime, end: datetime) -> Sequence[OtherEvent]: ...


class Timetable(Protocol):
    """When a meeting happens, as expanding it into occurrences reads it: a stored `Meeting`, or a draft."""

    @property
    def timezone(self) -> str: ...
    @property
    def start_local(self) -> datetime: ...
    @property
    def duration_minutes(self) -> int: ...
    @property
    def rrule(self) -> str | None: ...
    @property
    def overrides(self) -> Sequence[OverrideLike]: ...


@dataclass(frozen=True)
class Conflict:
    """Another meeting that overlaps (or an event of an imported calendar), and why it matters."""

    meeting: Meeting | OtherEvent
    start: datetime
    end: datetime
    why: str


@dataclass(frozen=True)
class ScheduleRequest:
    title: str
    when: When
    duration: timedelta
    repeat: Repeat | None = None
    link: str | None = None
    agenda: tuple[str, ...] = ()
    force: bool = False


@dataclass
class Outcome:
    """What a change did: the meeting (None when conflicts stopped it) and the conflicts found."""

    meeting: Meeting | None = None
    conflicts: list[Conflict] = field(default_factory=list)


# ---- reading a meeting -----------------------------------------------------------------------------------


def duration_of(meeting: Timetable) -> timedelta:
    return timedelta(minutes=meeting.duration_minutes)


def expand(
    meeting: Timetable, start: datetime, end: datetime, *, include_cancelled: bool = True
) -> list[Occurrence]:
    """The meeting's occurrences intersecting [start, end), overrides applied."""
    return occurrences(
        zone=meeting.timezone,
        start_local=meeting.start_local,
        duration=duration_of(meeting),
        rrule=meeting.rrule,
        overrides=meeting.overrides,
        window_start=start,
        window_end=end,
        include_cancelled=include_cancelled,
    )


def next_occurrence(meeting: Timetable, after: datetime) -> Occurrence | None:
    """The first occurrence still running or to come after `after` (cancelled ones skipped)."""
    horizon = after + timedelta(days=400)
    found = expand(meeting, after, horizon, include_cancelled=False)
    return found[0] if found else None


# ---- changing meetings -----------------------------------------------------------------------------------


def meeting_zone(when: When, fallback: str) -> str:
    """The zone a meeting lives in: a place's zone when one was named, else the subject's.

    A bare UTC time or offset (`13:00Z`, `UTC+3`) fixes the instant but is no place: the meeting keeps
    the subject's zone, so a series follows that place's daylight-saving time.
    """
    if when.zone and when.zone != "UTC" and not when.zone.startswith("Etc/"):
        return when.zone
    return fallback


def _title(text: str) -> str:
    return single_line(
        text,
        limit=MAX_TITLE,
        error=MeetingError,
        empty=lambda: _("The meeting title cannot be empty."),
        too_long=lambda limit: n_(
            "A meeting title holds at most {count} character.",
            "A meeting title holds at most {count} characters.",
            limit,
        ),
    )


def _link(text: str | None) -> str | None:
    if text is None:
        return None
    if not re.fullmatch(r"https://[^\s<>\"]{3,990}", text):
        raise MeetingError(_('"{text}" is not an https:// link.', text=text[:60]))
    return text


def _agenda_item(text: str) -> str:
    return single_line(
        text,
        limit=MAX_AGENDA_ITEM,
        error=MeetingError,
        empty=lambda: _("The agenda item cannot be empty."),
        too_long=lambda limit: n_(
            "An agenda item holds at most {count} character.",
            "An agenda item holds at most {count} characters.",
            limit,
        ),
    )


def _placement(
    when: When, duration: timedelta, repeat: Repeat | None, zone: str
) -> tuple[datetime, datetime, str | None, datetime | None]:
    """Wall-clock start, UTC start, RRULE and series end for a meeting starting `when` in `zone`.

    The wall-clock start keeps its pass (`fold`): a time given in UTC in the second pass of a repeated
    hour stays there, and a series repeats that pass (see iscg_bot.domain.recurrence)."""
    start_local = local_reading(when.instant, zone)
    if repeat is None:
        start_utc = when.instant
        return start_local, start_utc, None, start_utc + duration
    start_local = first_start(repeat, start_local)
    start_utc = wall_instant(start_local, zone)
    rrule = to_rrule(repeat, zone=zone, start_local=start_local, duration=duration)
    return (
        start_local,
        start_utc,
        rrule,
        series_end(repeat, zone=zone, start_local=start_local, duration=duration),
    )


async def schedule(
    uow: UnitOfWork,
    request: ScheduleRequest,
    *,
    subject: Subject | None,
    room_id: str,
    by: str,
    at: datetime,
    default_zone: str,
    imported: OtherCalendars | None = None,
) -> Outcome:
    """Create a meeting of `subject` (None: group-wide, in `default_zone` unless a place is named) unless
    it conflicts and `force` is not given."""
    title = _title(request.title)
    link = _link(request.link)
    agenda = tuple(_agenda_item(item) for item in request.agenda)
    if len(agenda) > MAX_AGENDA_ITEMS:
        raise MeetingError(_("An agenda holds at most {count} items.", count=MAX_AGENDA_ITEMS))
    zone = meeting_zone(request.when, subject.timezone if subject is not None else default_zone)
    if zone is None:
        raise MeetingError(_("Say which time zone the meeting is in, e.g. 2026-12-03 14:00 Europe/Zurich."))
    start_local, start_utc, rrule, end_utc = _placement(request.when, request.duration, request.repeat, zone)
    if start_utc < at:
        raise MeetingError(_("The series' first meeting would be in the past."))
    draft = _Draft(zone, start_local, request.duration, rrule)
    conflicts = await find_conflicts(uow, draft, subject=subject, at=at, imported=imported)
    if conflicts and not request.force:
        return Outcome(None, conflicts)
    meeting = await uow.meetings.create(
        subject_id=subject.id if subject is not None else None,
        room_id=room_id,
        title=title,
        timezone=zone,
        start_local=start_local,
        start_utc=start_utc,
        duration_minutes=int(request.duration.total_seconds() // 60),
        rrule=rrule,
        series_end_utc=end_utc,
        link=link,
        created_by=by,
        at=at,
        agenda=agenda,
    )
    return Outcome(meeting, conflicts)


async def move(
    uow: UnitOfWork,
    meeting: Meeting,
    when: When,
    *,
    subject: Subject | None,
    duration: timedelta | None,
    occurrence: date | None,
    force: bool,
    at: datetime,
    imported: OtherCalendars | None = None,
) -> Outcome:
    """Move the whole meeting (a series keeps its rule from the new start) or one occurrence of a series."""
    _still_on(meeting)
    new_duration = duration or duration_of(meeting)
    if when.instant < at:
        raise MeetingError(_("That is in the past."))
    if occurrence is not None:
        original = _occurrence(meeting, occurrence)
        new_local = local_reading(when.instant, meeting.timezone)
        draft = _Draft(meeting.timezone, new_local, new_duration, None)
        conflicts = await find_conflicts(
            uow, draft, subject=subject, at=at, exclude=meeting.id, imported=imported
        )
        if conflicts and not force:
            return Outcome(None, conflicts)
        await uow.meetings.set_override(
            meeting,
            original.original_local,
            at=at,
            start_local=new_local,
            duration_minutes=int(new_duration.total_seconds() // 60),
        )
        # The stored bounds must still cover every occurrence, or searches would miss the moved one.
        new_start = wall_instant(new_local, meeting.timezone)
        if new_start < meeting.start_utc:
            await uow.meetings.update(meeting, at=at, start_utc=new_start)
        if meeting.series_end_utc is not None and new_start + new_duration > meeting.series_end_utc:
            await uow.meetings.update(meeting, at=at, series_end_utc=new_start + new_duration)
        await uow.meetings.touch(meeting, at)
        return Outcome(meeting, conflicts)
    zone = meeting_zone(when, meeting.timezone)
    repeat = _repeat_of(meeting)
    start_local, start_utc, rrule, end_utc = _placement(when, new_duration, repeat, zone)
    draft = _Draft(zone, start_local, new_duration, rrule)
    conflicts = await find_conflicts(
        uow, draft, subject=subject, at=at, exclude=meeting.id, imported=imported
    )
    if conflicts and not force:
        return Outcome(None, conflicts)
    await uow.meetings.update(
        meeting,
        at=at,
        timezone=zone,
        start_local=start_local,
        start_utc=start_utc,
        duration_minutes=int(new_duration.total_seconds() // 60),
        rrule=rrule,
        series_end_utc=end_utc,
    )
    await uow.meetings.touch(meeting, at)
    return Outcome(meeting, conflicts)


async def cancel(
    uow: UnitOfWork, meeting: Meeting, *, occurrence: date | None, reason: str | None, at: datetime
) -> Meeting:
    """Cancel the meeting (kept, marked cancelled) or one occurrence of a series."""
    _still_on(meeting)
    reason = " ".join(reason.split())[:500] if reason else None
    if occurrence is not None:
        original = _occurrence(meeting, occurrence)
        if original.cancelled:
            raise MeetingError(
                _(
                    "The {date} meeting of {label} is already cancelled.",
                    date=occurrence.isoformat(),
                    label=meeting_label(meeting.id),
                )
            )
        await uow.meetings.set_override(
            meeting, original.original_local, at=at, cancelled=True, reason=reason
        )
    else:
        await uow.meetings.update(meeting, at=at, status="cancelled", cancel_reason=reason)
    await uow.meetings.touch(meeting, at)
    return meeting


async def add_agenda_item(
    uow: UnitOfWork, meeting: Meeting, text: str, *, by: str, at: datetime
) -> AgendaItem:
    _still_on(meeting)
    if len(meeting.agenda) >= MAX_AGENDA_ITEMS:
        raise MeetingError(_("An agenda holds at most {count} items.", count=MAX_AGENDA_ITEMS))
    item = await uow.meetings.add_agenda_item(meeting, _agenda_item(text), by=by, at=at)
    await uow.meetings.touch(meeting, at)
    return item


def _still_on(meeting: Meeting) -> None:
    if meeting.status == "cancelled":
        raise MeetingError(_("{label} was cancelled.", label=meeting_label(meeting.id)))


def _occurrence(meeting: Meeting, day: date) -> Occurrence:
    if meeting.rrule is None:
        raise MeetingError(
            _("{label} is a single meeting; leave out the occurrence.", label=meeting_label(meeting.id))
        )
    found = occurrence_on(
        zone=meeting.timezone,
        start_local=meeting.start_local,
        duration=duration_of(meeting),
        rrule=meeting.rrule,
        overrides=meeting.overrides,
        day=day,
    )
    if found is None:
        raise MeetingError(
            _("{label} has no meeting on {date}.", label=meeting_label(meeting.id), date=day.isoformat())
        )
    return found


def _repeat_of(meeting: Meeting) -> Repeat | None:
    return None if meeting.rrule is None else from_rrule(meeting.rrule, zone=meeting.timezone)


# ---- conflicts -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Draft:
    """A meeting not stored yet, expanded like a stored one."""

    timezone: str
    start_local: datetime
    duration: timedelta
    rrule: str | None
    overrides: tuple[OverrideLike, ...] = ()

    @property
    def duration_minutes(self) -> int:
        return int(self.duration.total_seconds() // 60)


async def find_conflicts(
    uow: UnitOfWork,
    draft: Timetable,
    *,
    subject: Subject | None,
    at: datetime,
    exclude: int | None = None,
    imported: OtherCalendars | None = None,
) -> list[Conflict]:
    """Meetings overlapping the draft's occurrences in the coming year: of the same subject, sharing its
    coordinator or a focal point, or group-wide (a group-wide draft is checked against every meeting)."""
    mine = expand(draft, at, at + CONFLICT_HORIZON, include_cancelled=False)
    if not mine:
        return []
    people = await _people_of(uow, subject, at)
    subject_ids = await conflict_scope(uow, subject, at)
    candidates = await uow.meetings.overlapping(
        start_utc=mine[0].start,
        end_utc=mine[-1].end,
        subject_ids=subject_ids,
        include_group_wide=True,
        exclude_meeting_id=exclude,
    )
    found: list[Conflict] = []
    for other in candidates:
        why = await _why(uow, other, subject, people, at)
        for theirs in expand(other, mine[0].start, mine[-1].end, include_cancelled=False):
            if any(o.start < theirs.end and theirs.start < o.end for o in mine):
                found.append(Conflict(other, theirs.start, theirs.end, why))
                break  # one clash per meeting is enough to report it
    # Events of the imported calendars (OtherCalendars), one conflict per event.
    found.extend(imported_conflicts(imported, ((o.start, o.end) for o in mine)))
    return found


def imported_conflicts(
    calendars: OtherCalendars | None, spans: Iterable[tuple[datetime, datetime]]
) -> list[Conflict]:
    """Conflicts between the given occurrences and imported events: one per imported event (source, UID),
    at its first clash. `calendars` None → none."""
    if calendars is None:
        return []
    seen: set[tuple[str, str]] = set()
    found: list[Conflict] = []
    for start, end in spans:
        for event in calendars.events_between(start, end):
            key = (event.source, event.uid or event.summary)
            if key not in seen:
                seen.add(key)
                found.append(Conflict(event, event.start, event.end, _("an event of an imported calendar")))
    return found


async def conflict_scope(uow: UnitOfWork, subject: Subject | None, at: datetime) -> list[int] | None:
    """The subjects whose meetings a meeting of `subject` must not overlap: itself and those sharing its
    coordinator or a focal point (group-wide meetings always count). None: every subject (group-wide)."""
    if subject is None:
        return None
    related = await _subjects_sharing(uow, await _people_of(uow, subject, at), at)
    return sorted({subject.id, *related})


async def _people_of(uow: UnitOfWork, subject: Subject | None, at: datetime) -> set[str]:
    if subject is None:
        return set()
    assignments = await uow.roles.active(at=at, subject_id=subject.id)
    return {a.matrix_id for a in assignments if a.role in (RoleKind.COORDINATOR, RoleKind.FOCAL_POINT)}


async def _subjects_sharing(uow: UnitOfWork, people: set[str], at: datetime) -> set[int]:
    related: set[int] = set()
    for person in sorted(people):
        for assignment in await uow.roles.active(at=at, matrix_id=person):
            if assignment.subject_id is not None:
                related.add(assignment.subject_id)
    return related


async def _why(
    uow: UnitOfWork, other: Meeting, subject: Subject | None, people: set[str], at: datetime
) -> str:
    if other.subject_id is None:
        return _("a group-wide meeting")
    if subject is not None and other.subject_id == subject.id:
        return _("another meeting of this subject")
    theirs = await uow.subjects.get(other.subject_id)
    assert theirs is not None  # meetings.subject_id is a foreign key, ON DELETE RESTRICT
    shared = sorted(people & await _people_of(uow, theirs, at))
    if shared:
        return _("a meeting of {slug}, which {person} also attends", slug=theirs.slug, person=shared[0])
    return _("a meeting of {slug}", slug=theirs.slug)
