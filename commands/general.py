"""General commands: `!help`, `!ping`, `!tz`.

The bare `!help` is an index that fits one screen — the commands this person most likely needs in this room
now, and the areas (one per command module) — because the full list is a wall; `!help <area>`,
`!help <command>` and `!help all` give the rest. Each lists only what the sender may run here.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from iscg_bot.chat.policy import SUBJECT_MANAGERS, subject_here
from iscg_bot.chat.router import ANYONE, Command, Context, Router, TimeZone
from iscg_bot.commands.place import in_group_room
from iscg_bot.core.formatting import Rich, bullets, code, lines, text

router = Router()
AREA = "basics"  # `!help basics`
OTHER = "other"  # the area of commands included without one
# An index that lists everything it could is the wall it replaces: beyond this many commands, the index shows
# the few likely ones and the areas.
WHOLE_LIST_AT_MOST = 8
SHORT_USAGE = 44  # a longer usage line is shortened in the index to its required part and `…`


@router.command("help")
async def help_(ctx: Context, topic: list[str] | None = None) -> None:
    """Show the commands you most likely need here, and the areas to explore.

    `!help <area>` lists an area's commands, `!help <command>` explains one (its usage, what it does, an
    example, its other names) and `!help all` lists every command you can run here. An area named like a
    command (actions, calendar, minutes, roles) lists the area; put the prefix before the name for the
    command: !help !actions.

    Example: !help meeting schedule
    """
    registry = ctx.router
    assert isinstance(registry, Router)  # the context sees only its prefix; help reads the whole registry
    if not topic:
        await ctx.reply(await index(ctx, registry))
        return
    typed = topic[0]
    words = [typed.removeprefix(registry.prefix), *topic[1:]]
    if len(topic) == 1 and not typed.startswith(registry.prefix):
        if typed.lower() == "all":
            await ctx.reply(await overview(ctx, registry))
            return
        if typed.lower() in {area or OTHER for area in registry.areas}:
            await ctx.reply(await area_message(ctx, registry, typed.lower()))
            return
    found = registry.find(words)
    if found is not None:
        await ctx.reply(details(registry, found))
    elif registry.is_group(words):
        await ctx.reply(await registry.group_message(ctx, words))
    else:
        await ctx.reply(registry.unknown_message(words, registry.suggest(words)))


async def index(ctx: Context, registry: Router) -> Rich:
    """The bare `!help`: fits one screen. Everything, when little is open to the sender; otherwise the
    commands they most likely need in this room now, and the areas that hold the rest."""
    allowed = await _allowed(ctx, registry.commands, registry)
    if len(allowed) <= WHOLE_LIST_AT_MOST:
        return await overview(ctx, registry)
    by_name = {c.name: c for c in allowed}
    likely = [by_name[name] for name in await likely_here(ctx) if name in by_name]
    areas = sorted({c.area or OTHER for c in allowed})
    prefix = registry.prefix
    parts: list[Rich | str] = []
    if likely:
        parts += [text("Most useful here now:"), bullets(_entry(registry, c, short=True) for c in likely)]
    parts.append(text(f"Areas: {', '.join(areas)}."))
    parts.append(
        code(f"{prefix}help <area>")
        + " lists an area's commands, "
        + code(f"{prefix}help <command>")
        + " explains one, "
        + code(f"{prefix}help all")
        + " lists every command you can run here."
    )
    return lines(parts)


async def likely_here(ctx: Context) -> list[str]:
    """The names of the commands this person most likely needs in this room now, best first (the caller
    keeps those they may run). Read from storage; without it (a router tested alone), none."""
    if not hasattr(ctx.uow, "minutes"):
        return []
    if await ctx.uow.minutes.running(ctx.room_id) is not None:
        return ["agreed", "action", "info", "keyissue", "endmeeting"]
    manages = await SUBJECT_MANAGERS.allows(ctx) or ctx.is_admin
    if await subject_here(ctx) is not None:
        if manages:
            return ["meeting schedule", "meeting list", "startmeeting", "actions"]
        return ["rsvp", "calendar", "minutes", "meeting list", "actions"]
    if await in_group_room(ctx):
        if manages:
            return ["meeting schedule", "meeting list", "summary", "report", "subject list"]
        return ["meeting list", "rsvp", "calendar", "subject list"]
    return ["subject create", "group bind", "subject list", "calendar", "tz"]


async def area_message(ctx: Context, registry: Router, area: str) -> Rich:
    """`!help meetings`: the area's commands the sender may run here."""
    allowed = await _allowed(ctx, registry.in_area("" if area == OTHER else area), registry)
    if not allowed:
        return text(f"None of the {area} commands is open to you here.")
    return lines(
        [text(f"The {area} commands you can run here:"), bullets(_entry(registry, c) for c in allowed)]
    )


async def overview(ctx: Context, registry: Router) -> Rich:
    """Every visible command the sender may run here, by name, with its help line."""
    allowed = await _allowed(ctx, sorted(registry.commands, key=lambda c: c.name), registry)
    hint = text("Type ") + code(f"{registry.prefix}help <command>") + " for details."
    return lines([text("Commands you can run here:"), bullets(_entry(registry, c) for c in allowed), hint])


async def _allowed(ctx: Context, commands: Iterable[Command], registry: Router) -> list[Command]:
    return [c for c in commands if not c.hidden and await registry.permitted(ctx, c)]


def _entry(registry: Router, command: Command, *, short: bool = False) -> Rich:
    """`!tz [zone] — Show your time zone, or set it.`; `short`: a long usage cut to its required part."""
    usage = registry.usage(command)
    if short and len(usage) > SHORT_USAGE:
        required = [p.usage() for p in command.parameters if p.required]
        usage = " ".join([f"{registry.prefix}{command.name}", *required, "…"])
    return code(usage) + (f" — {registry.shown(command.summary)}" if command.summary else "")


def details(registry: Router, command: Command) -> Rich:
    """Usage, the whole docstring (examples as code), other names, and who may run it."""
    parts: list[Rich | str] = [code(registry.usage(command))]
    for line in reflow(registry.shown(command.doc)):
        if line.startswith("Example:"):
            parts.append(text("Example: ") + code(line.removeprefix("Example:").strip()))
        else:
            parts.append(text(line))
    if command.aliases:
        parts.append(text("Also: ") + ", ".join(f"{registry.prefix}{a}" for a in command.aliases))
    if command.allow != ANYONE:
        parts.append(text(f"Who may run it: {command.allow.name}."))
    return lines(parts)


def reflow(doc: str) -> list[str]:
    """A docstring's lines as chat lines: wrapped lines of a paragraph joined; blank lines, examples and
    `- items` kept on lines of their own."""
    result: list[str] = []
    joinable = False
    for raw in doc.split("\n"):
        line = raw.strip()
        own_line = not line or line.startswith(("Example:", "- ", "• "))
        if joinable and not own_line:
            result[-1] += " " + line
        else:
            result.append(line)
        joinable = bool(line) and not line.startswith("Example:")
    return result


@router.command("ping")
async def ping(ctx: Context) -> None:
    """Check that the bot is alive: it answers pong.

    Example: !ping
    """
    await ctx.reply("pong")


@router.command("tz", aliases=("timezone",))
async def tz(ctx: Context, zone: TimeZone | None = None) -> None:
    """Show your time zone, or set it.

    The bot gives every time in the meeting's zone and in yours. Use a name such as Europe/Zurich,
    America/New_York or Asia/Tokyo: abbreviations such as CST or IST name several zones and are refused.
    Until you set one, the bot's default zone is used for you.

    Example: !tz Asia/Tokyo
    """
    if zone is not None:
        await ctx.uow.people.set_timezone(ctx.sender, zone, ctx.now)
        await ctx.reply(f"Your time zone is now {zone_and_time(zone, ctx.now)}.")
        return
    person = await ctx.uow.people.get(ctx.sender)
    if person is not None and person.timezone:
        await ctx.reply(f"Your time zone is {zone_and_time(person.timezone, ctx.now)}.")
        return
    default = ctx.services.config.bot.default_timezone
    await ctx.reply(
        text(f"You have not set a time zone, so I use {zone_label(default, ctx.now)} for you; ")
        + text(f"it is {wall_clock(default, ctx.now)} there. Set yours with ")
        + code(f"{ctx.prefix}tz <zone>")
        + ", e.g. "
        + code(f"{ctx.prefix}tz Asia/Tokyo")
        + "."
    )


def utc_offset(offset: timedelta | None) -> str:
    """`UTC+09:00`, `UTC-03:30`, `UTC+00:00`."""
    minutes = int((offset or timedelta()).total_seconds() // 60)
    sign = "-" if minutes < 0 else "+"
    hours, minutes = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours:02d}:{minutes:02d}"


def zone_label(zone: str, now: datetime) -> str:
    """`Asia/Tokyo (UTC+09:00)`: the zone and its offset at `now`."""
    return f"{zone} ({utc_offset(now.astimezone(ZoneInfo(zone)).utcoffset())})"


def zone_and_time(zone: str, now: datetime) -> str:
    """`Asia/Tokyo (UTC+09:00), it is 23:04 there`"""
    return f"{zone_label(zone, now)}, it is {wall_clock(zone, now)} there"


def wall_clock(zone: str, now: datetime) -> str:
    """`23:04`: the time on a clock in that zone at `now`."""
    return f"{now.astimezone(ZoneInfo(zone)):%H:%M}"
