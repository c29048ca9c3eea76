"""What the bot hears and says, independent of the Matrix library.

`iscg_bot.matrix.events` turns nio's events into these; everything else works with these only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class RoomEvent:
    event_id: str
    room_id: str
    sender: str
    server_time: datetime  # aware, UTC (origin_server_ts)


@dataclass(frozen=True)
class Message(RoomEvent):
    """A text, notice or emote (decrypted if the room is encrypted)."""

    body: str
    msgtype: str = "m.text"  # m.text | m.notice | m.emote
    formatted_body: str | None = None
    replaces: str | None = None  # event edited by this one (m.replace); body is then the new text
    in_reply_to: str | None = None
    mentions: tuple[str, ...] = ()


@dataclass(frozen=True)
class Reaction(RoomEvent):
    key: str
    relates_to: str  # the event reacted to


@dataclass(frozen=True)
class Redaction(RoomEvent):
    redacts: str


@dataclass(frozen=True)
class Undecryptable(RoomEvent):
    """An encrypted event the bot holds no key for."""


@dataclass(frozen=True)
class MembershipChange(RoomEvent):
    user_id: str  # state_key: whose membership changed
    membership: str  # join | leave | invite | ban | knock
    previous: str | None
    display_name: str | None = None


@dataclass(frozen=True)
class Tombstone(RoomEvent):
    replacement_room: str


IncomingEvent = Message | Reaction | Redaction | Undecryptable | MembershipChange | Tombstone


@dataclass(frozen=True)
class Invite:
    """The bot was invited to a room (stripped state: no event ID)."""

    room_id: str
    inviter: str


@dataclass(frozen=True)
class Outgoing:
    """One event to send. `txn_id` is deterministic, so a retried send is idempotent."""

    room_id: str
    event_type: str  # m.room.message | m.reaction
    content: dict[str, Any] = field(default_factory=dict)
    txn_id: str = ""


class PermanentSendError(Exception):
    """The homeserver refused an event for good (not in the room, forbidden, malformed)."""
