"""Who may do what, and where: the group's roles (`iscg_bot.domain.roles`) and the rights they give, in one
place.

Each command declares who may run it (`@router.command("meeting move", allow=MEETING_CHANGERS)`): a
`Requirement` on the sender's standing in the room (`CHAIR`, `OFFICERS`, `SUBJECT_MANAGERS`), or a `Rule` that
also sees the object it acts on (the meeting, the action, the running meeting, the role, the report's
subject). The router checks it before the handler runs; `!help` lists what it would accept; and
`permission_table` renders every declaration as the README's table (regenerate it with
`python -m iscg_bot.commands.permission_table --write README.md`). Bot administrators (from config) have
every standing; a running meeting is still run by its chairs alone.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol, TypeVar

from iscg_bot.chat.context import Context
from iscg_bot.chat.permissions import Requirement, Rule
from iscg_bot.chat.router import Router
from iscg_bot.core.formatting import Rich, code, text
from iscg_bot.core.i18n import _, lazy, tr
from iscg_bot.domain import minutes
from iscg_bot.domain.actions import action_label
from iscg_bot.domain.meetings import meeting_label
from iscg_bot.domain.roles import RoleKind
from iscg_bot.storage.models import ActionItem, Meeting, MeetingSession, Subject

T = TypeVar("T")


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
    "chair": (frozenset({Standing.ADMIN, Standing.CHAIR}), lazy("the Chair")),
    "officers": (OFFICERS_SET, lazy("the Chair, the management team or the secretariat")),
    "subject managers": (
        OFFICERS_SET | {Standing.COORDINATOR},
        lazy("this subject's coordinator, the secretariat, the Chair or the management team"),
    ),
}
# How the README's table names each standing, in this order.
LISTED = {
    Standing.ADMIN: "admin",
    Standing.CHAIR: "Chair",
    Standing.MANAGEMENT: "management",
    Standing.SECRETARIAT: "secretariat",
    Standing.COORDINATOR: "this subject's coordinator",
    Standing.FOCAL_POINT: "this subject's focal points",
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


async def subject_here(ctx: Context) -> Subject | None:
    """The subject bound to this room (archived or not), or None."""
    if "subject" not in ctx.cache:
        ctx.cache["subject"] = await ctx.uow.subjects.by_room(ctx.room_id)
    return ctx.cache["subject"]


def _requirement(key: str) -> Requirement:
    standings, name = POLICY[key]

    async def allows(ctx: Context) -> bool:
        return bool(await standing(ctx) & standings)

    listed = ", ".join(words for held, words in LISTED.items() if held in standings)
    return Requirement(name, allows, listed=listed)


CHAIR = _requirement("chair")
OFFICERS = _requirement("officers")
SUBJECT_MANAGERS = _requirement("subject managers")


async def _coordinates(ctx: Context, subject_id: int | None = None) -> bool:
    """Whether the sender coordinates that subject (None: any subject), asking from any room."""
    held = await ctx.uow.roles.active(
        matrix_id=ctx.sender, at=ctx.now, role=RoleKind.COORDINATOR.value, subject_id=subject_id
    )
    return bool(held)


def _argument(name: str, kind: type[T]) -> Callable[[Context, Mapping[str, object]], Awaitable[T | None]]:
    """The object a rule judges: the parsed argument `name`, a `kind` (None when not given)."""

    async def target(ctx: Context, arguments: Mapping[str, object]) -> T | None:
        found = arguments.get(name)
        if found is None or isinstance(found, kind):
            return found
        raise TypeError(
            f"argument {name!r} is a {type(found).__name__}, not the {kind.__name__} the rule judges"
        )

    return target


def _running_command(ctx: Context) -> str:
    return f"{ctx.prefix}{ctx.command.name if ctx.command else ''}"


# ---- meetings: this subject's coordinator from its room, the officers any --------------------------------


async def _changes_meeting(ctx: Context, meeting: Meeting) -> str | None:
    subject = await subject_here(ctx)
    if meeting.subject_id is not None and subject is not None and subject.id == meeting.subject_id:
        return None
    if await OFFICERS.allows(ctx):
        return None
    return _(
        "{meeting} is not this room's meeting; change it in its own room.", meeting=meeting_label(meeting.id)
    )


# A rule's `who` is written out (not built from OFFICERS.who) so that it is one message to translate; it reads
# as the README's table has it: OFFICERS.who is "admin, Chair, management, secretariat".
MEETING_CHANGERS: Rule[Meeting] = Rule(
    lazy("admin, Chair, management, secretariat; this subject's coordinator, for this subject's meetings"),
    _argument("meeting", Meeting),
    _changes_meeting,
    standing=SUBJECT_MANAGERS,
)


# ---- action items: the owner, its subject's coordinator (from any room), the officers ---------------------


async def _changes_action(ctx: Context, action: ActionItem) -> Rich | None:
    if ctx.sender == action.owner or await OFFICERS.allows(ctx):
        return None
    if action.subject_id is not None and await _coordinates(ctx, action.subject_id):
        return None
    # The action's subject need not be this room's.
    return tr(
        "Only {action}'s owner, its subject's coordinator, the secretariat, the Chair or the management team "
        "may run {command}.",
        action=action_label(action.id),
        command=code(_running_command(ctx)),
    )


async def _has_actions_to_change(ctx: Context) -> bool:
    """An officer, a coordinator (of any subject) or the owner of some action item."""
    if await OFFICERS.allows(ctx) or await _coordinates(ctx):
        return True
    return bool(await ctx.uow.actions.of_owner(ctx.sender, statuses=None))


ACTION_CHANGERS: Rule[ActionItem] = Rule(
    lazy("the action's owner, its subject's coordinator, admin, Chair, management, secretariat"),
    _argument("action", ActionItem),
    _changes_action,
    listed=_has_actions_to_change,
)


# ---- the running meeting: its chairs (its starter and the subject's coordinators) -------------------------


async def _running_session(ctx: Context, arguments: Mapping[str, object]) -> MeetingSession | None:
    """The room's running session; None when there is none (the handler says so)."""
    return await ctx.uow.minutes.running(ctx.room_id)


async def _is_chair(ctx: Context, session: MeetingSession) -> bool:
    return ctx.sender in await ctx.uow.minutes.chairs(session.id)


async def _chairs_if_running(ctx: Context) -> bool:
    """Listed for the running meeting's chairs; with no meeting running, for everyone (who then learns
    that none runs)."""
    session = await ctx.uow.minutes.running(ctx.room_id)
    return session is None or await _is_chair(ctx, session)


def meeting_chairs(refusal: str) -> Rule[MeetingSession]:
    """For the running meeting's chairs only; others read `refusal` (marked with `lazy()`: "Only the
    meeting's chairs may end the meeting.")."""

    async def judge(ctx: Context, session: MeetingSession) -> str | None:
        return None if await _is_chair(ctx, session) else _(refusal)

    return Rule(
        lazy("the running meeting's chairs (its starter and the subject's coordinator)"),
        _running_session,
        judge,
        listed=_chairs_if_running,
    )


@dataclass(frozen=True)
class TaggedLine:
    """The running meeting's last tag still counting: who wrote its line."""

    session_id: int
    author: str


async def _last_tagged_line(ctx: Context, arguments: Mapping[str, object]) -> TaggedLine | None:
    session = await ctx.uow.minutes.running(ctx.room_id)
    last = await ctx.uow.minutes.last_tag(session.id) if session is not None else None
    if session is None or last is None:
        return None  # the handler says there is nothing to undo
    line = await ctx.uow.minutes.line(last.line_id)
    assert line is not None  # a tag's line: a foreign key
    return TaggedLine(session.id, line.sender)


async def _undoes(ctx: Context, tagged: TaggedLine) -> str | None:
    if tagged.author == ctx.sender or ctx.sender in await ctx.uow.minutes.chairs(tagged.session_id):
        return None
    return _("Only the meeting's chairs may undo someone else's tagged line.")


UNDOERS: Rule[TaggedLine] = Rule(
    lazy("anyone, for their own tagged line; the running meeting's chairs, for anyone's"),
    _last_tagged_line,
    _undoes,
)


# ---- minutes after the meeting: from their own room (the officers from any) ------------------------------


async def _named_session(ctx: Context, arguments: Mapping[str, object]) -> MeetingSession:
    """The session `reference` names (this room's latest when none is named), or the refusal: none."""
    reference = arguments.get("reference")
    return await minutes.find(ctx.uow, reference if isinstance(reference, str) else None, ctx.room_id)


async def _from_its_room(ctx: Context, session: MeetingSession) -> str | None:
    if session.room_id == ctx.room_id or await OFFICERS.allows(ctx):
        return None
    return _(
        "The minutes of {reference} are approved or reopened in their own room.", reference=session.reference
    )


async def _reopens(ctx: Context, session: MeetingSession) -> str | None:
    elsewhere = await _from_its_room(ctx, session)
    if elsewhere is not None:
        return elsewhere
    if await _is_chair(ctx, session) or await SUBJECT_MANAGERS.allows(ctx):
        return None
    return _("Only the meeting's chairs, the coordinator or the officers may reopen its minutes.")


async def _may_reopen_here(ctx: Context) -> bool:
    """This subject's managers, or a chair of the room's latest minutes (those a bare command names)."""
    if await SUBJECT_MANAGERS.allows(ctx):
        return True
    latest = await ctx.uow.minutes.latest_of_room(ctx.room_id)
    return latest is not None and await _is_chair(ctx, latest)


MINUTES_APPROVERS: Rule[MeetingSession] = Rule(
    lazy("admin, Chair, management, secretariat; this subject's coordinator, for this room's minutes"),
    _named_session,
    _from_its_room,
    standing=SUBJECT_MANAGERS,
)
MINUTES_REOPENERS: Rule[MeetingSession] = Rule(
    lazy(
        "admin, Chair, management, secretariat; the meeting's chairs and this subject's coordinator, "
        "for this room's minutes"
    ),
    _named_session,
    _reopens,
    listed=_may_reopen_here,
)


# ---- appointments: the Chair and the management team by the Chair only -----------------------------------


_APPOINTED_BY_THE_CHAIR_ONLY = {
    RoleKind.CHAIR: lazy("Only the Chair may appoint or remove the Chair."),
    RoleKind.MANAGEMENT: lazy("Only the Chair may appoint or remove the management team."),
}


async def _appoints(ctx: Context, role: str) -> str | None:
    kind = RoleKind(role.replace("-", "_"))
    if kind in (RoleKind.CHAIR, RoleKind.MANAGEMENT) and not await CHAIR.allows(ctx):
        return _(_APPOINTED_BY_THE_CHAIR_ONLY[kind])
    return None


APPOINTERS: Rule[str] = Rule(
    lazy(
        "admin, Chair (chair, management); admin, Chair, management, secretariat "
        "(coordinator, focal-point, secretariat)"
    ),
    _argument("role", str),
    _appoints,
    standing=OFFICERS,
)


# ---- reports: the officers on anything, a coordinator on their own subject -------------------------------


class SubjectScoped(Protocol):
    """What a report covers: one subject (its slug), or None for more than one."""

    @property
    def subject(self) -> str | None: ...


async def _reports_on(ctx: Context, scope: SubjectScoped) -> Rich | None:
    if await OFFICERS.allows(ctx):
        return None
    if scope.subject is not None:
        subject = await ctx.uow.subjects.by_slug(scope.subject)
        if subject is not None and await _coordinates(ctx, subject.id):
            return None
    return text(
        _(
            "Only the Chair, the management team or the secretariat may run {command}; a coordinator, "
            "for their own subject.",
            command=_running_command(ctx),
        )
    )


async def _may_report(ctx: Context) -> bool:
    return await OFFICERS.allows(ctx) or await _coordinates(ctx)


def reporters(
    scope: Callable[[Context, Mapping[str, object]], Awaitable[SubjectScoped]],
) -> Rule[SubjectScoped]:
    """The officers report on anything, a coordinator on their own subject; `scope` reads what is asked
    for from the arguments."""
    return Rule(
        lazy("admin, Chair, management, secretariat; a coordinator, for their own subject"),
        scope,
        _reports_on,
        listed=_may_report,
    )


# ---- the table ---------------------------------------------------------------------------------------------


ESCAPED_BAR = r"\|"  # a `|` inside a Markdown table's cell


def permission_table(router: Router) -> str:
    """The README's permission table, from the declarations: a row per area and rule, in declaration order."""
    rows: dict[tuple[str, str], list[str]] = {}
    for command in router.commands:
        if not command.hidden:
            rows.setdefault((command.area, command.allow.who), []).append(f"`{router.prefix}{command.name}`")
    lines = ["| command | who may run it |", "|---|---|"]
    for (_area, who), names in rows.items():
        lines.append(f"| {' · '.join(names)} | {who.replace('|', ESCAPED_BAR)} |")
    return "\n".join(lines) + "\n"
