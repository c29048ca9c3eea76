"""The reports to the advisory groups: `compile_report` reads the database into one `Report`
(`iscg_bot.domain.report_model`) that every renderer shows.

    report = await compile_report(uow, period=Period(date(2026, 1, 1), date(2026, 12, 31)), now=clock.now())

What counts, per subject (days are read in the subject's own time zone, both ends of the period included):

- people: the coordinators and the focal points (by Sector) who held the role at some time in the period,
  those still holding it at the period's end first;
- meetings held: ended minutes sessions that started in the period, bound to one of the subject's meetings
  or unscheduled in its room; attendance, regrets, decisions and key issues as the minutes say them
  (`minutes_document.build`: redacted lines and undone tags left out, approved minutes as approved; read
  ahead for every subject at once, only the lines that can change a figure: `domain.report_read_ahead`);
- meetings planned: the next PLANNED_COUNT occurrences, not cancelled, starting after the period's end or
  after now, whichever is later;
- action items opened in the period, closed (done or dropped) in it, and overdue: open at the period's end
  and due before its last day or before today, whichever is earlier. An item's status is the one it had at
  the period's end.

Then totals over the subjects, every key issue in one list (for the Bureau Directors and the ISC-TF) and
possible duplication of activities between subjects (`iscg_bot.domain.similarity`, searched by distinct word
sets: `iscg_bot.domain.report_overlaps`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from iscg_bot.core.errors import DomainError
from iscg_bot.core.i18n import _
from iscg_bot.domain import minutes_document
from iscg_bot.domain.actions import today_in
from iscg_bot.domain.meetings import expand
from iscg_bot.domain.report_model import (
    ALL_SUBJECTS,
    ActionRow,
    FocalPoint,
    HeldMeeting,
    Noted,
    Overlap,
    Period,
    PlannedMeeting,
    Report,
    Source,
    SubjectReport,
    Totals,
    Who,
    report_path,
)
from iscg_bot.domain.report_overlaps import closest_overlaps
from iscg_bot.domain.report_read_ahead import ReadAhead
from iscg_bot.domain.similarity import Text

if TYPE_CHECKING:
    from iscg_bot.storage import ActionItem, Meeting, MeetingSession, RoleAssignment, Subject, UnitOfWork

# Each advisory group advises one Sector: its report covers the subjects that Sector works on.
SECTOR_OF_GROUP = {"TSAG": "ITU-T", "RAG": "ITU-R", "TDAG": "ITU-D"}
SECTOR_ORDER = ("ITU-R", "ITU-T", "ITU-D", "GS")
PLANNED_COUNT = 5
# A report lists the closest possible duplications only: a reader checks each one by hand, and a group whose
# subjects all use the same words would otherwise get thousands of rows.
MOST_OVERLAPS = 100
PLANNED_HORIZON = timedelta(days=400)  # how far ahead planned meetings are looked for
ALL_GROUPS = "TSAG, RAG and TDAG"


class ReportError(DomainError):
    """A report that cannot be compiled as asked; the message is one sentence for the person who asked."""


def period_bounds(period: Period, zone: str) -> tuple[datetime, datetime]:
    """The period as UTC instants [start, end): from midnight of its first day to midnight after its last,
    in `zone`."""
    tz = ZoneInfo(zone)
    start = datetime.combine(period.first, time(0), tz).astimezone(UTC)
    end = datetime.combine(period.last + timedelta(days=1), time(0), tz).astimezone(UTC)
    return start, end


def year(value: int) -> Period:
    """The calendar year `value` as a period."""
    return Period(date(value, 1, 1), date(value, 12, 31))


async def compile_report(
    uow: UnitOfWork,
    *,
    period: Period,
    subject_slug: str | None = None,
    advisory_group: str | None = None,
    now: datetime,
    base_url: str | None = None,
    default_zone: str = "Europe/Zurich",
    progress: Callable[[int, int], None] | None = None,
) -> Report:
    """Compile the report on `period` for one subject (`subject_slug`), for the subjects relevant to one
    advisory group, or for every subject (neither given).

    Scope rules:
    - one subject: that subject, archived or not;
    - all subjects: every subject; an archived one only if it held a meeting in the period;
    - an advisory group (TSAG ↔ ITU-T, RAG ↔ ITU-R, TDAG ↔ ITU-D): the subjects that had a focal point of
      that group's Sector at some time in the period (in the subject's zone), which is how the ISCG asks
      each Sector to take part in a subject; archived ones, again, only if they held a meeting.

    Raises ReportError for an unknown subject or advisory group, both given, or an empty period.
    `progress(done, total)` is called after each subject. Reads only: the caller's transaction is left as
    it was.
    """
    if period.last < period.first:
        raise ReportError(
            _(
                "The period ends ({last}) before it starts ({first}).",
                last=period.last.isoformat(),
                first=period.first.isoformat(),
            )
        )
    if subject_slug is not None and advisory_group is not None:
        raise ReportError(_("Report on one subject or on one advisory group's subjects, not both."))
    scope = await _scope(uow, period, subject_slug, advisory_group)
    subjects, meeting_texts = await _subject_reports(
        uow, scope, period, now=now, base_url=base_url or "", default_zone=default_zone, progress=progress
    )
    key_issues = tuple(
        sorted((n for s in subjects for n in s.key_issues), key=lambda n: (n.subject_slug, n.at))
    )
    shown, found = overlaps(subjects, meeting_texts, most=MOST_OVERLAPS)
    # The web serves a year's reports only: a range has no web copy to point to.
    web_copy = None
    if base_url and period == year(period.first.year):
        web_copy = base_url.rstrip("/") + report_path(period.first.year, advisory_group or subject_slug)
    return Report(
        title=scope.title,
        period=period,
        scope=scope.name,
        generated_at=now,
        subjects=tuple(subjects),
        totals=_totals(subjects),
        key_issues=key_issues,
        overlaps=shown,
        base_url=web_copy,
        overlaps_found=found,
    )


# ---- which subjects --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Scope:
    """The subjects a report may cover, before each is checked against the period (see `compile_report`)."""

    name: str  # the report's scope: a subject's title, an advisory group or "all subjects"
    title: str
    candidates: list[Subject]
    sector: str | None  # an advisory group's Sector: only subjects with one of its focal points count
    one_subject: bool  # asked by slug: shown even when archived and idle


async def _scope(
    uow: UnitOfWork, period: Period, subject_slug: str | None, advisory_group: str | None
) -> _Scope:
    """The scope asked for; ReportError for an unknown subject or advisory group."""
    if subject_slug is not None:
        subject = await uow.subjects.by_slug(subject_slug.strip()) or await uow.subjects.by_slug(
            subject_slug.strip().lower()
        )
        if subject is None:
            raise ReportError(_('There is no subject "{slug}".', slug=subject_slug[:40]))
        title = f"ISCG report — {subject.title} — {period.label}"
        return _Scope(subject.title, title, [subject], sector=None, one_subject=True)
    candidates = await uow.subjects.list(include_archived=True)
    if advisory_group is None:
        title = f"ISCG report to {ALL_GROUPS} — {period.label}"
        return _Scope(ALL_SUBJECTS, title, candidates, sector=None, one_subject=False)
    group = advisory_group.strip().upper()
    if group not in SECTOR_OF_GROUP:
        raise ReportError(
            _('"{group}" is not an advisory group: use TSAG, RAG or TDAG.', group=advisory_group[:20])
        )
    title = f"ISCG report to {group} — {period.label}"
    return _Scope(group, title, candidates, sector=SECTOR_OF_GROUP[group], one_subject=False)


async def _subject_reports(
    uow: UnitOfWork,
    scope: _Scope,
    period: Period,
    *,
    now: datetime,
    base_url: str,
    default_zone: str,
    progress: Callable[[int, int], None] | None,
) -> tuple[list[SubjectReport], list[Text]]:
    """The report of each subject in scope that counts, and its meetings' texts for the duplication check."""
    candidates = scope.candidates
    roles: dict[int | None, list[RoleAssignment]] = {}
    for assignment in await uow.reports.subject_roles([s.id for s in candidates]):
        roles.setdefault(assignment.subject_id, []).append(assignment)

    zones = {subject.id: subject.timezone or default_zone for subject in candidates}
    bounds = {subject.id: period_bounds(period, zones[subject.id]) for subject in candidates}
    relevant = [
        subject
        for subject in candidates
        if scope.sector is None
        or any(
            a.role == "focal_point" and a.sector == scope.sector and _held_during(a, *bounds[subject.id])
            for a in roles.get(subject.id, [])
        )
    ]
    read = await ReadAhead.load(uow, relevant, bounds)

    subjects: list[SubjectReport] = []
    meeting_texts: list[Text] = []
    chosen = {subject.id for subject in relevant}
    for done, subject in enumerate(candidates, start=1):
        if subject.id in chosen:
            report, texts = await _subject_report(
                uow,
                read,
                subject,
                roles.get(subject.id, []),
                period,
                bounds[subject.id],
                zones[subject.id],
                now=now,
                base_url=base_url,
            )
            if not subject.archived or report.held or scope.one_subject:
                subjects.append(report)
                meeting_texts += texts
        if progress is not None:
            progress(done, len(candidates))
    return subjects, meeting_texts


# ---- one subject -----------------------------------------------------------------------------------------


async def _subject_report(
    uow: UnitOfWork,
    read: ReadAhead,
    subject: Subject,
    assignments: list[RoleAssignment],
    period: Period,
    bounds: tuple[datetime, datetime],
    zone: str,
    *,
    now: datetime,
    base_url: str,
) -> tuple[SubjectReport, list[Text]]:
    """One subject's part of the report, and its meetings' texts (held and planned) for the duplication
    check."""
    start, end = bounds
    held = await _held(read, subject, zone, base_url)
    planned, planned_meetings = await _planned(uow, subject, after=max(end, now))
    texts = [
        _meeting_text(subject.slug, meeting)
        for meeting in sorted({**held.meetings, **planned_meetings}.values(), key=lambda m: m.id)
    ]

    actions = read.actions[subject.id]
    people = _people(assignments, start, end)
    owners = [a.owner for a in actions]
    names = await uow.reports.names([who for _role, who in people] + owners, [subject.room_id])
    last_counted = min(period.last, today_in(zone, now))
    rows = [_action_row(a, zone, end, last_counted, names, read.origins) for a in actions]

    def who(matrix_id: str) -> Who:
        return Who(matrix_id, names.get(matrix_id))

    report = SubjectReport(
        slug=subject.slug,
        title=subject.title,
        description=subject.description or None,
        zone=zone,
        coordinators=tuple(who(m) for role, m in people if role == "coordinator"),
        focal_points=tuple(FocalPoint(role, who(m)) for role, m in people if role != "coordinator"),
        held=held.held,
        planned=planned,
        decisions=held.decisions,
        key_issues=held.key_issues,
        actions_opened=tuple(
            row for row, item in zip(rows, actions, strict=True) if start <= item.created_at < end
        ),
        actions_closed=tuple(
            row for row, item in zip(rows, actions, strict=True) if _closed_during(item, start, end)
        ),
        actions_overdue=tuple(row for row in rows if row.overdue),
    )
    return report, texts


@dataclass(frozen=True)
class _Held:
    """A subject's meetings held in the period, as their minutes say them."""

    held: tuple[HeldMeeting, ...]
    decisions: tuple[Noted, ...]
    key_issues: tuple[Noted, ...]
    meetings: dict[int, Meeting]  # the scheduled meetings the sessions were bound to, by id


async def _held(read: ReadAhead, subject: Subject, zone: str, base_url: str) -> _Held:
    """The subject's ended minutes sessions that started in its period, read through
    `minutes_document.build` (with what it needs read ahead, see `ReadAhead`)."""
    sessions = read.sessions[subject.id]
    held: list[HeldMeeting] = []
    decisions: list[Noted] = []
    key_issues: list[Noted] = []
    held_meetings = {s.meeting_id: read.meetings[s.meeting_id] for s in sessions if s.meeting_id is not None}
    minutes = read.minutes
    for session in sessions:
        assert session.ended_at is not None  # `ended_sessions` are the ended ones
        document = await minutes_document.build(minutes, session, zone=zone, base_url=base_url)
        held.append(
            HeldMeeting(
                reference=session.reference,
                title=session.title,
                started_at=session.started_at,
                ended_at=session.ended_at,
                attendance=len(document.attendance),
                regrets=len(document.regrets),
                minutes_status=session.minutes_status,
                minutes_url=document.page_url,
            )
        )
        for topic in document.topics:
            for item in topic.items:
                if item.tag in ("agreed", "keyissue"):
                    noted = Noted(item.text, subject.slug, subject.title, session.reference, item.time)
                    (decisions if item.tag == "agreed" else key_issues).append(noted)
    return _Held(tuple(held), tuple(decisions), tuple(key_issues), held_meetings)


def _closed_during(item: ActionItem, start: datetime, end: datetime) -> bool:
    """Whether the action item was closed (done or dropped) in [start, end)."""
    return item.status in ("done", "dropped") and item.closed_at is not None and start <= item.closed_at < end


def _active_span(assignment: RoleAssignment) -> tuple[datetime, datetime | None]:
    """When the assignment held: [start, end), end None while it still does."""
    start = max(assignment.assigned_at, assignment.term_start or assignment.assigned_at)
    ends = [t for t in (assignment.ended_at, assignment.term_end) if t is not None]
    return start, min(ends) if ends else None


def _held_during(assignment: RoleAssignment, start: datetime, end: datetime) -> bool:
    began, ended = _active_span(assignment)
    return began < end and (ended is None or ended > start)


def _people(assignments: list[RoleAssignment], start: datetime, end: datetime) -> list[tuple[str, str]]:
    """(role or Sector, Matrix ID) of everyone who held a coordinator or focal point role in the period:
    coordinators first, then focal points by Sector; in each, those still in office at the end first, then
    by appointment."""
    found: dict[tuple[str, str], tuple[int, int, datetime, int]] = {}
    for a in assignments:
        if not _held_during(a, start, end):
            continue
        _started, ended = _active_span(a)
        place = "coordinator" if a.role == "coordinator" else (a.sector or "GS")
        rank = 0 if place == "coordinator" else 1 + _sector_rank(place)
        key = (rank, 0 if ended is None or ended >= end else 1, a.assigned_at, a.id)
        if (place, a.matrix_id) not in found or key < found[(place, a.matrix_id)]:
            found[(place, a.matrix_id)] = key
    return sorted(found, key=lambda place_who: found[place_who])


def _sector_rank(sector: str) -> int:
    return SECTOR_ORDER.index(sector) if sector in SECTOR_ORDER else len(SECTOR_ORDER)


async def _planned(
    uow: UnitOfWork, subject: Subject, *, after: datetime
) -> tuple[tuple[PlannedMeeting, ...], dict[int, Meeting]]:
    """The subject's next PLANNED_COUNT occurrences starting at or after `after`, and their meetings."""
    upcoming: list[tuple[datetime, int, PlannedMeeting, Meeting]] = []
    for meeting in await uow.meetings.upcoming_candidates(after_utc=after, subject_id=subject.id):
        found = [
            o
            for o in expand(meeting, after, after + PLANNED_HORIZON, include_cancelled=False)
            if o.start >= after
        ]
        for occurrence in found[:PLANNED_COUNT]:
            planned = PlannedMeeting(f"M{meeting.id}", meeting.title, occurrence.start, meeting.timezone)
            upcoming.append((occurrence.start, meeting.id, planned, meeting))
    upcoming.sort(key=lambda row: (row[0], row[1]))
    chosen = upcoming[:PLANNED_COUNT]
    return tuple(row[2] for row in chosen), {row[3].id: row[3] for row in chosen}


def _action_row(
    item: ActionItem,
    zone: str,
    end: datetime,
    last_counted: date,
    names: dict[str, str],
    origins: dict[int, MeetingSession],
) -> ActionRow:
    tz = ZoneInfo(zone)
    closed = (
        item.closed_at
        if item.status != "open" and item.closed_at is not None and item.closed_at < end
        else None
    )
    status = item.status if closed is not None else "open"
    origin = origins.get(item.session_id) if item.session_id is not None else None
    return ActionRow(
        label=f"A{item.id}",
        owner=Who(item.owner, names.get(item.owner)),
        text=item.text,
        due=item.due,
        status=status,
        opened_on=item.created_at.astimezone(tz).date(),
        closed_on=closed.astimezone(tz).date() if closed is not None else None,
        overdue=status == "open" and item.due is not None and item.due < last_counted,
        origin=origin.reference if origin is not None else None,
    )


# ---- across subjects -------------------------------------------------------------------------------------


def _totals(subjects: list[SubjectReport]) -> Totals:
    minutes = sum(h.duration_minutes for s in subjects for h in s.held)
    return Totals(
        subjects=len(subjects),
        meetings_held=sum(len(s.held) for s in subjects),
        meeting_hours=round(minutes / 60, 2),
        attendance=sum(h.attendance for s in subjects for h in s.held),
        decisions=sum(len(s.decisions) for s in subjects),
        key_issues=sum(len(s.key_issues) for s in subjects),
        actions_opened=sum(len(s.actions_opened) for s in subjects),
        actions_closed=sum(len(s.actions_closed) for s in subjects),
        actions_overdue=sum(len(s.actions_overdue) for s in subjects),
    )


def _reference_key(reference: str) -> tuple[str, int]:
    """ "M12" → ("M", 12): M9 before M12."""
    digits = reference[1:]
    return reference[:1], int(digits) if digits.isdigit() else 0


def _meeting_text(slug: str, meeting: Meeting) -> Text:
    """A meeting as compared for duplication: its title and its agenda."""
    agenda = "; ".join(item.text for item in meeting.agenda)
    text = f"{meeting.title} — {agenda}" if agenda else meeting.title
    return Text(slug, (slug, "meeting", _reference_key(f"M{meeting.id}"), text), text)


def overlaps(
    subjects: list[SubjectReport], meeting_texts: list[Text], most: int
) -> tuple[tuple[Overlap, ...], int]:
    """Possible duplication: meetings (title and agenda; those held in the period and those planned) and
    decisions of different subjects whose texts are similar (`iscg_bot.domain.similarity`) — the `most`
    closest pairs, and how many were found."""
    texts = {t.key: t for t in meeting_texts}
    for subject in subjects:
        for decision in subject.decisions:
            key = (subject.slug, "decision", _reference_key(decision.meeting), decision.text)
            texts.setdefault(key, Text(subject.slug, key, decision.text))

    def source(text: Text) -> Source:
        slug, kind, (letter, number), _rest = text.key
        return Source(slug, kind, text.text, f"{letter}{number}")

    matches, found = closest_overlaps(texts.values(), most)
    return tuple(Overlap(source(m.first), source(m.second), m.score, m.shared) for m in matches), found
