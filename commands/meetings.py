"""Scheduling the subjects' electronic meetings: schedule, list, show, move, cancel, agenda, RSVP.

Answers come by `!rsvp` or by reacting ✅ ❌ ❔ on the announcement (the reply to `!meeting schedule`, queued
with the purpose `announcement:M<id>`); removing the reaction withdraws the answer it gave.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
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
from iscg_bot.core.timeshow import span
from iscg_bot.domain import meetings
from iscg_bot.domain.meetings import MeetingError, ScheduleRequest, meeting_label
from iscg_bot.domain.recurrence import RecurrenceError, Repeat, describe, from_rrule, parse_repeat
from iscg_bot.domain.timeparse import DEFAULT_DURATION
from iscg_bot.storage.models import Meeting

router = Router()
RSVP_REACTIONS = {"✅": "yes", "❌": "no", "❔": "maybe", "❓": "maybe"}
ANNOUNCEMENT = "announcement:"  # + the meeting label: the purpose of a meeting's announcement


def announcement_purpose(meeting_id: int) -> str:
    return ANNOUNCEMENT + meeting_label(meeting_id)


class MeetingType(AsyncWordType):
    """`M12`: a meeting of this deployment, loaded with its agenda and overrides."""

    name = "a meeting ID like M12"

    async def parse(self, words: Sequence[str], ctx: Context) -> tuple[Meeting, int]:
        try:
            meeting_id = meetings.parse_meeting_ref(words[0])
        except MeetingError as error:
            raise UsageError(str(error)) from None
        meeting = await ctx.uow.meetings.get(meeting_id)
        if meeting is None:
            raise UsageError(f"There is no meeting {meeting_label(meeting_id)}.", show_usage=False)
        return meeting, 1


class RepeatType:
    """`every 2 weeks until 2027-06-30`: the words after `every` (or a whole form value)."""

    name = "a repetition like every 2 weeks until 2027-06-30"

    def parse(self, words: Sequence[str], ctx: Context) -> tuple[Repeat, int]:
        return self.parse_text("every " + " ".join(words), ctx), len(words)

    def parse_text(self, value: str, ctx: Context) -> Repeat:
        try:
            return parse_repeat(value.strip())
        except RecurrenceError as error:
            raise UsageError(str(error)) from None


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
        return text(f"“{c.meeting.summary}” {span(c.start, c.end, 'UTC')} — {c.why}")
    when = span(c.start, c.end, c.meeting.timezone)
    return code(meeting_label(c.meeting.id)) + text(f" “{c.meeting.title}” {when} — {c.why}")


def _refused_for_conflicts(what: str, conflicts: list[meetings.Conflict]) -> Refusal:
    return Refusal(
        lines(
            [
                text(f"{what} not done: it overlaps"),
                _conflicts(conflicts),
                text("Add ") + code("force") + text(" to do it anyway."),
            ]
        )
    )


async def _summary(ctx: Context, meeting: Meeting, *, heading: Rich) -> Rich:
    zones = await _reader_zones(ctx)
    subject = await ctx.uow.subjects.get(meeting.subject_id) if meeting.subject_id else None
    if subject is not None:
        zones.append(subject.timezone)  # a meeting set in another zone is still shown in the subject's
    rows: list[Rich | str] = [heading]
    upcoming = meetings.next_occurrence(meeting, ctx.now)
    if meeting.status == "cancelled":
        rows.append(italic("Cancelled" + (f": {meeting.cancel_reason}" if meeting.cancel_reason else ".")))
    if upcoming is not None:
        rows.append(text(span(upcoming.start, upcoming.end, meeting.timezone, extra_zones=zones)))
    elif meeting.status != "cancelled":
        rows.append(italic("No meeting to come."))
    if meeting.rrule:
        rows.append(text("Repeats " + describe(from_rrule(meeting.rrule, zone=meeting.timezone))))
    if meeting.link:
        rows.append(text("Join: ") + link(meeting.link))
    if meeting.agenda:
        rows.append(lines([text("Agenda:"), bullets(text(item.text) for item in meeting.agenda)]))
    return lines(rows)


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
    subject = await subject_or_group(ctx, "Group-wide meetings are scheduled in the group room.")
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
    except (MeetingError, RecurrenceError) as error:
        raise UsageError(str(error)) from None
    if outcome.meeting is None:
        raise _refused_for_conflicts("Scheduling", outcome.conflicts)
    meeting = outcome.meeting
    await mail.queue_invitation(ctx.uow, ctx.services.config.mail, meeting, method="REQUEST", at=ctx.now)
    heading = text("Scheduled ") + code(meeting_label(meeting.id)) + ": " + bold(meeting.title)
    message = await _summary(ctx, meeting, heading=heading)
    rsvp = code(f"{ctx.prefix}rsvp {meeting_label(meeting.id)} yes|no|maybe")
    message = lines([message, text("Will you come? ") + rsvp])
    if outcome.conflicts:
        message = lines([message, text("Scheduled despite overlapping:"), _conflicts(outcome.conflicts)])
    await ctx.reply(message, purpose=announcement_purpose(meeting.id))


@router.command("meeting list")
async def meeting_list(ctx: Context, which: Literal["past", "all"] | None = None) -> None:
    """List this subject's meetings to come (in the group room: every subject's, each named); `past` or
    `all` too.

    Example: !meeting list past
    """
    subject = await subject_or_group(ctx, "Group-wide meetings are listed in the group room.")
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
        await ctx.reply("No meetings " + ("held in the past year." if which == "past" else "to come."))
        return
    title = {"past": "Meetings held", "all": "Meetings"}.get(which or "", "Meetings to come")
    await ctx.reply(lines([text(f"{title}:"), bullets(rows)]))


GROUP_WIDE = "ISCG-wide"  # what the group room's list calls a meeting of no subject


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
    row = code(meeting_label(meeting.id)) + " " + text(span(start, end, meeting.timezone)) + " — "
    if whose is not None:
        row += text(f"{whose.get(meeting.subject_id, '?') if meeting.subject_id else GROUP_WIDE}: ")
    row += text(meeting.title)
    if meeting.rrule:
        row += italic(" (series" + (", last held" if past else "") + ")")
    if meeting.status == "cancelled":
        row += italic(" (cancelled)")
    return row


@router.command("meeting show")
async def meeting_show(ctx: Context, meeting: MeetingArg) -> None:
    """Show a meeting: when (in the room's time zones), the join link, the agenda and who is coming.

    Example: !meeting show M12
    """
    heading = code(meeting_label(meeting.id)) + ": " + bold(meeting.title)
    message = await _summary(ctx, meeting, heading=heading)
    answers = await ctx.uow.rsvps.for_meeting(meeting.id)
    if answers:
        names = await display_names(ctx.uow, (a.matrix_id for a in answers), ctx.room_id)
        by_answer = {
            label: [person(a.matrix_id, names[a.matrix_id]) for a in answers if a.answer == answer]
            for answer, label in (("yes", "Coming"), ("maybe", "Maybe"), ("no", "Regrets"))
        }
        rows = [text(f"{label}: ") + join(who, ", ") for label, who in by_answer.items() if who]
        message = lines([message, *rows])
    changed = [
        o for o in meetings.expand(meeting, ctx.now, ctx.now + timedelta(days=366)) if o.moved or o.cancelled
    ]
    if changed:
        notes = [
            text(o.original_local.strftime("%a %-d %b") + ": ")
            + (
                text("cancelled" + (f" ({o.reason})" if o.reason else ""))
                if o.cancelled
                else text("moved to " + span(o.start, o.end, meeting.timezone))
            )
            for o in changed
        ]
        message = lines([message, text("Changes:"), bullets(notes)])
    await ctx.reply(message)


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
        raise _refused_for_conflicts("Moving", outcome.conflicts)
    await mail.queue_invitation(
        ctx.uow, ctx.services.config.mail, meeting, method="REQUEST", at=ctx.now, occurrence=date_
    )
    what = f"The {date_.isoformat()} meeting of " if date_ else ""
    heading = text(f"{what}") + code(meeting_label(meeting.id)) + text(" moved: ") + bold(meeting.title)
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
    await mail.queue_invitation(
        ctx.uow, ctx.services.config.mail, meeting, method="CANCEL", at=ctx.now, occurrence=date_
    )
    what = f"The {date_.isoformat()} meeting of " if date_ else ""
    message = text(what) + code(meeting_label(meeting.id)) + text(f" “{meeting.title}” is cancelled")
    await ctx.reply(message + (text(f": {' '.join(reason.split())}") if reason else text(".")))


@router.command("meeting agenda", allow=MEETING_CHANGERS)
async def meeting_agenda(ctx: Context, meeting: MeetingArg, verb: Literal["add"], item: Rest) -> None:
    """Add an item to a meeting's agenda.

    Example: !meeting agenda M12 add Joint workshop planning
    """
    await meetings.add_agenda_item(ctx.uow, meeting, item, by=ctx.sender, at=ctx.now)
    fresh = await ctx.uow.meetings.get(meeting.id)
    assert fresh is not None  # just read as `meeting`, in this transaction
    agenda = bullets(text(i.text) for i in fresh.agenda)
    await ctx.reply(lines([text("Agenda of ") + code(meeting_label(meeting.id)) + ":", agenda]))


@router.command("rsvp")
async def rsvp(ctx: Context, meeting: MeetingArg, answer: Literal["yes", "no", "maybe"]) -> None:
    """Say whether you will attend a meeting; `no` sends your regrets.

    Example: !rsvp M12 yes
    """
    if meeting.status == "cancelled":
        raise Refusal(f"{meeting_label(meeting.id)} was cancelled.")
    await ctx.uow.rsvps.set(meeting.id, ctx.sender, answer, via="command", at=ctx.now)
    said = {"yes": "you are coming to", "no": "your regrets are noted for", "maybe": "you may come to"}[
        answer
    ]
    await ctx.reply(text(f"Noted: {said} ") + code(meeting_label(meeting.id)) + text(f" “{meeting.title}”."))


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
