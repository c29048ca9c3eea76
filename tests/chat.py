"""A chat driver for fast tests: the real router, dispatcher, storage (SQLite) and outbox; a fake gateway.

chat = await Chat.open(tmp_path)
assert await chat.say("!ping") == ["pong"]
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import os
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest_asyncio
from sqlalchemy import select

from iscg_bot.chat.dispatcher import Dispatcher
from iscg_bot.chat.events import IncomingEvent, Invite, Message, Outgoing, PermanentSendError
from iscg_bot.chat.outbox import DIRECT_PREFIX, OutboxSender
from iscg_bot.chat.router import Router
from iscg_bot.chat.services import Services
from iscg_bot.commands import build_router
from iscg_bot.core.clock import FrozenClock
from iscg_bot.core.commits import CommitListeners
from iscg_bot.core.config import Settings
from iscg_bot.storage import Database, UnitOfWork
from iscg_bot.storage.models import OutboxMessage

BOT = "@iscg-bot:example.org"
ALICE = "@alice:example.org"
ADMIN = "@admin:example.org"
ROOM = "!subject:example.org"
COP = "!cop:example.org"  # the subject room most chat tests build
AI = "!ai:example.org"  # a second subject's room
COORD = "@coord:example.org"  # and its coordinator
START = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


@dataclass
class FakeGateway:
    """Records what the bot would send; `refuse` makes sends to a room fail for good.

    `direct` holds the private messages: (user ID, content), in the order sent; `uploads` the files.
    """

    sent: list[Outgoing] = field(default_factory=list)
    direct: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    joined: list[str] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)
    uploads: list[tuple[str, str, bytes]] = field(default_factory=list)  # (filename, MIME type, bytes)
    ready: asyncio.Event = field(default_factory=asyncio.Event)

    async def send(self, outgoing: Outgoing) -> str:
        if outgoing.room_id in self.refuse:
            raise PermanentSendError("M_FORBIDDEN: not in room")
        self.sent.append(outgoing)
        return f"$sent{len(self.sent)}"

    async def upload(self, room_id: str, data: bytes, *, mimetype: str, filename: str) -> dict[str, Any]:
        self.uploads.append((filename, mimetype, data))
        return {"url": f"mxc://example.org/upload{len(self.uploads)}"}

    async def direct_message(self, user_id: str, content: dict[str, Any], *, txn_id: str) -> str:
        self.direct.append((user_id, content))
        return f"$direct{len(self.direct)}"

    async def join(self, room_id: str) -> bool:
        self.joined.append(room_id)
        return True

    async def reject_invite(self, room_id: str) -> None:
        self.rejected.append(room_id)


def settings(**bot: Any) -> Settings:
    return Settings.model_validate(
        {
            "matrix": {"homeserver": "http://127.0.0.1:1", "user_id": BOT, "password": "x"},
            "bot": {"admins": [ADMIN], **bot},
        }
    )


class Chat:
    def __init__(self, database: Database, router: Router, config: Settings) -> None:
        self.database = database
        self.clock = FrozenClock(START)
        self.gateway = FakeGateway()
        self.config = config
        self.router = router
        self.services = Services(config=config, clock=self.clock, database=database, gateway=self.gateway)
        self.commits = CommitListeners()  # told after every committed change, as in the app
        self.dispatcher = Dispatcher(
            settings=config,
            router=router,
            sessions=database.sessions,
            services=self.services,
            clock=self.clock,
            bot_user_id=BOT,
            commits=self.commits,
        )
        self._ids = itertools.count(1)

    @classmethod
    async def open(cls, tmp_path: Path, *, router: Router | None = None, **bot: Any) -> Chat:
        database = Database(f"sqlite+aiosqlite:///{tmp_path / 'chat.db'}")
        await database.migrate()
        config = settings(**bot)
        return cls(database, router or build_router(config.bot.command_prefix), config)

    async def close(self) -> None:
        await self.database.dispose()

    def message(self, body: str, *, sender: str = ALICE, room: str = ROOM, **extra: Any) -> Message:
        return Message(
            event_id=f"$event{next(self._ids)}",
            room_id=room,
            sender=sender,
            server_time=self.clock.now(),
            body=body,
            **extra,
        )

    async def say(self, body: str, *, sender: str = ALICE, room: str = ROOM) -> list[str]:
        """Send a message and return the plain bodies of the bot's replies to it."""
        return [c["body"] for c in await self.deliver(self.message(body, sender=sender, room=room))]

    async def deliver(self, event: IncomingEvent) -> list[dict[str, Any]]:
        """Hand the bot one event; return the contents it queued in answer (and mark them sent)."""
        await self.dispatcher.handle(event)
        return await self.take_outbox()

    async def invite(self, inviter: str, room: str = "!new:example.org") -> None:
        await self.dispatcher.handle_invite(Invite(room_id=room, inviter=inviter), self.gateway)

    async def take_outbox(self) -> list[dict[str, Any]]:
        """The contents queued so far for rooms, marked sent as `$out<row id>` (as a homeserver would name
        them). Private messages go to `gateway.direct` instead (see `dms`)."""
        async with UnitOfWork(self.database.sessions) as uow:
            rows = await uow.outbox.pending(limit=10_000)
            for row in rows:
                await uow.outbox.mark_sent(row.id, f"$out{row.id}", self.clock.now())
            await uow.commit()
        for row in rows:
            if row.room_id.startswith(DIRECT_PREFIX):
                self.gateway.direct.append((row.room_id.removeprefix(DIRECT_PREFIX), dict(row.content)))
        return [dict(row.content) for row in rows if not row.room_id.startswith(DIRECT_PREFIX)]

    def dms(self, user_id: str = ALICE) -> list[str]:
        """The plain bodies of the private messages sent to `user_id` so far."""
        return [content["body"] for user, content in self.gateway.direct if user == user_id]

    async def sent_event_id(self, purpose: str) -> str:
        """The event ID of the last message sent for `purpose`, e.g. a meeting's announcement."""
        async with UnitOfWork(self.database.sessions) as uow:
            query = select(OutboxMessage.remote_event_id).filter_by(purpose=purpose)
            event_id = await uow.session.scalar(query.order_by(OutboxMessage.id.desc()).limit(1))
        assert event_id is not None, f"nothing was sent for {purpose!r}"
        return event_id

    async def pending(self) -> list[Any]:
        async with UnitOfWork(self.database.sessions) as uow:
            return await uow.outbox.pending(limit=10_000)

    def outbox_sender(self) -> OutboxSender:
        return OutboxSender(self.database.sessions, self.gateway, self.clock)


@pytest_asyncio.fixture(loop_scope="session")
async def chat(tmp_path: Path) -> Any:
    """A chat with the bot on a fresh database: `await chat.say("!ping") == ["pong"]`."""
    chat = await Chat.open(tmp_path)
    try:
        yield chat
    finally:
        await chat.close()


async def said(chat: Chat, body: str, *, by: str = COORD, room: str = COP) -> str:
    """Say something and return the bot's one reply (failing the test if it answered more or nothing)."""
    replies = await chat.say(body, sender=by, room=room)
    assert len(replies) == 1, replies
    return replies[0]


async def two_subjects_with_a_meeting_each(chat: Chat) -> Chat:
    """Subject cop (coordinator @coord) and subject ai; M1 in cop at 09:15 UTC, M2 in ai at 09:10 UTC."""
    await said(chat, "!subject create cop Child Online Protection", by=ADMIN)
    await said(chat, "!subject create ai AI for Good", by=ADMIN, room=AI)
    await said(chat, f"!role add {COORD} coordinator", by=ADMIN)
    await said(chat, '!meeting schedule "Coordination call" 2026-11-25 09:15 UTC for 60m')
    await said(chat, '!meeting schedule "AI call" 2026-11-25 09:10 UTC for 60m', by=ADMIN, room=AI)
    return chat


async def hold_a_meeting_in_cop(chat: Chat) -> None:
    """@coord runs a 45-minute meeting in cop that agrees one thing and raises one key issue; what the bot
    said about it is taken from the outbox."""
    await said(chat, "!startmeeting")
    await chat.deliver(chat.message("!agreed Publish the guidelines in March", sender=COORD, room=COP))
    await chat.deliver(chat.message("!keyissue Funding for 2027", sender=COORD, room=COP))
    chat.clock.advance(timedelta(minutes=45))
    await chat.deliver(chat.message("!endmeeting", sender=COORD, room=COP))
    await chat.take_outbox()


async def run_cli(tmp_path: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    """`iscg-bot <arguments>` as its own process on the chat's database (`Chat.open(tmp_path)`), configured
    from the environment only."""
    (tmp_path / "none.toml").write_text("")
    env = {
        **os.environ,
        "ISCG_CONFIG": str(tmp_path / "none.toml"),
        "ISCG_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'chat.db'}",
        "ISCG_MATRIX_HOMESERVER": "http://127.0.0.1:1",
        "ISCG_MATRIX_USER_ID": BOT,
        "ISCG_MATRIX_PASSWORD": "x",
    }
    command = [sys.executable, "-m", "iscg_bot", *arguments]
    run = functools.partial(
        subprocess.run, capture_output=True, text=True, env=env, timeout=120, cwd=tmp_path
    )
    return await asyncio.to_thread(run, command)
