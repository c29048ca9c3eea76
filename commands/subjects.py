"""Subjects of common interest, each bound to one room, and the group's own room."""

from __future__ import annotations

from typing import Literal

from iscg_bot.chat.policy import CHAIR, OFFICERS, SUBJECT_MANAGERS, subject_here
from iscg_bot.chat.router import Context, Refusal, Rest, Router, UsageError
from iscg_bot.chat.time_arguments import TimeZoneType
from iscg_bot.commands.render import display_names, people
from iscg_bot.core.formatting import Rich, bold, bullets, code, italic, lines, text
from iscg_bot.domain import organisation
from iscg_bot.domain.organisation import OrganisationError

router = Router()


async def _this_subject(ctx: Context):
    subject = await subject_here(ctx)
    if subject is None:
        raise Refusal(
            f"This room has no subject yet; {OFFICERS.name} can bind it with "
            f"{ctx.prefix}subject create <slug> <title>."
        )
    return subject


@router.command("group bind", allow=CHAIR)
async def group_bind(ctx: Context) -> None:
    """Make this room the group-wide ISCG room, where the Chair and the management team work.

    Example: !group bind
    """
    await organisation.bind_group_room(ctx.uow, ctx.room_id, ctx.now)
    await ctx.reply("This room is now the ISCG group room.")


@router.command("subject create", allow=OFFICERS)
async def subject_create(ctx: Context, slug: str, title: Rest) -> None:
    """Create a subject of common interest and bind it to this room.

    The slug is its short name in links and commands (2–32 lowercase letters, digits or dashes).

    Example: !subject create cop Child Online Protection
    """
    try:
        subject = await organisation.create_subject(
            ctx.uow,
            slug=slug,
            title=title,
            room_id=ctx.room_id,
            timezone=ctx.services.config.bot.default_timezone,
            by=ctx.sender,
            at=ctx.now,
        )
    except OrganisationError as error:
        raise UsageError(str(error)) from None
    await ctx.reply(
        text("Created the subject ")
        + bold(subject.title)
        + " ("
        + code(subject.slug)
        + f"), bound to this room, in {subject.timezone} time. Next: "
        + code(f"{ctx.prefix}role add <@user:server> coordinator")
        + "."
    )


@router.command("subject")
async def subject_show(ctx: Context) -> None:
    """Show this room's subject: its coordinator and focal points.

    Example: !subject
    """
    subject = await _this_subject(ctx)
    roster = await organisation.roster(ctx.uow, subject, ctx.now)
    everyone = [*roster.coordinators, *(a for group in roster.focal_points.values() for a in group)]
    names = await display_names(ctx.uow, (a.matrix_id for a in everyone), ctx.room_id)
    heading = bold(subject.title) + " (" + code(subject.slug) + ")"
    if subject.archived:
        heading += italic(" — archived")
    rows: list[Rich | str] = [heading]
    if subject.description:
        rows.append(text(subject.description))
    rows.append(text("Coordinator: ") + people(roster.coordinators, names, "none appointed"))
    if roster.focal_points:
        rows.append(text("Focal points:"))
        rows.append(
            bullets(f"{sector}: " + people(held, names) for sector, held in roster.focal_points.items())
        )
    else:
        rows.append(text("Focal points: none appointed"))
    rows.append(text(f"Time zone: {subject.timezone}"))
    if not subject.room_active:
        rows.append(italic("The bot was removed from this subject's room; invite it back to use it."))
    await ctx.reply(lines(rows))


@router.command("subject list")
async def subject_list(ctx: Context, which: Literal["all"] | None = None) -> None:
    """List the subjects of common interest (archived ones too with `all`).

    Example: !subject list all
    """
    subjects = await ctx.uow.subjects.list(include_archived=which == "all")
    if not subjects:
        await ctx.reply("There are no subjects yet.")
        return
    rows = []
    for subject in subjects:
        roster = await organisation.roster(ctx.uow, subject, ctx.now)
        names = await display_names(ctx.uow, (a.matrix_id for a in roster.coordinators), ctx.room_id)
        row = code(subject.slug) + " — " + text(subject.title) + " — coordinator: "
        row += people(roster.coordinators, names, "none")
        if subject.archived:
            row += italic(" (archived)")
        rows.append(row)
    await ctx.reply(lines([text(f"Subjects ({len(subjects)}):"), bullets(rows)]))


@router.command("subject set", allow=SUBJECT_MANAGERS)
async def subject_set(ctx: Context, field: Literal["title", "description", "timezone"], value: Rest) -> None:
    """Change this subject's title, description or default time zone.

    Example: !subject set timezone Europe/Zurich
    """
    subject = await _this_subject(ctx)
    if field == "timezone":
        value = TimeZoneType().convert(value.strip(), ctx)  # refuses abbreviations, suggests the full name
    try:
        subject = await organisation.change_subject(ctx.uow, subject, field, value, ctx.now)
    except OrganisationError as error:
        raise UsageError(str(error)) from None
    shown = {"title": subject.title, "description": subject.description, "timezone": subject.timezone}[field]
    await ctx.reply(text(f"The {field} of {subject.slug} is now: ") + text(shown))


@router.command("subject archive", allow=OFFICERS)
async def subject_archive(ctx: Context) -> None:
    """Archive this room's subject: it keeps its history but leaves the lists.

    Example: !subject archive
    """
    subject = await _this_subject(ctx)
    if subject.archived:
        raise Refusal(f"{subject.slug} is already archived.")
    await ctx.uow.subjects.update(subject, at=ctx.now, archived=True)
    await ctx.reply(
        text("Archived ") + code(subject.slug) + text(f"; {ctx.prefix}subject restore undoes it.")
    )


@router.command("subject restore", allow=OFFICERS)
async def subject_restore(ctx: Context) -> None:
    """Bring an archived subject back.

    Example: !subject restore
    """
    subject = await _this_subject(ctx)
    if not subject.archived:
        raise Refusal(f"{subject.slug} is not archived.")
    await ctx.uow.subjects.update(subject, at=ctx.now, archived=False)
    await ctx.reply(text("Restored ") + code(subject.slug) + ".")
