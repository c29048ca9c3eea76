"""Room membership through the chat driver: someone joins a room, as the homeserver would report it."""

from __future__ import annotations

from iscg_bot.chat.events import MembershipChange
from tests.chat import COP, Chat


async def join(chat: Chat, user: str, room: str = COP) -> None:
    """`user` joins `room` now (no display name): the bot learns they are a member."""
    await chat.deliver(
        MembershipChange(
            event_id=f"$join{user}",
            room_id=room,
            sender=user,
            server_time=chat.clock.now(),
            user_id=user,
            membership="join",
            previous=None,
            display_name=None,
        )
    )
