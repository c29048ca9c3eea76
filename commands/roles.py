"""Appointments: the Chair, the management team, coordinators, focal points and the secretariat."""

from __future__ import annotations

from typing import Annotated, Literal

from iscg_bot.chat.policy import APPOINTERS, subject_here
from iscg_bot.chat.router import Context, Keyword, Router, UsageError, UserId
from iscg_bot.chat.time_arguments import DateArg
from iscg_bot.commands.render import coordinators_line, display_names, people
from iscg_bot.core.formatting import Rich, bold, bullets, code, lines, person, text
from iscg_bot.core.i18n import _, lazy, tr
from iscg_bot.domain import organisation
from iscg_bot.domain.organisation import OrganisationError
from iscg_bot.domain.roles import RoleKind

router = Router()
VACANT = lazy("vacant")  # what `people` shows for no one

RoleName = Literal["chair", "management", "coordinator", "focal-point", "secretariat"]


async def _appointment(
    ctx: Context, user: str, role: str, group_or_sector: str | None, until=None
) -> organisation.Appointment:
    kind = RoleKind(role.replace("-", "_"))
    try:
        return organisation.appointment(user, kind, group_or_sector, await subject_here(ctx), until)
    except OrganisationError as error:
        raise UsageError(str(error)) from None


@router.command("role add", allow=APPOINTERS)
async def role_add(
    ctx: Context,
    user: UserId,
    role: RoleName,
    group_or_sector: str | None = None,
    date_: Annotated[DateArg | None, Keyword("until")] = None,
) -> None:
    """Appoint someone: coordinators and focal points for this room's subject.

    management needs the advisory group (TSAG, RAG or TDAG), focal-point the Sector (ITU-R, ITU-T,
    ITU-D or GS); the Chair's term runs four years unless `until` says otherwise.

    Example: !role add @amina:itu.int focal-point ITU-D
    """
    wanted = await _appointment(ctx, user, role, group_or_sector, date_)
    assignment = await organisation.appoint(ctx.uow, wanted, by=ctx.sender, at=ctx.now, prefix=ctx.prefix)
    names = await display_names(ctx.uow, [user], ctx.room_id)
    who = person(user, names[user])
    if wanted.role is RoleKind.CHAIR:
        term = organisation.chair_term(assignment)
        message = tr("{person} is now {role} {term}.", person=who, role=wanted.describe(), term=term)
    else:
        message = tr("{person} is now {role}.", person=who, role=wanted.describe())
    await ctx.reply(message)


@router.command("role remove", allow=APPOINTERS)
async def role_remove(ctx: Context, user: UserId, role: RoleName, group_or_sector: str | None = None) -> None:
    """End someone's appointment (the history is kept for the reports).

    Example: !role remove @amina:itu.int focal-point ITU-D
    """
    wanted = await _appointment(ctx, user, role, group_or_sector)
    await organisation.dismiss(ctx.uow, wanted, by=ctx.sender, at=ctx.now)
    names = await display_names(ctx.uow, [user], ctx.room_id)
    await ctx.reply(
        tr("{person} is no longer {role}.", person=person(user, names[user]), role=wanted.describe())
    )


@router.command("roles")
async def roles(ctx: Context) -> None:
    """Who holds which role: the group's officers, and this room's subject's coordinator and focal points.

    Example: !roles
    """
    group = await organisation.officers(ctx.uow, ctx.now)
    subject = await subject_here(ctx)
    roster = await organisation.roster(ctx.uow, subject, ctx.now) if subject is not None else None
    everyone = [*group.chair, *group.secretariat, *(a for held in group.management.values() for a in held)]
    if roster is not None:
        everyone += [*roster.coordinators, *(a for held in roster.focal_points.values() for a in held)]
    names = await display_names(ctx.uow, (a.matrix_id for a in everyone), ctx.room_id)

    chair = people(group.chair, names, VACANT)
    if group.chair:
        chair = tr("{people} {term}", people=chair, term=organisation.chair_term(group.chair[0]))
    rows: list[Rich | str] = [bold(_("The group")), tr("Chair: {people}", people=chair)]
    management = [text(f"{g}: ") + people(held, names) for g, held in group.management.items()]
    rows.append(
        lines([text(_("Management team:")), bullets(management)])
        if management
        else _("Management team: nobody yet")
    )
    rows.append(tr("Secretariat: {people}", people=people(group.secretariat, names)))
    if subject is not None and roster is not None:
        rows.append(bold(f"{subject.title} ") + "(" + code(subject.slug) + ")")
        rows.append(coordinators_line(roster.coordinators, names))
        focal = [text(f"{s}: ") + people(held, names) for s, held in roster.focal_points.items()]
        rows.append(
            lines([text(_("Focal points:")), bullets(focal)]) if focal else _("Focal points: none appointed")
        )
    await ctx.reply(lines(rows))
