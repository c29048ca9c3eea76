"""Room life: who is in each room, what they are called, and subjects that follow their rooms."""

from __future__ import annotations

import asyncio
import logging

from iscg_bot.chat.events import MembershipChange, Tombstone
from iscg_bot.chat.router import Context, Router
from iscg_bot.domain import organisation
from iscg_bot.storage import AlreadyExists

log = logging.getLogger(__name__)
router = Router()
_joins: set[asyncio.Task[bool]] = set()  # keep references to fire-and-forget joins


@router.on_event(MembershipChange)
async def track_membership(ctx: Context, event: MembershipChange) -> None:
    """Display names and room members from membership events; a subject whose room lost the bot is kept."""
    await ctx.uow.members.record(event.room_id, event.user_id, event.membership, event.display_name, ctx.now)
    if event.membership == "join" and event.display_name:
        await ctx.uow.people.set_display_name(event.user_id, event.display_name, ctx.now)
    if event.user_id == ctx.services.config.matrix.user_id:
        active = event.membership == "join"
        subject = await ctx.uow.subjects.set_room_active(event.room_id, active, ctx.now)
        if subject is not None and not active:
            log.warning(
                "removed from the room of subject %s; the subject is kept, marked inactive", subject.slug
            )


@router.on_event(Tombstone)
async def follow_room_upgrade(ctx: Context, event: Tombstone) -> None:
    """A room upgrade moves the subject (or the group room) to the new room, and the bot follows."""
    try:
        subject = await ctx.uow.subjects.move_room(event.room_id, event.replacement_room, ctx.now)
    except AlreadyExists:
        log.error(
            "room %s was upgraded to %s, which another subject holds", event.room_id, event.replacement_room
        )
        return
    if await organisation.group_room(ctx.uow) == event.room_id:
        await ctx.uow.state.set(organisation.GROUP_ROOM, event.replacement_room, ctx.now)
    elif subject is None:
        return
    log.info("room %s was upgraded to %s; following it", event.room_id, event.replacement_room)
    gateway = ctx.services.gateway
    if gateway is not None:
        # Joining is idempotent and needs no transaction: do it beside this one, not inside it.
        task = asyncio.create_task(gateway.join(event.replacement_room))
        _joins.add(task)
        task.add_done_callback(_joins.discard)
