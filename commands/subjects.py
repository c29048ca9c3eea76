"""Subjects of common interest, each bound to one room, and the group's own room."""

from __future__ import annotations

from typing import Literal

from iscg_bot.chat.languages import UNSET
from iscg_bot.chat.policy import CHAIR, OFFICERS, SUBJECT_MANAGERS, subject_here
from iscg_bot.chat.router import Context, Refusal, Rest, Router, UsageError
from iscg_bot.chat.time_arguments import TimeZoneType
from iscg_bot.commands.render import coordinators_line, display_names, people
from iscg_bot.core.formatting import Rich, bold, bullets, code, italic, lines, quote, text
from iscg_bot.core.i18n import (
    LANGUAGES,
    UnknownLanguage,
    _,
    language_code,
    language_name,
    lazy,
    speaking,
    tr,
)
from iscg_bot.domain import organisation
from iscg_bot.domain.organisation import OrganisationError
from iscg_bot.storage.models import Subject

router = Router()
NONE = lazy("none")


async def _this_subject(ctx: Context):
    subject = await subject_here(ctx)
    if subject is None:
        raise Refusal(
            _(
                "This room has no subject yet; {who} can bind it with {command}.",
                who=OFFICERS.shown_name(),
                command=f"{ctx.prefix}subject create <slug> <title>",
            )
        )
    return subject


@router.command("group bind", allow=CHAIR)
async def group_bind(ctx: Context) -> None:
    """Make this room the group-wide ISCG room, where the Chair and the management team work.

    Example: !group bind
    """
    await organisation.bind_group_room(ctx.uow, ctx.room_id, ctx.now)
    await ctx.reply(_("This room is now the ISCG group room."))


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
        tr(
            "Created the subject {title} ({slug}), bound to this room, in {zone} time. Next: {command}.",
            title=bold(subject.title),
            slug=code(subject.slug),
            zone=subject.timezone,
            command=code(f"{ctx.prefix}role add <@user:server> coordinator"),
        )
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
        heading += italic(" — " + _("archived"))
    rows: list[Rich | str] = [heading]
    if subject.description:
        rows.append(text(subject.description))
    rows.append(coordinators_line(roster.coordinators, names))
    if roster.focal_points:
        rows.append(text(_("Focal points:")))
        rows.append(
            bullets(f"{sector}: " + people(held, names) for sector, held in roster.focal_points.items())
        )
    else:
        rows.append(text(_("Focal points: none appointed")))
    rows.append(text(_("Time zone: {zone}", zone=subject.timezone)))
    if not subject.room_active:
        rows.append(italic(_("The bot was removed from this subject's room; invite it back to use it.")))
    await ctx.reply(lines(rows))


@router.command("subject list")
async def subject_list(ctx: Context, which: Literal["all"] | None = None) -> None:
    """List the subjects of common interest (archived ones too with `all`).

    Example: !subject list all
    """
    subjects = await ctx.uow.subjects.list(include_archived=which == "all")
    if not subjects:
        await ctx.reply(_("There are no subjects yet."))
        return
    rows = []
    for subject in subjects:
        roster = await organisation.roster(ctx.uow, subject, ctx.now)
        names = await display_names(ctx.uow, (a.matrix_id for a in roster.coordinators), ctx.room_id)
        coordinators = people(roster.coordinators, names, NONE)
        row = tr(
            "{slug} — {title} — coordinator: {people}",
            slug=code(subject.slug),
            title=subject.title,
            people=coordinators,
        )
        if subject.archived:
            row += italic(" " + _("(archived)"))
        rows.append(row)
    await ctx.reply(lines([text(_("Subjects ({count}):", count=len(subjects))), bullets(rows)]))


@router.command("subject set", allow=SUBJECT_MANAGERS)
async def subject_set(
    ctx: Context, field: Literal["title", "description", "timezone", "language"], value: Rest
) -> None:
    """Change this subject's title, description, default time zone or language (what the bot writes to the
    room in: ar, zh, en, fr, ru or es; `default`: the group's).

    Example: !subject set timezone Europe/Zurich
    """
    subject = await _this_subject(ctx)
    if field == "timezone":
        value = TimeZoneType().convert(value.strip(), ctx)  # refuses abbreviations, suggests the full name
    if field == "language":
        await _set_language(ctx, subject, value.strip())
        return
    try:
        subject = await organisation.change_subject(ctx.uow, subject, field, value, ctx.now)
    except OrganisationError as error:
        raise UsageError(str(error)) from None
    shown = {"title": subject.title, "description": subject.description, "timezone": subject.timezone}[field]
    await ctx.reply(text(_(_NOW_IS[field], slug=subject.slug, value=shown)))


# What `!subject set <field>` answers, one sentence per field.
_NOW_IS = {
    "title": lazy("The title of {slug} is now: {value}"),
    "description": lazy("The description of {slug} is now: {value}"),
    "timezone": lazy("The timezone of {slug} is now: {value}"),
}


async def _set_language(ctx: Context, subject: Subject, value: str) -> None:
    if value.lower() == "default":
        language = ctx.services.config.bot.default_language
        await ctx.uow.subjects.update(subject, at=ctx.now, language=UNSET)
    else:
        try:
            language = language_code(value)
        except UnknownLanguage:
            message = _(
                "{language} is not one of ITU's languages: {codes}.",
                language=quote(value),
                codes=", ".join(LANGUAGES),
            )
            raise UsageError(message) from None
        await ctx.uow.subjects.update(subject, at=ctx.now, language=language)
    with speaking(language):  # said to the room, in its new language
        await ctx.reply(
            tr("From now on I write to this room in {language}.", language=language_name(language))
        )


@router.command("subject archive", allow=OFFICERS)
async def subject_archive(ctx: Context) -> None:
    """Archive this room's subject: it keeps its history but leaves the lists.

    Example: !subject archive
    """
    subject = await _this_subject(ctx)
    if subject.archived:
        raise Refusal(_("{slug} is already archived.", slug=subject.slug))
    await ctx.uow.subjects.update(subject, at=ctx.now, archived=True)
    await ctx.reply(
        tr(
            "Archived {slug}; {command} undoes it.",
            slug=code(subject.slug),
            command=f"{ctx.prefix}subject restore",
        )
    )


@router.command("subject restore", allow=OFFICERS)
async def subject_restore(ctx: Context) -> None:
    """Bring an archived subject back.

    Example: !subject restore
    """
    subject = await _this_subject(ctx)
    if not subject.archived:
        raise Refusal(_("{slug} is not archived.", slug=subject.slug))
    await ctx.uow.subjects.update(subject, at=ctx.now, archived=False)
    await ctx.reply(tr("Restored {slug}.", slug=code(subject.slug)))
