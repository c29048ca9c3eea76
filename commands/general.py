"""General commands: `!help`, `!ping`, `!tz`."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from iscg_bot.formatting import Rich, bullets, code, lines, text
from iscg_bot.router import ANYONE, Command, Context, Router, TimeZone

router = Router()


@router.command("help")
async def help_(ctx: Context, command: list[str] | None = None) -> None:
    """List the commands you can run here, or explain one.

    With a command's name, shows its usage, what it does, an example and its other names.

    Example: !help meeting schedule
    """
    registry = ctx.router
    assert registry is not None
    if not command:
        await ctx.reply(await overview(ctx, registry))
        return
    words = [command[0].removeprefix(registry.prefix), *command[1:]]
    found = registry.find(words)
    if found is not None:
        await ctx.reply(details(registry, found))
    elif registry.is_group(words):
        await ctx.reply(await registry.group_message(ctx, words))
    else:
        await ctx.reply(registry.unknown_message(words, registry.suggest(words)))


async def overview(ctx: Context, registry: Router) -> Rich:
    """Every visible command the sender may run here, by name, with the first line of its help."""
    allowed = [c for c in registry.commands if not c.hidden and await registry.permitted(ctx, c)]
    entries = [
        code(registry.usage(c)) + (f" — {c.summary}" if c.summary else "")
        for c in sorted(allowed, key=lambda c: c.name)
    ]
    hint = text("Type ") + code(f"{registry.prefix}help <command>") + " for details."
    return lines([text("Commands you can run here:"), bullets(entries), hint])


def details(registry: Router, command: Command) -> Rich:
    """Usage, the whole docstring (examples as code), other names, and who may run it."""
    parts: list[Rich | str] = [code(registry.usage(command))]
    for line in reflow(command.doc):
        if line.startswith("Example:"):
            parts.append(text("Example: ") + code(line.removeprefix("Example:").strip()))
        else:
            parts.append(text(line))
    if command.aliases:
        parts.append(text("Also: ") + ", ".join(f"{registry.prefix}{a}" for a in command.aliases))
    if command.roles != ANYONE:
        parts.append(text(f"Who may run it: {command.roles.name}."))
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
