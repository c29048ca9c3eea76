"""Translating nio's events into the bot's (`iscg_bot.chat.events`).

Pure functions over what a sync or a page of `/messages` brought: no client, no requests. The gateway calls
them; past it, nothing sees nio's event classes. Events the bot has no use for translate to None.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from nio import MegolmEvent, SyncResponse

from iscg_bot.chat.events import (
    IncomingEvent,
    Invite,
    MembershipChange,
    Message,
    Reaction,
    Redaction,
    Tombstone,
    Undecryptable,
)

MESSAGE_TYPES = {"m.text", "m.notice", "m.emote"}
MEMBERSHIPS = {"join", "leave", "invite", "ban", "knock"}


def invites(response: SyncResponse, user_id: str) -> list[Invite]:
    """The rooms this sync invites `user_id` (the bot) to, each with who invited it."""
    found = []
    for room_id, info in response.rooms.invite.items():
        inviter = None
        for event in info.invite_state:
            source = getattr(event, "source", {}) or {}
            if getattr(event, "state_key", None) == user_id and source.get("type", "m.room.member"):
                if getattr(event, "membership", None) == "invite":
                    inviter = event.sender
        if inviter is not None:
            found.append(Invite(room_id=room_id, inviter=inviter))
    return found


def is_own_join(event: Any, user_id: str) -> bool:  # noqa: ANN401 — nio's untyped event
    """Is `event` `user_id` (the bot) joining the room, rather than changing its name or avatar?"""
    source = getattr(event, "source", {}) or {}
    content = source.get("content", {}) or {}
    prev = (source.get("unsigned", {}) or {}).get("prev_content", {}) or {}
    return (
        source.get("type") == "m.room.member"
        and source.get("state_key") == user_id
        and content.get("membership") == "join"
        and prev.get("membership") != "join"
    )


def split_at_own_join(timeline: list[Any], user_id: str) -> tuple[list[Any], list[Any]]:
    """History (before the bot joined the room) and what came since its join. Of history, only who
    is a member matters; nothing said there is a command for the bot."""
    for index in range(len(timeline) - 1, -1, -1):
        if is_own_join(timeline[index], user_id):
            return timeline[:index], timeline[index:]
    return [], timeline


def translate(room_id: str, event: Any) -> IncomingEvent | None:  # noqa: ANN401 — nio's untyped event
    """The bot's event for one of nio's events in `room_id`, or None when the bot has no use for it."""
    source: dict[str, Any] = getattr(event, "source", {}) or {}
    event_id = source.get("event_id") or getattr(event, "event_id", None)
    sender = source.get("sender") or getattr(event, "sender", None)
    if not event_id or not sender:
        return None
    ts = source.get("origin_server_ts") or getattr(event, "server_timestamp", 0) or 0
    base = {
        "event_id": event_id,
        "room_id": room_id,
        "sender": sender,
        "server_time": datetime.fromtimestamp(ts / 1000, UTC),
    }
    if isinstance(event, MegolmEvent):
        return Undecryptable(**base)
    kind = source.get("type")
    content = source.get("content") or {}
    if not isinstance(content, dict):
        return None
    if kind == "m.room.message":
        return _message(base, content)
    if kind == "m.reaction":
        return _reaction(base, content)
    if kind == "m.room.redaction":
        return _redaction(base, source, content)
    if kind == "m.room.member":
        return _membership(base, source, content)
    if kind == "m.room.tombstone" and content.get("replacement_room"):
        return Tombstone(**base, replacement_room=content["replacement_room"])
    return None


def _message(base: dict[str, Any], content: dict[str, Any]) -> Message | None:
    relation = content.get("m.relates_to") or {}
    replaces = None
    if isinstance(relation, dict) and relation.get("rel_type") == "m.replace" and relation.get("event_id"):
        replaces = relation["event_id"]
        new_content = content.get("m.new_content")
        if isinstance(new_content, dict):
            content = new_content
    msgtype = content.get("msgtype")
    body = content.get("body")
    if msgtype not in MESSAGE_TYPES or not isinstance(body, str):
        return None
    reply = relation.get("m.in_reply_to") if isinstance(relation, dict) else None
    mentions = content.get("m.mentions") or {}
    user_ids = mentions.get("user_ids") if isinstance(mentions, dict) else None
    formatted = content.get("formatted_body")
    return Message(
        **base,
        body=body,
        msgtype=msgtype,
        formatted_body=formatted if isinstance(formatted, str) else None,
        replaces=replaces,
        in_reply_to=reply.get("event_id") if isinstance(reply, dict) else None,
        mentions=tuple(u for u in user_ids if isinstance(u, str)) if isinstance(user_ids, list) else (),
    )


def _reaction(base: dict[str, Any], content: dict[str, Any]) -> Reaction | None:
    relation = content.get("m.relates_to") or {}
    if relation.get("rel_type") == "m.annotation" and relation.get("event_id"):
        return Reaction(**base, key=str(relation.get("key", "")), relates_to=relation["event_id"])
    return None


def _redaction(base: dict[str, Any], source: dict[str, Any], content: dict[str, Any]) -> Redaction | None:
    redacts = source.get("redacts") or content.get("redacts")
    return Redaction(**base, redacts=redacts) if redacts else None


def _membership(
    base: dict[str, Any], source: dict[str, Any], content: dict[str, Any]
) -> MembershipChange | None:
    prev = (source.get("unsigned") or {}).get("prev_content") or {}
    membership = content.get("membership")
    if membership not in MEMBERSHIPS or not str(source.get("state_key", "")).startswith("@"):
        return None
    name = content.get("displayname")
    return MembershipChange(
        **base,
        user_id=source["state_key"],
        membership=membership,
        previous=prev.get("membership") if isinstance(prev, dict) else None,
        display_name=name if isinstance(name, str) and name.strip() else None,
    )
