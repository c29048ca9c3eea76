"""The group's organisation as plain functions over a unit of work: subjects, the group room, appointments.

Each refusal is an `OrganisationError` carrying one sentence for the person who asked. Commands only
translate chat into these calls and the results back into chat.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, TypeVar

from iscg_bot.core.errors import DomainError
from iscg_bot.core.formatting import single_line
from iscg_bot.core.i18n import _, lazy, n_
from iscg_bot.domain.roles import MANAGEMENT_SEATS_PER_GROUP, AdvisoryGroup, RoleKind, Sector
from iscg_bot.domain.timeparse import iana_zone_names
from iscg_bot.storage import AlreadyExists

if TYPE_CHECKING:
    from iscg_bot.storage import RoleAssignment, Subject, UnitOfWork

GROUP_ROOM = "group.room_id"
SLUG = re.compile(r"[a-z][a-z0-9-]{1,31}")
CHAIR_TERM = timedelta(days=4 * 365 + 1)  # appointed for four years (terms of reference)
MAX_TITLE = 200
MAX_DESCRIPTION = 2000

_Choice = TypeVar("_Choice", bound=StrEnum)


class OrganisationError(DomainError):
    """A request the group's rules refuse; the message is one sentence."""


# ---- subjects and the group room -------------------------------------------------------------------------


def subject_title(value: str) -> str:
    """A subject's title as kept: one line, not empty, at most MAX_TITLE characters."""
    return single_line(
        value,
        limit=MAX_TITLE,
        error=OrganisationError,
        empty=lambda: _("The subject's title cannot be empty."),
        too_long=lambda limit: n_(
            "A subject's title holds at most {count} character.",
            "A subject's title holds at most {count} characters.",
            limit,
        ),
    )


async def group_room(uow: UnitOfWork) -> str | None:
    return await uow.state.get(GROUP_ROOM)


async def bind_group_room(uow: UnitOfWork, room_id: str, at: datetime) -> None:
    subject = await uow.subjects.by_room(room_id)
    if subject is not None:
        raise OrganisationError(
            _(
                "This room belongs to the subject {slug}; the group needs a room of its own.",
                slug=subject.slug,
            )
        )
    await uow.state.set(GROUP_ROOM, room_id, at)


async def create_subject(
    uow: UnitOfWork, *, slug: str, title: str, room_id: str, timezone: str, by: str, at: datetime
) -> Subject:
    slug = slug.lower()
    if not SLUG.fullmatch(slug):
        raise OrganisationError(
            _(
                '"{slug}" cannot be a slug: use 2 to 32 lowercase letters, digits or dashes, '
                "starting with a letter.",
                slug=slug[:40],
            )
        )
    title = subject_title(title)
    if await group_room(uow) == room_id:
        raise OrganisationError(_("This is the group's room; a subject needs a room of its own."))
    bound = await uow.subjects.by_room(room_id)
    if bound is not None:
        raise OrganisationError(
            _(
                "This room is already bound to the subject {slug} ({title}).",
                slug=bound.slug,
                title=bound.title,
            )
        )
    try:
        return await uow.subjects.create(
            slug=slug, title=title, room_id=room_id, timezone=timezone, created_by=by, at=at
        )
    except AlreadyExists:
        taken = await uow.subjects.by_slug(slug)
        assert taken is not None  # the room is free (checked above): what is taken is the slug
        raise OrganisationError(
            _("The slug {slug} is already used by the subject {title}.", slug=slug, title=taken.title)
        ) from None


async def change_subject(
    uow: UnitOfWork, subject: Subject, field_name: str, value: str, at: datetime
) -> Subject:
    if field_name == "title":
        return await uow.subjects.update(subject, at=at, title=subject_title(value))
    if field_name == "description":
        text = value.strip()
        if len(text) > MAX_DESCRIPTION:
            raise OrganisationError(
                _("A description holds at most {most} characters.", most=f"{MAX_DESCRIPTION}")
            )
        return await uow.subjects.update(subject, at=at, description=text)
    zone = iana_zone_names().get(value.strip().lower())
    if zone is None:
        raise OrganisationError(
            _(
                '"{value}" is not an IANA time zone such as {example}.',
                value=value.strip()[:40],
                example="Europe/Zurich",
            )
        )
    return await uow.subjects.update(subject, at=at, timezone=zone)


# ---- appointments ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Appointment:
    """What `!role add` / `!role remove` asks for, checked against the kind of role."""

    user_id: str
    role: RoleKind
    subject: Subject | None = None  # coordinator and focal point: this room's subject
    sector: Sector | None = None  # focal point
    advisory_group: AdvisoryGroup | None = None  # management
    until: date | None = None  # Chair: end of term

    def describe(self) -> str:
        """The role as it ends "… is now {role}.": in the current language."""
        if self.role is RoleKind.CHAIR:
            return _("the Chair")
        if self.role is RoleKind.MANAGEMENT:
            return _("in the management team for {group}", group=self.advisory_group)
        if self.role is RoleKind.SECRETARIAT:
            return _("in the secretariat")
        if self.role is RoleKind.COORDINATOR:
            return _("the coordinator of {slug}", slug=self.subject_slug)
        assert self.sector is not None  # what is left is a focal point, who always has a sector
        if self.sector.value.startswith("I"):  # "an ITU-D", "a GS"
            return _("an {sector} focal point for {slug}", sector=self.sector, slug=self.subject_slug)
        return _("a {sector} focal point for {slug}", sector=self.sector, slug=self.subject_slug)

    @property
    def subject_slug(self) -> str:
        """The subject's slug, for the roles that belong to a subject (coordinator, focal point)."""
        assert self.subject is not None  # `appointment` refuses those roles without a subject
        return self.subject.slug


def appointment(
    user_id: str, role: RoleKind, qualifier: str | None, subject: Subject | None, until: date | None = None
) -> Appointment:
    """Read the role-specific part of `!role add|remove <user> <role> [qualifier]`."""
    if role is RoleKind.MANAGEMENT:
        group = _choice(qualifier, AdvisoryGroup, _("The management team needs the advisory group: {names}."))
        return Appointment(user_id, role, advisory_group=group)
    if role in (RoleKind.COORDINATOR, RoleKind.FOCAL_POINT):
        if subject is None:
            raise OrganisationError(_(_BELONGS_TO_A_SUBJECT[role]))
        if role is RoleKind.FOCAL_POINT:
            sector = _choice(qualifier, Sector, _("A focal point needs the Sector: {names}."))
            return Appointment(user_id, role, subject=subject, sector=sector)
        _no_qualifier(qualifier, role)
        return Appointment(user_id, role, subject=subject)
    _no_qualifier(qualifier, role)
    if until is not None and role is not RoleKind.CHAIR:
        raise OrganisationError(_("Only the Chair's appointment has an end date."))
    return Appointment(user_id, role, until=until)


def _choice(qualifier: str | None, kind: type[_Choice], need: str) -> _Choice:
    """The member `qualifier` names; `need` (translated, with `{names}` left in) says what is missing."""
    names = ", ".join(k.value for k in kind)
    if qualifier is None:
        raise OrganisationError(need.format(names=names))
    for member in kind:
        if member.value.lower() == qualifier.lower():
            return member
    raise OrganisationError(_('"{qualifier}" is not one of {names}.', qualifier=qualifier[:20], names=names))


def _no_qualifier(qualifier: str | None, role: RoleKind) -> None:
    if qualifier is not None:
        raise OrganisationError(_(_TAKES_NOTHING[role], qualifier=qualifier[:20]))


# The refusals that name a role: one sentence per role, for the translators' grammar.
_BELONGS_TO_A_SUBJECT = {
    RoleKind.COORDINATOR: lazy("A coordinator belongs to a subject: run this in the subject's room."),
    RoleKind.FOCAL_POINT: lazy("A focal point belongs to a subject: run this in the subject's room."),
}
_TAKES_NOTHING = {
    RoleKind.CHAIR: lazy('The Chair role takes nothing after it, not "{qualifier}".'),
    RoleKind.MANAGEMENT: lazy('The management team role takes nothing after it, not "{qualifier}".'),
    RoleKind.COORDINATOR: lazy('The coordinator role takes nothing after it, not "{qualifier}".'),
    RoleKind.FOCAL_POINT: lazy('The focal point role takes nothing after it, not "{qualifier}".'),
    RoleKind.SECRETARIAT: lazy('The secretariat role takes nothing after it, not "{qualifier}".'),
}


async def appoint(
    uow: UnitOfWork, wanted: Appointment, *, by: str, at: datetime, prefix: str = "!"
) -> RoleAssignment:
    """Record an appointment, enforcing the group's composition (terms of reference); `prefix` is the
    command prefix a refusal names commands with."""
    current = await _holding(uow, wanted, at, same_person=False)
    mine = [a for a in current if a.matrix_id == wanted.user_id]
    if mine:
        raise OrganisationError(_("{user} is already {role}.", user=wanted.user_id, role=wanted.describe()))
    if wanted.role is RoleKind.CHAIR and current:
        chair = current[0]
        command = f"{prefix}role remove {chair.matrix_id} chair"
        if chair.term_end is not None:
            refusal = _(
                "{user} is the Chair {term}; remove them first with {command}.",
                user=chair.matrix_id,
                term=_until(chair.term_end),
                command=command,
            )
        else:
            refusal = _(
                "{user} is the Chair; remove them first with {command}.",
                user=chair.matrix_id,
                command=command,
            )
        raise OrganisationError(refusal)
    if wanted.role is RoleKind.COORDINATOR and current:
        raise OrganisationError(
            _(
                "{user} coordinates {slug}; remove them first (one coordinator per subject).",
                user=current[0].matrix_id,
                slug=wanted.subject_slug,
            )
        )
    if wanted.role is RoleKind.MANAGEMENT and len(current) >= MANAGEMENT_SEATS_PER_GROUP:
        first, *others = (a.matrix_id for a in current)
        holders = _("{first} and {second}", first=first, second=" and ".join(others)) if others else first
        raise OrganisationError(
            _(
                "{group} already has its two representatives: {holders}.",
                group=wanted.advisory_group,
                holders=holders,
            )
        )
    term_start = term_end = None
    if wanted.role is RoleKind.CHAIR:
        term_start = at
        term_end = _end_of(wanted.until) if wanted.until else at + CHAIR_TERM
        if term_end <= at:
            raise OrganisationError(_("The end of the Chair's term must be in the future."))
    return await uow.roles.add(
        wanted.user_id,
        wanted.role.value,
        by=by,
        at=at,
        subject_id=wanted.subject.id if wanted.subject is not None else None,
        sector=wanted.sector.value if wanted.sector else None,
        advisory_group=wanted.advisory_group.value if wanted.advisory_group else None,
        term_start=term_start,
        term_end=term_end,
    )


async def dismiss(uow: UnitOfWork, wanted: Appointment, *, by: str, at: datetime) -> None:
    held = await _holding(uow, wanted, at, same_person=True)
    if not held:
        raise OrganisationError(_("{user} is not {role}.", user=wanted.user_id, role=wanted.describe()))
    for assignment in held:
        await uow.roles.end(assignment, by=by, at=at)


async def _holding(
    uow: UnitOfWork, wanted: Appointment, at: datetime, *, same_person: bool
) -> list[RoleAssignment]:
    """The active assignments of the same kind (and subject, sector or advisory group) as `wanted`."""
    return await uow.roles.active(
        at=at,
        role=wanted.role.value,
        subject_id=wanted.subject.id if wanted.subject is not None else None,
        sector=wanted.sector.value if wanted.sector else None,
        advisory_group=wanted.advisory_group.value if wanted.advisory_group else None,
        matrix_id=wanted.user_id if same_person else None,
    )


def _end_of(day: date) -> datetime:
    return datetime.combine(day + timedelta(days=1), time(0), UTC)


def _until(term_end: datetime | None) -> str:
    """`until 2030-12-05` (the term's last day), in the current language; "" for no end."""
    if term_end is None:
        return ""
    return _("until {day}", day=(term_end - timedelta(seconds=1)).date().isoformat())


# ---- who is who ------------------------------------------------------------------------------------------


@dataclass
class Roster:
    """A subject's people: its coordinator and its focal points by Sector."""

    coordinators: list[RoleAssignment] = field(default_factory=list)
    focal_points: dict[Sector, list[RoleAssignment]] = field(default_factory=dict)


@dataclass
class Officers:
    """The group-wide roles."""

    chair: list[RoleAssignment] = field(default_factory=list)
    management: dict[AdvisoryGroup, list[RoleAssignment]] = field(default_factory=dict)
    secretariat: list[RoleAssignment] = field(default_factory=list)


async def roster(uow: UnitOfWork, subject: Subject, at: datetime) -> Roster:
    result = Roster()
    for assignment in await uow.roles.active(at=at, subject_id=subject.id):
        if assignment.role == RoleKind.COORDINATOR:
            result.coordinators.append(assignment)
        elif assignment.role == RoleKind.FOCAL_POINT:
            assert assignment.sector is not None  # `appoint` records a focal point with its Sector
            result.focal_points.setdefault(Sector(assignment.sector), []).append(assignment)
    result.focal_points = {s: result.focal_points[s] for s in Sector if s in result.focal_points}
    return result


async def officers(uow: UnitOfWork, at: datetime) -> Officers:
    result = Officers()
    for assignment in await uow.roles.active(at=at):
        if assignment.role == RoleKind.CHAIR:
            result.chair.append(assignment)
        elif assignment.role == RoleKind.MANAGEMENT:
            assert assignment.advisory_group is not None  # `appoint` records the group a member represents
            result.management.setdefault(AdvisoryGroup(assignment.advisory_group), []).append(assignment)
        elif assignment.role == RoleKind.SECRETARIAT:
            result.secretariat.append(assignment)
    result.management = {g: result.management[g] for g in AdvisoryGroup if g in result.management}
    return result


def chair_term(assignment: RoleAssignment) -> str:
    return _until(assignment.term_end)
