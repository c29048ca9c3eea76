"""`!meeting suggest`: the best times for a meeting of this room, for the people in it and its officers."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Annotated, TypeGuard
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from iscg_bot.chat.policy import SUBJECT_MANAGERS
from iscg_bot.chat.router import Context, Keyword, Refusal, Router, UsageError
from iscg_bot.chat.time_arguments import DateArg, DurationArg, reading_zone
from iscg_bot.commands.place import subject_or_group
from iscg_bot.commands.render import display_names
from iscg_bot.core.formatting import Rich, code, join, lines, person, text
from iscg_bot.core.i18n import _, lazy, n_, ntr, tr
from iscg_bot.core.timeshow import UTC_NAMES, clock, day_label, span
from iscg_bot.domain import meetings
from iscg_bot.domain.roles import RoleKind
from iscg_bot.domain.suggest import DAY_END, DAY_START, Attendee, Slot, rank_slots

if TYPE_CHECKING:
    from iscg_bot.storage.models import Subject

router = Router()
AREA = "meetings"  # `!help meetings` lists it with the other meeting commands

DEFAULT_DAYS = 14
MAX_DAYS = 60
MAX_DURATION = timedelta(hours=12)
PROPOSALS = 3


@router.command("meeting suggest", allow=SUBJECT_MANAGERS)
async def meeting_suggest(
    ctx: Context,
    duration: DurationArg,
    first: Annotated[DateArg | None, Keyword("between")] = None,
    last: Annotated[DateArg | None, Keyword("and")] = None,
) -> None:
    """Propose the three best times for a meeting: free, and inside everyone's working hours where possible.

    Counts the room's members and the subject's coordinator and focal points, each in their own time zone
    (see !tz) or, if they set none, in the subject's (in the group room: the group's default zone); working
    hours are 08:00–20:00 in each person's zone, weekdays first. The window is from tomorrow for 14
    days unless given (dates read in your zone, both days included, at most 60 days).

    Example: !meeting suggest 90m between 2026-12-01 and 2026-12-11
    """
    if duration > MAX_DURATION:
        raise UsageError(_("A suggested meeting lasts at most 12 hours."))
    reader = await reading_zone(ctx)
    window_start, window_end = _window(ctx.now, first, last, reader)
    subject = await subject_or_group(ctx, lazy("Group-wide meetings are suggested in the group room."))
    zone = subject.timezone if subject is not None else ctx.services.config.bot.default_timezone
    attendees, unset = await _attendees(ctx, subject, zone)
    known = unset < len(attendees)  # someone set a zone of their own
    busy = await _busy(ctx, subject, window_start, window_end)
    counted = attendees or [Attendee("", zone)]  # nobody at all: the subject zone's working hours
    slots = rank_slots(
        attendees=counted,
        busy=busy,
        window_start=window_start,
        window_end=window_end,
        duration=duration,
        count=PROPOSALS,
        weekend_zone=zone,  # Saturdays and Sundays in the subject's zone only when no weekday is free
    )
    minutes = int(duration.total_seconds() // 60)
    first_day = window_start.astimezone(ZoneInfo(reader)).date()
    last_day = (window_end - timedelta(microseconds=1)).astimezone(ZoneInfo(reader)).date()
    if first_day == last_day:
        period = _("on {day}", day=day_label(first_day))
    else:
        first_label = day_label(first_day, year=first_day.year != last_day.year)
        period = _("between {first} and {last}", first=first_label, last=day_label(last_day))
    if not slots:
        await ctx.reply(
            _(
                "No free time for a {minutes}-minute meeting {period}: try a wider window.",
                minutes=minutes,
                period=period,
            )
        )
        return
    if known:
        heading = text(
            _(
                "Best times for a {minutes}-minute meeting {period} ({who}):",
                minutes=minutes,
                period=period,
                who=_who(len(attendees), unset, zone, group_wide=subject is None),
            )
        )
    else:
        heading = lines(
            [
                text(
                    _("Best times for a {minutes}-minute meeting {period}.", minutes=minutes, period=period)
                ),
                tr(
                    "Nobody here has set a time zone ({command}), so I used the working hours of {zone}.",
                    command=code(f"{ctx.prefix}tz"),
                    zone=zone,
                ),
            ]
        )
    shown = {a.who for slot in slots for a in slot.out_of_hours if a.who}
    names = await display_names(ctx.uow, sorted(shown), ctx.room_id)
    zones = sorted({a.zone for a in attendees})
    rows: list[Rich | str] = [heading]
    for number, slot in enumerate(slots, 1):
        rows.append(text(f"{number}. {span(slot.start, slot.end, zone, extra_zones=zones)}"))
        rows.append(text("   ") + _hours_line(slot, names, known, zone))
        rows.append(
            text("   ") + code(f'{ctx.prefix}meeting schedule "…" {_when(slot.start, zone)} for {minutes}m')
        )
    await ctx.reply(lines(rows))


def _who(count: int, unset: int, zone: str, *, group_wide: bool) -> str:
    """`3 people: 2 with a time zone, 1 counted in the subject's, Europe/Zurich`."""
    if not unset:
        return n_("{count} person with a time zone", "{count} people with a time zone", count)
    zoned = count - unset
    if group_wide:
        return n_(
            "{count} person: {zoned} with a time zone, {unset} counted in the group's, {zone}",
            "{count} people: {zoned} with a time zone, {unset} counted in the group's, {zone}",
            count,
            zoned=zoned,
            unset=unset,
            zone=zone,
        )
    return n_(
        "{count} person: {zoned} with a time zone, {unset} counted in the subject's, {zone}",
        "{count} people: {zoned} with a time zone, {unset} counted in the subject's, {zone}",
        count,
        zoned=zoned,
        unset=unset,
        zone=zone,
    )


def _window(now: datetime, first: date | None, last: date | None, zone: str) -> tuple[datetime, datetime]:
    """[start, end) in UTC from the dates typed (inclusive, read in `zone`), never before now."""
    if (first is None) != (last is None):
        raise UsageError(
            tr("Give both ends of the window: {syntax}.", syntax=code("between <date> and <date>"))
        )
    tz = ZoneInfo(zone)
    if first is None or last is None:
        first = now.astimezone(tz).date() + timedelta(days=1)
        last = first + timedelta(days=DEFAULT_DAYS - 1)
    if last < first:
        raise UsageError(
            _(
                "The window ends ({last}) before it starts ({first}).",
                last=last.isoformat(),
                first=first.isoformat(),
            )
        )
    if (last - first).days + 1 > MAX_DAYS:
        days = (last - first).days + 1
        raise UsageError(
            n_(
                "A window holds at most {most} days; that one has {count}.",
                "A window holds at most {most} days; that one has {count}.",
                days,
                most=MAX_DAYS,
            )
        )
    start = datetime.combine(first, time(0), tzinfo=tz)
    end = datetime.combine(last + timedelta(days=1), time(0), tzinfo=tz)
    if end <= now:
        raise Refusal(_("That window is over; give dates to come."))
    return max(start, now), end


async def _attendees(ctx: Context, subject: Subject | None, zone: str) -> tuple[list[Attendee], int]:
    """The room's joined members and the subject's coordinator and focal points, each in their own zone or,
    without a usable one, in `zone` (the subject's, else the group default); and how many have none."""
    members = await ctx.uow.members.joined(ctx.room_id)
    ids = {m.matrix_id for m in members}
    if subject is not None:
        for assignment in await ctx.uow.roles.active(at=ctx.now, subject_id=subject.id):
            if assignment.role in (RoleKind.COORDINATOR, RoleKind.FOCAL_POINT):
                ids.add(assignment.matrix_id)
    ids.discard(getattr(getattr(ctx.services.config, "matrix", None), "user_id", None))
    people = await ctx.uow.people.many(ids)
    attendees, unset = [], 0
    for matrix_id in sorted(ids):
        own = people[matrix_id].timezone if matrix_id in people else None
        if not _loadable(own):
            own, unset = zone, unset + 1
        attendees.append(Attendee(matrix_id, own))
    return attendees, unset


def _loadable(zone: str | None) -> TypeGuard[str]:
    if not zone:
        return False
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


async def _busy(
    ctx: Context, subject: Subject | None, start: datetime, end: datetime
) -> list[tuple[datetime, datetime]]:
    """What a meeting here would conflict with (as `meetings.find_conflicts` sees it), in the window."""
    subject_ids = await meetings.conflict_scope(ctx.uow, subject, ctx.now)
    candidates = await ctx.uow.meetings.overlapping(
        start_utc=start, end_utc=end, subject_ids=subject_ids, include_group_wide=True
    )
    busy = [
        (o.start, o.end)
        for meeting in candidates
        for o in meetings.expand(meeting, start, end, include_cancelled=False)
    ]
    imported = ctx.services.imported  # ImportedCalendars, when the app configured some
    if imported is not None:
        busy += [(e.start, e.end) for e in imported.events_between(start, end)]
    return busy


def _hours_line(slot: Slot, names: dict[str, str | None], known: bool, zone: str) -> Rich:
    hours = _clock_range()
    if not known:
        if slot.out_of_hours:
            return text(_("Outside working hours ({hours}) in {zone}.", hours=hours, zone=zone))
        return text(_("Within working hours ({hours}) in {zone}.", hours=hours, zone=zone))
    if not slot.out_of_hours:
        return text(_("Everyone within working hours ({hours}).", hours=hours))
    shown = [
        person(a.who, names.get(a.who))
        + text(f" ({clock(slot.start.astimezone(ZoneInfo(a.zone)))} {a.zone})")
        for a in slot.out_of_hours
    ]
    return ntr(
        "{count} out of hours: {people}",
        "{count} out of hours: {people}",
        len(shown),
        people=join(shown, ", "),
    )


def _clock_range() -> str:
    return f"{DAY_START:%H:%M}–{DAY_END:%H:%M}"


def _when(start: datetime, zone: str) -> str:
    """A `<when>` for the hint: the wall time in the meeting's zone, or UTC when it happens twice."""
    if zone in UTC_NAMES:
        return f"{start:%Y-%m-%d %H:%M} UTC"
    wall = start.astimezone(ZoneInfo(zone)).replace(tzinfo=None)
    tz = ZoneInfo(zone)
    readings = {wall.replace(tzinfo=tz, fold=fold).utcoffset() for fold in (0, 1)}
    if len(readings) == 1:
        return f"{wall:%Y-%m-%d %H:%M} {zone}"
    return f"{start.astimezone(ZoneInfo('UTC')):%Y-%m-%dT%H:%MZ}"
