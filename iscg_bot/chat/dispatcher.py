"""From heard events to committed effects, exactly once.

For each event that anything listens to, one transaction records the event ID in the ledger, runs the
commands or passive handlers, and writes their replies to the outbox. An event seen again (restart,
re-sync, gap fill) finds its ID in the ledger and has no second effect. Rooms are handled in parallel,
each room's events in timeline order.
"""

from __future__ import annotations

import asyncio
import html
import logging
import re
import urllib.parse
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from iscg_bot.chat.events import IncomingEvent, Invite, MembershipChange, Message, Undecryptable
from iscg_bot.chat.languages import Languages
from iscg_bot.chat.outbox import (
    PendingMessage,
    direct_target,
    file_content,
    notice_content,
    reaction_content,
    txn_id,
)
from iscg_bot.chat.router import Context, Invocation, Router
from iscg_bot.chat.services import Gateway, Services
from iscg_bot.core.clock import Clock
from iscg_bot.core.commits import CommitListeners
from iscg_bot.core.config import Settings
from iscg_bot.core.formatting import as_rich, code
from iscg_bot.core.i18n import _, lazy, speaking, tr
from iscg_bot.core.metrics import Metrics, command_label
from iscg_bot.storage import DuplicateEvent, UnitOfWork

log = logging.getLogger(__name__)

OUTBOX_TABLES = frozenset({"outbox", "outbox_files"})
# A batch this long is first checked against the ledger in one query (a live batch holds one or two events).
LEDGER_LOOKUP_FROM = 20


@dataclass(frozen=True)
class Queued:
    """One event to queue in the outbox: its type and content; what it is for (None, or e.g.
    "announcement:M12" when it must be found again once sent); where it goes when not to the event's room
    (e.g. `direct_target(user)`: a private message); a file (name, MIME type, bytes) to upload first."""

    event_type: str
    content: dict[str, Any]
    purpose: str | None = None
    target: str | None = None
    file: tuple[str, str, bytes] | None = None


APOLOGY = lazy(
    "Sorry, something went wrong while running that command; nothing was changed. It has been logged."
)


class Dispatcher:
    """Tells `commits` after every transaction it commits (workers wake, caches drop what they kept)."""

    def __init__(
        self,
        *,
        settings: Settings,
        router: Router,
        sessions: async_sessionmaker[AsyncSession],
        services: Services,
        clock: Clock,
        bot_user_id: str,
        commits: CommitListeners | None = None,
        hand_off: Callable[[Sequence[PendingMessage]], None] | None = None,
        metrics: Metrics | None = None,
        languages: Languages | None = None,
    ) -> None:
        self.settings = settings
        self.router = router
        self.sessions = sessions
        self.services = services
        self.clock = clock
        self.bot_user_id = bot_user_id
        self.commits = commits if commits is not None else CommitListeners()
        # Told the outbox rows each commit wrote (the sender's `take`): they go without being read back.
        self.hand_off = hand_off
        self.metrics = metrics or Metrics()
        # Who reads which language: shared with the reminders where the app builds both (one cache).
        self.languages = languages or Languages(settings.bot.default_language, commits=self.commits)

    async def handle_batch(self, events: list[IncomingEvent]) -> None:
        received = self.metrics.timer()  # the reply latency counts the wait behind a room's earlier events
        if len(events) >= LEDGER_LOOKUP_FROM:
            events = await self._not_handled_yet(events)
        rooms: dict[str, list[IncomingEvent]] = defaultdict(list)
        for event in events:
            rooms[event.room_id].append(event)
        await asyncio.gather(*(self._handle_room(room_events, received) for room_events in rooms.values()))

    async def _not_handled_yet(self, events: list[IncomingEvent]) -> list[IncomingEvent]:
        """`events` less those the ledger holds, asked in one query. A restart's first sync replays every
        room's members (a thousand rooms: thousands of events handled before); each would otherwise open a
        transaction only to find its ledger row."""
        async with UnitOfWork(self.sessions) as uow:
            handled = await uow.events.seen_among([event.event_id for event in events])
        return [event for event in events if event.event_id not in handled]

    async def _handle_room(self, events: list[IncomingEvent], received: float) -> None:
        for event in events:
            await self.handle(event, received=received)

    async def handle(self, event: IncomingEvent, *, received: float | None = None) -> None:
        """Handle one event; `received` is the `metrics.timer()` reading when it arrived (default: now)."""
        if event.sender == self.bot_user_id and not isinstance(event, MembershipChange):
            return  # our own messages and reactions
        if isinstance(event, Message):
            invocations = self._commands_in(event)
            if invocations:
                since = self.metrics.timer() if received is None else received
                outcomes: list[tuple[str, str]] = []  # counted only once committed: a rerun counts once
                committed = await self._in_transaction(
                    event, lambda uow: self._run_commands(uow, event, invocations, outcomes)
                )
                if committed:
                    self.metrics.commands_handled(outcomes, since=since)
                return
        if isinstance(event, Undecryptable):
            await self._in_transaction(event, lambda uow: self._undecryptable(uow, event))
        elif isinstance(event, MembershipChange) and self._bot_joined(event):
            await self._in_transaction(event, lambda uow: self._greet(uow, event))
        elif self.router.has_passive(event):
            await self._in_transaction(event, lambda uow: self._run_passive(uow, event))

    async def handle_invite(self, invite: Invite, gateway: Gateway) -> None:
        """Join when an administrator or an allow-listed user or server invites; otherwise decline."""
        if self.settings.may_invite(invite.inviter):
            log.info("invited to %s by %s: joining", invite.room_id, invite.inviter)
            await gateway.join(invite.room_id)
        else:
            log.warning(
                "invited to %s by %s, who may not invite the bot: declining", invite.room_id, invite.inviter
            )
            await gateway.reject_invite(invite.room_id)

    # ---- what runs inside the transaction ----------------------------------------------------------------

    def _commands_in(self, event: Message) -> list[Invocation]:
        # Notices are other bots talking; edits are not new commands (an edited "!ping" must not ping twice).
        if event.msgtype == "m.notice" or event.replaces is not None:
            return []
        return self.router.parse(with_pills_as_ids(event))

    def _bot_joined(self, event: MembershipChange) -> bool:
        """The bot accepted an invitation: greet. (Rooms it creates itself, such as direct rooms, are not
        greeted: there the bot joins without an invitation.)"""
        return event.user_id == self.bot_user_id and event.membership == "join" and event.previous == "invite"

    async def _greet(self, uow: UnitOfWork, event: MembershipChange) -> list[Queued]:
        prefix = self.settings.bot.command_prefix
        with speaking(await self.languages.of_room(uow, event.room_id)):
            hello = tr(
                "Hello! I'm the ISCG bot: I schedule this room's electronic meetings, keep their minutes and "
                "action items, and publish them in calendars. Type {help} to see what you can do here.",
                help=code(f"{prefix}help"),
            )
        return [Queued("m.room.message", notice_content(hello)), *await self._run_passive(uow, event)]

    async def _undecryptable(self, uow: UnitOfWork, event: Undecryptable) -> list[Queued]:
        with speaking(await self.languages.of_reader(uow, event.sender, event.room_id)):
            sorry = tr(
                "I could not decrypt your message (my device has no key for it). "
                "If it was a command, please send it again."
            )
        # Whatever listens to the room (the minutes) hears of it too, in the same transaction.
        return [
            Queued("m.room.message", notice_content(sorry, reply_to=event)),
            *await self._run_passive(uow, event),
        ]

    async def _run_commands(
        self, uow: UnitOfWork, event: Message, invocations: list[Invocation], outcomes: list[tuple[str, str]]
    ) -> list[Queued]:
        # What listens to every message (the minutes) hears a command first, outside the commands' savepoints:
        # a refused or failing command is still on the record, verbatim.
        outgoing: list[Queued] = await self._run_passive(uow, event) if self.router.has_passive(event) else []
        for invocation in invocations:
            ctx = await self._context(uow, event)
            outcome = "refused"
            try:
                # A reply is written in its reader's language (a message to the whole room in the room's:
                # the command says so with `speaking(ctx.room_language)`).
                with speaking(ctx.language):
                    async with uow.savepoint() as savepoint:
                        if await self.router.execute(ctx, invocation):
                            outcome = "ok"
                        else:
                            await savepoint.rollback()  # any refusal leaves nothing behind
            except Exception:
                outcome = "error"
                log.exception("command failed in %s: %r", event.room_id, event.body[:200])
                with speaking(ctx.language):
                    ctx.replies[:] = [as_rich(_(APOLOGY))]
                ctx.purposes.clear()
                ctx.reactions[:] = []
                ctx.direct[:] = []
                ctx.files[:] = []
            outcomes.append((command_label(invocation), outcome))
            outgoing.extend(self._outgoing(ctx, event))
        return outgoing

    async def _run_passive(self, uow: UnitOfWork, event: IncomingEvent) -> list[Queued]:
        ctx = self._bare_context(uow, event)
        try:
            # Asked before the savepoint: a message no handler has work for (no meeting running in the
            # room: nearly every one) then costs its read, not a SAVEPOINT and a RELEASE besides, nor the
            # reads of who speaks what.
            if not await self.router.passive_applies(ctx, event):
                return []
            await self._speak(uow, ctx, event)
            with speaking(ctx.room_language):  # what a passive handler says, it says to the room
                async with uow.savepoint():
                    await self.router.handle_passive(ctx, event)
        except Exception:
            log.exception("passive handler failed on %s in %s", event.event_id, event.room_id)
            return []
        return self._outgoing(ctx, event)

    async def _context(self, uow: UnitOfWork, event: IncomingEvent) -> Context:
        ctx = self._bare_context(uow, event)
        await self._speak(uow, ctx, event)
        return ctx

    def _bare_context(self, uow: UnitOfWork, event: IncomingEvent) -> Context:
        """The event's context, its languages not known yet (`_speak`)."""
        return Context(
            room_id=event.room_id,
            sender=event.sender,
            event_id=event.event_id,
            now=self.clock.now(),
            services=self.services,
            transaction=uow,
            event=event,
        )

    async def _speak(self, uow: UnitOfWork, ctx: Context, event: IncomingEvent) -> None:
        """Who reads what: the sender's language (replies) and the room's (messages to everyone in it)."""
        ctx.language = await self.languages.of_reader(uow, event.sender, event.room_id)
        ctx.room_language = await self.languages.of_room(uow, event.room_id)

    def _outgoing(self, ctx: Context, event: IncomingEvent) -> list[Queued]:
        replies = [
            Queued("m.room.message", notice_content(reply, reply_to=event), ctx.purposes.get(index))
            for index, reply in enumerate(ctx.replies)
        ]
        replies += [Queued("m.reaction", reaction_content(event.event_id, key)) for key in ctx.reactions]
        replies += [
            Queued("m.room.message", notice_content(message), target=direct_target(user))
            for user, message in ctx.direct
        ]
        replies += [
            Queued("m.room.message", file_content(name, mimetype, len(data)), file=(name, mimetype, data))
            for name, mimetype, data in ctx.files
        ]
        return replies

    async def _in_transaction(
        self, event: IncomingEvent, work: Callable[[UnitOfWork], Awaitable[list[Queued]]]
    ) -> bool:
        """Ledger row, effects and outgoing events commit together, or not at all. True when committed
        (False: the event was handled before)."""
        try:
            async with UnitOfWork(self.sessions) as uow:
                # Seen before: the ledger's INSERT raises DuplicateEvent (no SELECT first: one statement less
                # for every event, and a rerun is rare).
                await uow.events.record(event.event_id, event.room_id, self.clock.now())
                outgoing = await work(uow)
                messages: list[PendingMessage] = []
                for index, queued in enumerate(outgoing):
                    attachment_id = None
                    if queued.file is not None:
                        name, mimetype, data = queued.file
                        attachment_id = await uow.outbox.add_file(
                            filename=name, mimetype=mimetype, data=data, at=self.clock.now()
                        )
                    message = PendingMessage(
                        0,
                        txn_id(event.event_id, index),
                        queued.target or event.room_id,
                        queued.event_type,
                        queued.content,
                        attachment_id,
                    )
                    message_id = await uow.outbox.add(
                        txn_id=message.txn_id,
                        room_id=message.room_id,
                        event_type=message.event_type,
                        content=message.content,
                        at=self.clock.now(),
                        purpose=queued.purpose,
                        attachment_id=attachment_id,
                    )
                    messages.append(replace(message, id=message_id))
                await uow.commit()
                written = uow.written_tables
        except DuplicateEvent:
            return False  # another worker handled it first
        if self.hand_off is not None and messages:
            self.hand_off(messages)  # the sender has them: it need not hear of the outbox rows and read them
            written = written - OUTBOX_TABLES if written is not None else None
        self.commits.committed(written)
        return True


PILL = re.compile(r'<a href="https://matrix\.to/#/(@[^"?]+)"[^>]*>(.*?)</a>', re.DOTALL)


def with_pills_as_ids(message: Message) -> str:
    """The body with each mention pill's display name replaced by the user's Matrix ID.

    Element writes a mention as the person's name in `body` and as a matrix.to link in `formatted_body`;
    commands that take a user want the ID.
    """
    body = message.body
    if not message.formatted_body or "matrix.to" not in message.formatted_body:
        return body
    for user_id, label in PILL.findall(message.formatted_body):
        name = html.unescape(re.sub(r"<[^>]+>", "", label)).strip()
        user_id = urllib.parse.unquote(user_id)
        if name and name != user_id and name in body:
            body = body.replace(name, user_id, 1)
    return body
