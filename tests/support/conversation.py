"""End-to-end conversation helpers: a room with the bot in it, and a command with its reply."""

from __future__ import annotations

from typing import Any

from tests.support.matrix_user import body_of, is_reply_to


async def room_with_bot(
    owner: Any, bot_id: str, *, encrypted: bool = False, room_version: str | None = None
) -> str:
    """A fresh room created by `owner` with the bot invited and joined."""
    room_id = await owner.create_room(invite=[bot_id], encrypted=encrypted, room_version=room_version)
    await owner.wait_joined(room_id, bot_id, timeout=30)
    return room_id


async def invite_in(owner: Any, room_id: str, *users: Any) -> None:
    """`owner` invites each of `users`, who joins; returns once `owner` sees every one of them joined."""
    for user in users:
        await owner.invite(room_id, user.user_id)
        await user.join(room_id)
        await owner.wait_joined(room_id, user.user_id)


async def ask(user: Any, room_id: str, body: str, bot_id: str) -> dict[str, Any]:
    """Send a command; the bot's reply event."""
    event_id = await user.send_text(room_id, body)
    return await user.wait_for(is_reply_to(event_id, sender=bot_id), room_id=room_id, timeout=30)


async def say(user: Any, room_id: str, body: str, bot_id: str) -> str:
    """Send a command; the plain body of the bot's reply."""
    return body_of(await ask(user, room_id, body, bot_id))


async def barrier(user: Any, room_id: str, bot_id: str) -> str:
    """Send `!ping` and wait for its pong; the ping's event id (to leave it out of counts).

    The bot handles a room's events in order and sends in the order it queued, so once the pong is seen,
    anything it would still have sent about earlier events (a doubled reply, a second reminder) is in the
    room too: "nothing more arrives" is proven without sleeping."""
    ping = await user.send_text(room_id, "!ping")
    await user.wait_for(is_reply_to(ping, sender=bot_id), room_id=room_id, timeout=60)
    return ping
