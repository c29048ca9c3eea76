"""Where a command runs: a subject's room, the group room, or a room that is neither yet.

Commands that act on "this room's subject" act group-wide in the group room. A room with no subject is not
the group room: there they refuse, with the way out, instead of quietly acting for the whole group.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from iscg_bot.chat.policy import OFFICERS, subject_here
from iscg_bot.chat.router import Context, Refusal
from iscg_bot.core.formatting import Rich, as_rich, code
from iscg_bot.core.i18n import _, tr
from iscg_bot.domain import organisation

if TYPE_CHECKING:
    from iscg_bot.storage.models import Subject


async def group_room(ctx: Context) -> str | None:
    """The group room's ID (None while none is bound), read once per event."""
    if "group room" not in ctx.cache:
        ctx.cache["group room"] = await organisation.group_room(ctx.uow)
    return ctx.cache["group room"]


async def in_group_room(ctx: Context) -> bool:
    return await group_room(ctx) == ctx.room_id


async def subject_or_group(ctx: Context, instead: str | Rich) -> Subject | None:
    """This room's subject; None in the group room (the command acts group-wide there); elsewhere a refusal.

    `instead` ends the refusal: what to do for the whole group, e.g. `lazy("Group-wide meetings are scheduled
    in the group room.")` (a str is translated here; Rich is taken as already written in the reader's
    language). While no group room is bound, a note follows a sentence ending "in the group room.".
    """
    subject = await subject_here(ctx)
    if subject is not None or await in_group_room(ctx):
        return subject
    raise Refusal(no_subject_here(ctx) + " " + await _group_room_note(ctx, instead))


def no_subject_here(ctx: Context) -> Rich:
    """`This room has no subject yet: … can bind it with !subject create <slug> <title…>.`"""
    return tr(
        "This room has no subject yet: {who} can bind it with {command}.",
        who=OFFICERS.shown_name(),
        command=code(f"{ctx.prefix}subject create <slug> <title…>"),
    )


async def _group_room_note(ctx: Context, instead: str | Rich) -> Rich:
    if isinstance(instead, Rich):
        return instead
    if await group_room(ctx) is not None or not instead.endswith("in the group room."):
        return as_rich(_(instead))
    # The sentence (translated whole) with the note inside its end: "… in the group room (none yet: …)."
    sentence = _(instead).rstrip(".。")
    return tr(
        "{sentence} (none yet: the Chair binds it with {command}).",
        sentence=sentence,
        command=code(f"{ctx.prefix}group bind"),
    )
