"""Who may do what, and where: the one table granting the group's roles (`iscg_bot.domain.roles`) their
rights.

A command declares what it needs once (`roles=OFFICERS`); the router asks `Requirement.allows`, which asks
this module for the sender's standing in the room. Bot administrators (from config) pass every check.

    action                                   who may                                     (PRODUCT.md §1–2)
    ---------------------------------------  ------------------------------------------
    !group bind                              admin, Chair
    !subject create · !subject archive       admin, Chair, management, secretariat
    !subject set                             admin, Chair, management, secretariat, this subject's coordinator
    !role add/remove chair|management        admin, Chair
    !role add/remove coordinator|focal-point|secretariat
                                             admin, Chair, management, secretariat
    !meeting schedule · move · cancel · agenda · suggest
                                             admin, Chair, management, secretariat, this subject's coordinator
                                             (a meeting is changed from its own room, or by the officers)
    !meeting list · show · !rsvp · !calendar anyone in the room
    !action <who> <what> · !actions          anyone in the room (MeetBot practice: anyone records actions)
    !action done · reopen · drop · assign · due
                                             the action's owner, its subject's coordinator, admin, Chair,
                                             management, secretariat (checked by the handler: the owner
                                             depends on the action, see `may_change_action`)
    !subject · !subject list · !roles · !tz · !help · !ping
                                             anyone in the room
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from iscg_bot.chat.router import Context, Requirement
from iscg_bot.domain.roles import RoleKind


class Standing(StrEnum):
    """What someone is, seen from one room. `coordinator`/`focal point` mean: of this room's subject."""

    ADMIN = "admin"
    CHAIR = "chair"
    MANAGEMENT = "management"
    SECRETARIAT = "secretariat"
    COORDINATOR = "coordinator"
    FOCAL_POINT = "focal point"


OFFICERS_SET = frozenset({Standing.ADMIN, Standing.CHAIR, Standing.MANAGEMENT, Standing.SECRETARIAT})

# The policy table: each requirement, the standings that meet it, and how a refusal names them.
POLICY: dict[str, tuple[frozenset[Standing], str]] = {
    "chair": (frozenset({Standing.ADMIN, Standing.CHAIR}), "the Chair"),
    "officers": (OFFICERS_SET, "the Chair, the management team or the secretariat"),
    "subject managers": (
        OFFICERS_SET | {Standing.COORDINATOR},
        "this subject's coordinator, the secretariat, the Chair or the management team",
    ),
}


async def standing(ctx: Context) -> frozenset[Standing]:
    """The sender's standing in this room: from config (admins) and their active role assignments."""
    if "standing" in ctx.cache:
        return ctx.cache["standing"]
    found: set[Standing] = set()
    if ctx.is_admin:
        found.add(Standing.ADMIN)
    roles = await ctx.uow.roles.active(matrix_id=ctx.sender, at=ctx.now)
    subject = await subject_here(ctx)
    for role in roles:
        kind = RoleKind(role.role)
        if kind is RoleKind.CHAIR:
            found.add(Standing.CHAIR)
        elif kind is RoleKind.MANAGEMENT:
            found.add(Standing.MANAGEMENT)
        elif kind is RoleKind.SECRETARIAT:
            found.add(Standing.SECRETARIAT)
        elif subject is not None and role.subject_id == subject.id:
            found.add(Standing.COORDINATOR if kind is RoleKind.COORDINATOR else Standing.FOCAL_POINT)
    ctx.cache["standing"] = frozenset(found)
    return ctx.cache["standing"]


async def subject_here(ctx: Context) -> Any:
    """The subject bound to this room (archived or not), or None."""
    if "subject" not in ctx.cache:
        ctx.cache["subject"] = await ctx.uow.subjects.by_room(ctx.room_id)
    return ctx.cache["subject"]


def _requirement(key: str) -> Requirement:
    standings, name = POLICY[key]

    async def allows(ctx: Context) -> bool:
        return bool(await standing(ctx) & standings)

    return Requirement(name, allows)


CHAIR = _requirement("chair")
OFFICERS = _requirement("officers")
SUBJECT_MANAGERS = _requirement("subject managers")


async def may_change_action(ctx: Context, owner: str, subject_id: int | None) -> bool:
    """An action item is changed by its owner, the coordinator of its subject (asking from any room) and
    the group's officers."""
    if ctx.sender == owner or await OFFICERS.allows(ctx):
        return True
    if subject_id is None:
        return False
    held = await ctx.uow.roles.active(
        matrix_id=ctx.sender, at=ctx.now, role=RoleKind.COORDINATOR.value, subject_id=subject_id
    )
    return bool(held)


# Completes "Only A3's owner, … may run !action done." (the action's subject need not be this room's).
ACTION_CHANGERS = "its subject's coordinator, the secretariat, the Chair or the management team"


async def may_appoint(ctx: Context, role: RoleKind) -> bool:
    """The Chair and the management team are appointed (and removed) by the Chair or an admin only."""
    if role in (RoleKind.CHAIR, RoleKind.MANAGEMENT):
        return await CHAIR.allows(ctx)
    return await OFFICERS.allows(ctx)
