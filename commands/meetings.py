"""Scheduling the subjects' electronic meetings: schedule, list, show, move, cancel, agenda, RSVP.

Answers come by `!rsvp` or by reacting ✅ ❌ ❔ on the announcement (the reply to `!meeting schedule`, queued
with the purpose `announcement:M<id>`); removing the reaction withdraws the answer it gave.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Annotated, Literal

from iscg_bot.calendar import mail
from iscg_bot.chat.arguments import AsyncWordType
from iscg_bot.chat.events import Reaction, Redaction
from iscg_bot.chat.policy import MEETING_CHANGERS, SUBJECT_MANAGERS
from iscg_bot.chat.router import Context, Flag, Keyword, Refusal, Rest, Router, UsageError
from iscg_bot.chat.time_arguments import DateArg, DurationArg, WhenArg
from iscg_bot.commands.place import subject_or_group
from iscg_bot.commands.render import display_names
from iscg_bot.core.formatting import Rich, bold, bullets, code, italic, join, lines, link, person, text
from iscg_bot.core.i18n import _, lazy, speaking, tr
from iscg_bot.core.timeshow import day_label, span
from iscg_bot.domain import meetings
from iscg_bot.domain.meetings import MeetingError, ScheduleRequest, meeting_label
from iscg_bot.domain.recurrence import Occurrence, RecurrenceError, Repeat, from_rrule, parse_repeat, repeats
from iscg_bot.domain.timeparse import DEFAULT_DURATION
from iscg_bot.storage.models import Meeting

router = Router()
RSVP_REACTIONS = {"✅": "yes", "❌": "no", "❔": "maybe", "❓": "maybe"}
ANNOUNCEMENT = "announcement:"  # + the meeting label: the purpose of a meeting's announcement


def announcement_purpose(meeting_id: int) -> str:
    return ANNOUNCEMENT + meeting_label(meeting_id)


class MeetingType(AsyncWordType):
    """`M12`: a meeting of this deployment, loaded with its agenda and overrides."""

    name = lazy("a meeting ID like M12")

    async def parse(self, words: Sequence[str], ctx: Context) -> tuple[Meeting, int]:
        try:
            meeting_id = meetings.parse_meeting_ref(words[0])
        except MeetingError as error:
            raise UsageError(str(error)) from None
        meeting = await ctx.uow.meetings.get(meeting_id)
        if meeting is None:
            raise UsageError(
                _("There is no meeting {label}.", label=meeting_label(meeting_id)), show_usage=False
            )
        return meeting, 1


class RepeatType:
    """`every 2 weeks until 2027-06-30`: the words after `every` (or a whole form value)."""

    name = lazy("a repetition like every 2 weeks until 2027-06-30")

    def parse(self, words: Sequence[str], ctx: Context) -> tuple[Repeat, int]:
        return self.parse_text("every " + " ".join(words), ctx), len(words)

    def parse_text(self, value: str, ctx: Context) -> Repeat:
        try:
            return parse_repeat(value.strip())
        except RecurrenceError as error:
            raise UsageError(error.shown) from None


MeetingArg = Annotated[Meeting, MeetingType()]
RepeatArg = Annotated[Repeat, RepeatType()]


async def _reader_zones(ctx: Context) -> list[str]:
    """The zones of the room's members who set one (and the sender's), for showing times to everyone."""
    members = await ctx.uow.members.joined(ctx.room_id)
    ids = [m.matrix_id for m in members if m.membership == "join"] + [ctx.sender]
    people = await ctx.uow.people.many(ids)
    return sorted({p.timezone for p in people.values() if p.timezone})


def _conflicts(conflicts: list[meetings.Conflict]) -> Rich:
    return bullets(_conflict(c) for c in conflicts)


def _conflict(c: meetings.Conflict) -> Rich:
    if not isinstance(c.meeting, Meeting):  # no M<n>: an event of an imported calendar
        when = span(c.start, c.end, "UTC")
        return tr("“{title}” {when} — {why}", title=c.meeting.summary, when=when, why=c.why)
    when = span(c.start, c.end, c.meeting.timezone)
    label = code(meeting_label(c.meeting.id))
    return tr("{label} “{title}” {when} — {why}", label=label, title=c.meeting.title, when=when, why=c.why)


def _refused_for_conflicts(heading: str, conflicts: list[meetings.Conflict]) -> Refusal:
    """`heading`: "Scheduling not done: it overlaps", translated."""
    return Refusal(
        lines([text(heading), _conflicts(conflicts), tr("Add {force} to do it anyway.", force=code("force"))])
    )


async def _summary(ctx: Context, meeting: Meeting, *, heading: Rich) -> Rich:
    zones = await _reader_zones(ctx)
    subject = await ctx.uow.subjects.get(meeting.subject_id) if meeting.subject_id else None
    if subject is not None:
        zones.append(subject.timezone)  # a meeting set in another zone is still shown in the subject's
    rows: list[Rich | str] = [heading]
    upcoming = meetings.next_occurrence(meeting, ctx.now)
    if meeting.status == "cancelled":
        reason = meeting.cancel_reason
        rows.append(italic(_("Cancelled: {reason}", reason=reason) if reason else _("Cancelled.")))
    if upcoming is not None:
        rows.append(text(span(upcoming.start, upcoming.end, meeting.timezone, extra_zones=zones)))
    elif meeting.status != "cancelled":
        rows.append(italic(_("No meeting to come.")))
    if meeting.rrule:
        rows.append(text(repeats(from_rrule(meeting.rrule, zone=meeting.timezone))))
    if meeting.link:
        rows.append(tr("Join: {link}", link=link(meeting.link)))
    if meeting.agenda:
        rows.append(lines([text(_("Agenda:")), bullets(text(item.text) for item in meeting.agenda)]))
    return lines(rows)


async def _invite(
    ctx: Context, meeting: Meeting, method: Literal["REQUEST", "CANCEL"], day: date | None = None
) -> None:
    """Queue the meeting's invitation (or its cancellation) for the mailing list, when mail is on: in the
    subject's language, else the group's (whoever changed it)."""
    config = ctx.services.config
    await mail.queue_invitation(
        ctx.uow,
        config.mail,
        meeting,
        method=method,
        at=ctx.now,
        occurrence=day,
        default_language=config.bot.default_language,
    )


@router.command("meeting schedule", allow=SUBJECT_MANAGERS)
async def meeting_schedule(
    ctx: Context,
    title: str,
    when: WhenArg,
    duration: Annotated[DurationArg | None, Keyword("for")] = None,
    repeat: Annotated[RepeatArg | None, Keyword("every")] = None,
    join_link: Annotated[str | None, Keyword("link")] = None,
    force: Flag = False,
    agenda: list[str] | None = None,
) -> None:
    """Schedule a meeting of this room's subject (in the group room: a group-wide meeting).

    Give the title in quotes; times without a zone are read in your own zone (see !tz). As a form, one
    `key: value` a line after the command: title, when, duration, repeat, link, and agenda with `- item`
    lines.

    Example: !meeting schedule "Coordination call" 2026-12-03 14:00 Europe/Zurich for 90m every 2 weeks
    """
    subject = await subject_or_group(ctx, lazy("Group-wide meetings are scheduled in the group room."))
    request = ScheduleRequest(
        title=title,
        when=when,
        duration=duration or DEFAULT_DURATION,
        repeat=repeat,
        link=join_link,
        agenda=tuple(agenda or ()),
        force=force,
    )
    try:
        outcome = await meetings.schedule(
            ctx.uow,
            request,
            subject=subject,
            room_id=ctx.room_id,
            by=ctx.sender,
            at=ctx.now,
            default_zone=ctx.services.config.bot.default_timezone,
            imported=ctx.services.imported,
        )
    except RecurrenceError as error:
        raise UsageError(error.shown) from None
    except MeetingError as error:
        raise UsageError(str(error)) from None
    if outcome.meeting is None:
        raise _refused_for_conflicts(_("Scheduling not done: it overlaps"), outcome.conflicts)
    meeting = outcome.meeting
    await _invite(ctx, meeting, "REQUEST")
    with speaking(ctx.room_language):  # the announcement: the whole room answers it
        heading = tr(
            "Scheduled {label}: {title}", label=code(meeting_label(meeting.id)), title=bold(meeting.title)
        )
        message = await _summary(ctx, meeting, heading=heading)
        rsvp = code(f"{ctx.prefix}rsvp {meeting_label(meeting.id)} yes|no|maybe")
        message = lines([message, tr("Will you come? {command}", command=rsvp)])
        if outcome.conflicts:
            message = lines(
                [message, text(_("Scheduled despite overlapping:")), _conflicts(outcome.conflicts)]
            )
        await ctx.reply(message, purpose=announcement_purpose(meeting.id))


@router.command("meeting list")
async def meeting_list(ctx: Context, which: Literal["past", "all"] | None = None) -> None:
    """List this subject's meetings to come (in the group room: every subject's, each named); `past` or
    `all` too.

    Example: !meeting list past
    """
    subject = await subject_or_group(ctx, lazy("Group-wide meetings are listed in the group room."))
    subject_id = subject.id if subject is not None else None
    # The group room lists every subject's meetings: each row says whose it is.
    whose = await _subject_slugs(ctx) if subject is None else None
    rows: list[Rich] = []
    if which in (None, "all"):
        upcoming_meetings = await ctx.uow.meetings.upcoming_candidates(
            after_utc=ctx.now, subject_id=subject_id, include_cancelled=which == "all"
        )
        for meeting in upcoming_meetings:
            upcoming = meetings.next_occurrence(meeting, ctx.now)
            if upcoming is not None:
                rows.append(_row(meeting, upcoming.start, upcoming.end, whose=whose))
    if which in ("past", "all"):
        since = ctx.now - timedelta(days=366)
        for meeting in await ctx.uow.meetings.past_candidates(before_utc=ctx.now, subject_id=subject_id):
            held = [
                o
                for o in meetings.expand(meeting, since, ctx.now, include_cancelled=False)
                if o.end <= ctx.now
            ]
            if held:
                rows.append(_row(meeting, held[-1].start, held[-1].end, past=True, whose=whose))
    if not rows:
        await ctx.reply(
            _("No meetings held in the past year.") if which == "past" else _("No meetings to come.")
        )
        return
    title = {"past": _("Meetings held:"), "all": _("Meetings:")}.get(which or "") or _("Meetings to come:")
    await ctx.reply(lines([text(title), bullets(rows)]))


GROUP_WIDE = lazy("ISCG-wide")  # what the group room's list calls a meeting of no subject


async def _subject_slugs(ctx: Context) -> dict[int, str]:
    """Every subject's slug by ID, archived ones included (their past meetings still list)."""
    return {s.id: s.slug for s in await ctx.uow.subjects.list(include_archived=True)}


def _row(
    meeting: Meeting,
    start: datetime,
    end: datetime,
    *,
    past: bool = False,
    whose: dict[int, str] | None = None,
) -> Rich:
    """`M1 <when> — Call`; with `whose` (the group room's list), `M1 <when> — cop: Call`."""
    label, when = code(meeting_label(meeting.id)), span(start, end, meeting.timezone)
    if whose is None:
        row = tr("{label} {when} — {title}", label=label, when=when, title=meeting.title)
    else:
        subject = whose.get(meeting.subject_id, "?") if meeting.subject_id else _(GROUP_WIDE)
        row = tr(
            "{label} {when} — {subject}: {title}",
            label=label,
            when=when,
            subject=subject,
            title=meeting.title,
        )
    if meeting.rrule:
        row += italic(" " + (_("(series, last held)") if past else _("(series)")))
    if meeting.status == "cancelled":
        row += italic(" " + _("(cancelled)"))
    return row


@router.command("meeting show")
async def meeting_show(ctx: Context, meeting: MeetingArg) -> None:
    """Show a meeting: when (in the room's time zones), the join link, the agenda and who is coming.

    Example: !meeting show M12
    """
    heading = tr("{label}: {title}", label=code(meeting_label(meeting.id)), title=bold(meeting.title))
    message = await _summary(ctx, meeting, heading=heading)
    answers = await ctx.uow.rsvps.for_meeting(meeting.id)
    if answers:
        names = await display_names(ctx.uow, (a.matrix_id for a in answers), ctx.room_id)
        by_answer = {
            label: [person(a.matrix_id, names[a.matrix_id]) for a in answers if a.answer == answer]
            for answer, label in (("yes", _COMING), ("maybe", _MAYBE), ("no", _REGRETS))
        }
        rows = [tr(label, people=join(who, ", ")) for label, who in by_answer.items() if who]
        message = lines([message, *rows])
    changed = [
        o for o in meetings.expand(meeting, ctx.now, ctx.now + timedelta(days=366)) if o.moved or o.cancelled
    ]
    if changed:
        notes = [_change(o, meeting.timezone) for o in changed]
        message = lines([message, text(_("Changes:")), bullets(notes)])
    await ctx.reply(message)


_COMING = lazy("Coming: {people}")
_MAYBE = lazy("Maybe: {people}")
_REGRETS = lazy("Regrets: {people}")


def _change(o: Occurrence, zone: str) -> Rich:
    """One changed occurrence of a series: `Thu 24 Dec: cancelled (holidays)`, `…: moved to <when>`."""
    day = day_label(o.original_local.date(), year=False)
    if not o.cancelled:
        return tr("{day}: moved to {when}", day=day, when=span(o.start, o.end, zone))
    if o.reason:
        return tr("{day}: cancelled ({reason})", day=day, reason=o.reason)
    return tr("{day}: cancelled", day=day)


@router.command("meeting move", allow=MEETING_CHANGERS)
async def meeting_move(
    ctx: Context,
    meeting: MeetingArg,
    when: WhenArg,
    duration: Annotated[DurationArg | None, Keyword("for")] = None,
    date_: Annotated[DateArg | None, Keyword("occurrence")] = None,
    force: Flag = False,
) -> None:
    """Move a meeting, or with `occurrence <date>` just that day's meeting of a series.

    Example: !meeting move M12 2026-12-10 15:00 for 60m
    """
    subject = await ctx.uow.subjects.get(meeting.subject_id) if meeting.subject_id else None
    outcome = await meetings.move(
        ctx.uow,
        meeting,
        when,
        subject=subject,
        duration=duration,
        occurrence=date_,
        force=force,
        at=ctx.now,
        imported=ctx.services.imported,
    )
    if outcome.meeting is None:
        raise _refused_for_conflicts(_("Moving not done: it overlaps"), outcome.conflicts)
    await _invite(ctx, meeting, "REQUEST", date_)
    label, title = code(meeting_label(meeting.id)), bold(meeting.title)
    if date_:
        heading = tr(
            "The {date} meeting of {label} moved: {title}", date=date_.isoformat(), label=label, title=title
        )
    else:
        heading = tr("{label} moved: {title}", label=label, title=title)
    await ctx.reply(await _summary(ctx, meeting, heading=heading))


@router.command("meeting cancel", allow=MEETING_CHANGERS)
async def meeting_cancel(
    ctx: Context,
    meeting: MeetingArg,
    date_: Annotated[DateArg | None, Keyword("occurrence")] = None,
    reason: Rest | None = None,
) -> None:
    """Cancel a meeting, or with `occurrence <date>` one meeting of a series; a reason may follow.

    Example: !meeting cancel M12 occurrence 2026-12-24 holidays
    """
    await meetings.cancel(ctx.uow, meeting, occurrence=date_, reason=reason, at=ctx.now)
    await _invite(ctx, meeting, "CANCEL", date_)
    shown: dict[str, Rich | str] = {"label": code(meeting_label(meeting.id)), "title": meeting.title}
    if reason:
        shown["reason"] = " ".join(reason.split())
    if date_ and reason:
        message = tr(
            "The {date} meeting of {label} “{title}” is cancelled: {reason}", date=date_.isoformat(), **shown
        )
    elif date_:
        message = tr("The {date} meeting of {label} “{title}” is cancelled.", date=date_.isoformat(), **shown)
    elif reason:
        message = tr("{label} “{title}” is cancelled: {reason}", **shown)
    else:
        message = tr("{label} “{title}” is cancelled.", **shown)
    await ctx.reply(message)


@router.command("meeting agenda", allow=MEETING_CHANGERS)
async def meeting_agenda(ctx: Context, meeting: MeetingArg, verb: Literal["add"], item: Rest) -> None:
    """Add an item to a meeting's agenda.

    Example: !meeting agenda M12 add Joint workshop planning
    """
    await meetings.add_agenda_item(ctx.uow, meeting, item, by=ctx.sender, at=ctx.now)
    fresh = await ctx.uow.meetings.get(meeting.id)
    assert fresh is not None  # just read as `meeting`, in this transaction
    agenda = bullets(text(i.text) for i in fresh.agenda)
    await ctx.reply(lines([tr("Agenda of {label}:", label=code(meeting_label(meeting.id))), agenda]))


@router.command("rsvp")
async def rsvp(ctx: Context, meeting: MeetingArg, answer: Literal["yes", "no", "maybe"]) -> None:
    """Say whether you will attend a meeting; `no` sends your regrets.

    Example: !rsvp M12 yes
    """
    if meeting.status == "cancelled":
        raise Refusal(_("{label} was cancelled.", label=meeting_label(meeting.id)))
    await ctx.uow.rsvps.set(meeting.id, ctx.sender, answer, via="command", at=ctx.now)
    noted = {
        "yes": lazy("Noted: you are coming to {label} “{title}”."),
        "no": lazy("Noted: your regrets are noted for {label} “{title}”."),
        "maybe": lazy("Noted: you may come to {label} “{title}”."),
    }[answer]
    await ctx.reply(tr(noted, label=code(meeting_label(meeting.id)), title=meeting.title))


async def _announced_meeting(ctx: Context, event_id: str) -> Meeting | None:
    """The meeting whose announcement the bot sent as `event_id` in this room; None for any other event."""
    sent = await ctx.uow.outbox.by_remote_event(event_id)
    if sent is None or sent.room_id != ctx.room_id or not (sent.purpose or "").startswith(ANNOUNCEMENT):
        return None
    try:
        meeting_id = meetings.parse_meeting_ref((sent.purpose or "").removeprefix(ANNOUNCEMENT))
    except MeetingError:
        return None
    return await ctx.uow.meetings.get(meeting_id)


@router.on_reaction(keys=RSVP_REACTIONS)
async def rsvp_by_reaction(ctx: Context, reaction: Reaction) -> None:
    """✅ ❌ ❔ on a meeting's announcement answer it like `!rsvp`; the reaction is acknowledgement enough."""
    meeting = await _announced_meeting(ctx, reaction.relates_to)
    if meeting is None or meeting.status == "cancelled":
        return
    answer = RSVP_REACTIONS[reaction.key.replace("\ufe0f", "")]
    await ctx.uow.rsvps.set(
        meeting.id, ctx.sender, answer, via="reaction", reaction_event_id=reaction.event_id, at=ctx.now
    )


@router.on_event(Redaction)
async def rsvp_reaction_removed(ctx: Context, redaction: Redaction) -> None:
    """Removing the reaction (a redaction of it) withdraws the answer it gave, unless answered again since."""
    await ctx.uow.rsvps.withdraw_reaction(redaction.redacts)
