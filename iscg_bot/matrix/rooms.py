"""What nio must know of a room before the bot sends into it, learnt the first time it is needed.

A restart resumes from the stored sync token with an incremental sync. It used to ask for every room's full
state: with a thousand rooms, 2.6 s of the first answer and 18 MB of memory (bench/startup_scale.py), to
answer a command in one of them. nio still needs a room's state before sending into it — whether it is
encrypted (else "No such room" with encryption on) and who is in it (who gets the room key; whether a direct
room still holds its person) — so `RoomStates` fetches one room's state the first time the bot sends there,
once per process. A room whose full state a sync brought (the first sync of a fresh deployment, a room
joined since) is known already.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from nio import (
    AsyncClient,
    Event,
    MatrixRoom,
    RoomEncryptionEvent,
    RoomGetStateError,
    RoomGetStateResponse,
    RoomMemberEvent,
)

log = logging.getLogger(__name__)

# How the gateway runs a request: its retrier, bounded and riding out outages.
Run = Callable[[Callable[[], Awaitable[Any]], str], Awaitable[Any]]


class RoomStates:
    """The rooms whose full state nio holds in this process; `ensure` fetches the state of any other."""

    def __init__(self, client: AsyncClient, run: Run) -> None:
        self.client, self.run = client, run
        self.known: set[str] = set()
        self._locks: dict[str, asyncio.Lock] = {}  # one fetch per room, however many sends wait for it

    def synced_in_full(self, room_ids: Iterable[str]) -> None:
        """A sync brought these rooms' full state (nio has taken it in)."""
        self.known.update(room_ids)

    async def ensure(self, room_id: str) -> None:
        """Make sure nio knows `room_id`'s state; a room the bot cannot read (left, never joined) stays
        unknown, and sending there fails as it did before."""
        if room_id in self.known:
            return
        async with self._locks.setdefault(room_id, asyncio.Lock()):
            if room_id in self.known:
                return
            client = self.client
            response = await self.run(lambda: client.room_get_state(room_id), "room state")
            if isinstance(response, RoomGetStateError):
                log.warning("cannot read the state of %s: %s", room_id, response.message)
                return
            assert isinstance(response, RoomGetStateResponse)
            self._take_in(room_id, response.events)
            self.known.add(room_id)
            log.debug("learnt the state of %s (%d events)", room_id, len(response.events))

    def _take_in(self, room_id: str, events: list[dict[str, Any]]) -> None:
        """Hand the state to nio as its sync handling would (nio has no public call for it)."""
        client = self.client
        room = client.rooms.get(room_id)
        if room is None:
            room = client.rooms[room_id] = MatrixRoom(
                room_id, client.user_id, room_id in client.encrypted_rooms
            )
        for raw in events:
            event = Event.parse_event(raw)
            if isinstance(event, RoomMemberEvent):
                room.handle_membership(event)
            elif isinstance(event, Event):
                room.handle_event(event)  # an m.room.encryption event marks the room encrypted
            if isinstance(event, RoomEncryptionEvent) and room_id not in client.encrypted_rooms:
                client.encrypted_rooms.add(room_id)
                if client.store is not None:
                    client.store.save_encrypted_rooms({room_id})
        if room.encrypted and client.olm is not None:
            client.olm.update_tracked_users(room)  # their devices are asked for before the room key goes
