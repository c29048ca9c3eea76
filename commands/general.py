"""General commands: `!help`, `!ping`, `!tz`, `!lang`.

The bare `!help` is an index that fits one screen — the commands this person most likely needs in this room
now, and the areas (one per command module) — because the full list is a wall; `!help <area>`,
`!help <command>` and `!help all` give the rest. Each lists only what the sender may run here.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from iscg_bot.chat.help_extract import EXAMPLE, help_lines
from iscg_bot.chat.policy import SUBJECT_MANAGERS, subject_here
from iscg_bot.chat.router import ANYONE, Command, Context, Router, TimeZone, UsageError
from iscg_bot.commands.place import in_group_room
from iscg_bot.core.formatting import Rich, bullets, code, join, lines, quote, text
from iscg_bot.core.i18n import LANGUAGES, UnknownLanguage, _, language_code, language_name, speaking, tr

router = Router()
AREA = "basics"  # `!help basics`
OTHER = "other"  # the area of commands included without one
# An index that lists everything it could is the wall it replaces: beyond this many commands, the index shows
# the few likely ones and the areas.
WHOLE_LIST_AT_MOST = 8
reflow = help_lines  # a docstring's lines as `!help <command>` shows them
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
        parts += [tr("Most useful here now:"), bullets(_entry(registry, c, short=True) for c in likely)]
    parts.append(tr("Areas: {areas}.", areas=", ".join(areas)))  # typed as they are: `!help meetings`
    parts.append(
        tr(
            "{help_area} lists an area's commands, {help_command} explains one, "
            "{help_all} lists every command you can run here.",
            help_area=code(f"{prefix}help <area>"),
            help_command=code(f"{prefix}help <command>"),
            help_all=code(f"{prefix}help all"),
        )
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
        return tr("None of the {area} commands is open to you here.", area=area)
    return lines(
        [
            tr("The {area} commands you can run here:", area=area),
            bullets(_entry(registry, c) for c in allowed),
        ]
    )


async def overview(ctx: Context, registry: Router) -> Rich:
    """Every visible command the sender may run here, by name, with its help line."""
    allowed = await _allowed(ctx, sorted(registry.commands, key=lambda c: c.name), registry)
    hint = tr("Type {help} for details.", help=code(f"{registry.prefix}help <command>"))
    return lines([tr("Commands you can run here:"), bullets(_entry(registry, c) for c in allowed), hint])


async def _allowed(ctx: Context, commands: Iterable[Command], registry: Router) -> list[Command]:
    return [c for c in commands if not c.hidden and await registry.permitted(ctx, c)]


def _entry(registry: Router, command: Command, *, short: bool = False) -> Rich:
    """`!tz [zone] — Show your time zone, or set it.`; `short`: a long usage cut to its required part."""
    usage = registry.usage(command)
    if short and len(usage) > SHORT_USAGE:
        required = [p.usage() for p in command.parameters if p.required]
        usage = " ".join([f"{registry.prefix}{command.name}", *required, "…"])
    return code(usage) + (f" — {registry.shown(command.shown_summary)}" if command.summary else "")


def details(registry: Router, command: Command) -> Rich:
    """Usage, the whole docstring (examples as code), other names, and who may run it.

    Each line of the docstring (`reflow`) is one message, extracted by `iscg_bot.chat.help_extract`; an
    example is command syntax, shown as it is written."""
    parts: list[Rich | str] = [code(registry.usage(command))]
    for line in reflow(command.doc):
        if line.startswith(EXAMPLE):
            example = code(registry.shown(line.removeprefix(EXAMPLE).strip()))
            parts.append(tr("Example: {example}", example=example))
        else:
            parts.append(text(registry.shown(_(line)) if line else line))
    if command.aliases:
        also = ", ".join(f"{registry.prefix}{a}" for a in command.aliases)
        parts.append(tr("Also: {names}", names=also))
    if command.allow != ANYONE:
        parts.append(tr("Who may run it: {who}.", who=command.allow.shown_name()))
    return lines(parts)


@router.command("ping")
async def ping(ctx: Context) -> None:
    """Check that the bot is alive: it answers pong.

    Example: !ping
    """
    await ctx.reply("pong")


@router.command("lang", aliases=("language",))
async def lang(ctx: Context, language: str | None = None) -> None:
    """Show the language the bot writes to you in, or choose it: ar, zh, en, fr, ru or es (`default`: the
    room's).

    Your replies come in your language; what the bot says to the whole room (reminders, announcements,
    minutes) comes in the room's, which its coordinator sets with !subject set language.

    Example: !lang fr
    """
    if language is None:
        chosen = await ctx.uow.people.get(ctx.sender)
        choices = join((code(code_) + f" {name}" for code_, name in LANGUAGES.items()), ", ")
        change = code(f"{ctx.prefix}lang <language>")
        if chosen is not None and chosen.language:
            await ctx.reply(
                tr(
                    "I write to you in {language}. Change it with {change}: {choices}.",
                    language=language_name(chosen.language),
                    change=change,
                    choices=choices,
                )
            )
        else:
            await ctx.reply(
                tr(
                    "You have not chosen a language, so I write to you in this room's: {language}. "
                    "Choose yours with {change}: {choices}.",
                    language=language_name(ctx.language),
                    change=change,
                    choices=choices,
                )
            )
        return
    if language.lower() == "default":
        await ctx.uow.people.set_language(ctx.sender, None, ctx.now)
        with speaking(ctx.room_language):
            await ctx.reply(
                tr(
                    "From now on I write to you in this room's language: {language}.",
                    language=language_name(ctx.room_language),
                )
            )
        return
    try:
        chosen_code = language_code(language)
    except UnknownLanguage:
        raise UsageError(
            tr(
                "{language} is not one of ITU's languages: {codes}.",
                language=quote(language),
                codes=join((code(code_) for code_ in LANGUAGES), ", "),  # typed as they are: `!lang fr`
            )
        ) from None
    await ctx.uow.people.set_language(ctx.sender, chosen_code, ctx.now)
    with speaking(chosen_code):
        await ctx.reply(tr("From now on I write to you in {language}.", language=language_name(chosen_code)))


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
        await ctx.reply(
            _(
                "Your time zone is now {zone}, it is {time} there.",
                zone=zone_label(zone, ctx.now),
                time=wall_clock(zone, ctx.now),
            )
        )
        return
    person = await ctx.uow.people.get(ctx.sender)
    if person is not None and person.timezone:
        await ctx.reply(
            _(
                "Your time zone is {zone}, it is {time} there.",
                zone=zone_label(person.timezone, ctx.now),
                time=wall_clock(person.timezone, ctx.now),
            )
        )
        return
    default = ctx.services.config.bot.default_timezone
    await ctx.reply(
        tr(
            "You have not set a time zone, so I use {zone} for you; it is {time} there. "
            "Set yours with {set}, e.g. {example}.",
            zone=zone_label(default, ctx.now),
            time=wall_clock(default, ctx.now),
            set=code(f"{ctx.prefix}tz <zone>"),
            example=code(f"{ctx.prefix}tz Asia/Tokyo"),
        )
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
