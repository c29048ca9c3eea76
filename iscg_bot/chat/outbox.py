"""The transactional outbox: replies are written in the command's transaction and sent after it commits.

A crash between commit and send loses nothing (pending rows are sent on restart); a crash between send and
marking it sent doubles nothing (the retry reuses the deterministic transaction ID, which the homeserver
deduplicates for our device).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from iscg_bot.chat.events import Outgoing, PermanentSendError, RoomEvent
from iscg_bot.core.clock import Clock
from iscg_bot.core.commits import CommitListeners
from iscg_bot.core.formatting import Rich
from iscg_bot.core.workers import Backoff, LoopWorker, Stopping, first_set
from iscg_bot.storage import UnitOfWork

log = logging.getLogger(__name__)


DIRECT_PREFIX = "dm:"


class Sender(Protocol):
    """What the outbox sends through: the Matrix gateway (`iscg_bot.matrix.gateway.MatrixGateway`)."""

    ready: asyncio.Event  # set once the gateway knows its rooms

    async def send(self, outgoing: Outgoing) -> str: ...

    async def direct_message(self, user_id: str, content: dict[str, Any], *, txn_id: str) -> str: ...

    async def upload(self, room_id: str, data: bytes, *, mimetype: str, filename: str) -> dict[str, Any]: ...


def direct_target(user_id: str) -> str:
    """The outbox `room_id` of a private message to `user_id`: the sender finds (or makes) the direct room."""
    return DIRECT_PREFIX + user_id


def txn_id(cause: str, index: int) -> str:
    """A transaction ID derived from what caused the event, so every retry of it is recognisably the same."""
    digest = hashlib.sha256(cause.encode("utf-8")).hexdigest()[:32]
    return f"iscg.{digest}.{index}"


def notice_content(message: Rich, *, reply_to: RoomEvent | None = None) -> dict[str, Any]:
    """An `m.notice` with plain and HTML bodies; a reply mentions the person replied to, the Matrix way."""
    mentions = list(message.mentions)
    content: dict[str, Any] = {
        "msgtype": "m.notice",
        "body": message.plain,
        "format": "org.matrix.custom.html",
        "formatted_body": directed(message.html),
    }
    if reply_to is not None:
        content["m.relates_to"] = {"m.in_reply_to": {"event_id": reply_to.event_id}}
        if reply_to.sender not in mentions:
            mentions.insert(0, reply_to.sender)
    content["m.mentions"] = {"user_ids": mentions} if mentions else {}
    return content


def directed(html: str) -> str:
    """The HTML in a block whose direction follows its own first strong letter: an Arabic reply reads right
    to left, an English one left to right, in any client and whatever the client's own language."""
    return f'<div dir="auto">{html}</div>'


def file_content(filename: str, mimetype: str, size: int) -> dict[str, Any]:
    """An `m.file` message; its `url` is filled in by the sender once the file is uploaded."""
    return {
        "msgtype": "m.file",
        "body": filename,
        "filename": filename,
        "info": {"mimetype": mimetype, "size": size},
    }


def reaction_content(event_id: str, key: str) -> dict[str, Any]:
    return {"m.relates_to": {"rel_type": "m.annotation", "event_id": event_id, "key": key}}


@dataclass(frozen=True)
class PendingMessage:
    """An outbox row just committed, as the dispatcher hands it to the sender (see `OutboxSender.take`)."""

    id: int
    txn_id: str
    room_id: str
    event_type: str
    content: dict[str, Any]
    attachment_id: int | None = None


class OutboxSender(LoopWorker):
    """Sends pending outbox rows: rooms in parallel, each room's events in the order they were written.

    Woken after every committed change (`commits`) and by the reminders when they queue."""

    name = "outbox"

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        gateway: Sender,
        clock: Clock,
        stopping: asyncio.Event | None = None,
        *,
        commits: CommitListeners | None = None,
        may_send: Callable[[], bool] = lambda: True,
    ) -> None:
        super().__init__(clock, stopping)
        self.sessions = sessions
        self.gateway = gateway
        # Asked before every send: false once this process may no longer act (another took the lead over).
        self.may_send = may_send
        self._in_flight: set[int] = set()
        self._room_tasks: dict[str, asyncio.Task[None]] = {}
        # Rooms whose new rows were found while their sender was busy: it wakes the loop when it finishes.
        # (Waking after every room's send cost a second read of the outbox per reply, nearly always empty.)
        self._rows_waiting: set[str] = set()
        if commits is not None:
            commits.on_commit(self.wake, tables={"outbox"})

    async def loop(self) -> None:
        # Send once the bot is logged in, its keys published and its first sync handled (a room's state
        # is learnt at its first send, see matrix/rooms.py).
        await first_set(self.gateway.ready, self.stopping)
        backoff = Backoff()
        while not self.stopping.is_set():
            self.woken.clear()
            try:
                await self._start_pending()
            except Exception as error:  # the database may be away: the rows wait, nothing is lost
                log.exception("the outbox could not be read")
                self.failed(error)
                await self.pause(backoff.next_delay(), wakeable=False)
                continue
            backoff.reset()
            self.succeeded()
            await self.pause(30)  # until a commit, a reminder or a room's sender wakes it
        for task in self._room_tasks.values():
            task.cancel()
        await asyncio.gather(*self._room_tasks.values(), return_exceptions=True)

    def take(self, messages: Sequence[PendingMessage]) -> None:
        """Rows the dispatcher has just committed: start sending them without reading them back (that read
        was a transaction per reply). Before the first sync or once stopping, the loop finds them instead."""
        if self.gateway.ready.is_set() and not self.stopping.is_set():
            self._start(messages)

    async def _start_pending(self) -> None:
        async with UnitOfWork(self.sessions) as uow:
            rows = await uow.outbox.pending(limit=1000)
        self._start(rows)

    def _start(self, rows: Sequence[Any]) -> None:
        """Send `rows` (outbox rows or `PendingMessage`s, oldest first): a task per room, unless that room's
        task is still sending; rows already being sent are skipped."""
        by_room: dict[str, list[Any]] = defaultdict(list)
        for row in rows:
            if row.id not in self._in_flight:
                by_room[row.room_id].append(row)
        for room_id, room_rows in by_room.items():
            running = self._room_tasks.get(room_id)
            if running is not None and not running.done():
                self._rows_waiting.add(room_id)  # its sender wakes the loop when it finishes
                continue
            self._in_flight.update(r.id for r in room_rows)
            task = asyncio.create_task(self._send_room(room_rows))
            self._room_tasks[room_id] = task
        for room_id in [r for r, t in self._room_tasks.items() if t.done()]:
            del self._room_tasks[room_id]

    async def _send_room(self, rows: list[Any]) -> None:
        room_id, finished = rows[0].room_id, False
        try:
            for row in rows:
                if not self.may_send():  # the rows stay in the outbox for the process that is
                    log.warning("not sending %s: this process is no longer the active bot", row.txn_id)
                    raise Stopping
                content = dict(row.content)
                try:
                    if row.attachment_id is not None:
                        content |= await self._uploaded(row.attachment_id, row.room_id)
                    outgoing = Outgoing(row.room_id, row.event_type, content, row.txn_id)
                    if row.room_id.startswith(DIRECT_PREFIX):
                        user_id = row.room_id.removeprefix(DIRECT_PREFIX)
                        event_id = await self.gateway.direct_message(user_id, content, txn_id=row.txn_id)
                    else:
                        event_id = await self.gateway.send(outgoing)
                except PermanentSendError as error:
                    log.error("giving up on %s to %s: %s", row.txn_id, row.room_id, error)
                    await self._mark(row.id, failure=str(error))
                    continue
                await self._mark(row.id, event_id=event_id)
            finished = True
        except Stopping:
            pass
        finally:
            self._in_flight.difference_update(r.id for r in rows)
            # Read the outbox again only when this room has more rows, or some of these are still unsent.
            if (room_id in self._rows_waiting or not finished) and self.may_send():
                self._rows_waiting.discard(room_id)
                self.wake()

    async def _uploaded(self, file_id: int, room_id: str) -> dict[str, Any]:
        """The message fields naming the uploaded file, uploading it the first time (a retry after a crash
        finds it uploaded)."""
        async with UnitOfWork(self.sessions) as uow:
            stored = await uow.outbox.file(file_id)
            if stored is None:
                raise PermanentSendError(f"the file {file_id} to send is gone")
            if stored.uploaded:
                return dict(stored.uploaded)
            filename, mimetype, data = stored.filename, stored.mimetype, stored.data
        fields = await self.gateway.upload(room_id, data, mimetype=mimetype, filename=filename)
        async with UnitOfWork(self.sessions) as uow:
            await uow.outbox.mark_uploaded(file_id, fields)
            await uow.commit()
        return fields

    async def _mark(self, row_id: int, *, event_id: str | None = None, failure: str | None = None) -> None:
        async with UnitOfWork(self.sessions) as uow:
            if failure is not None:
                await uow.outbox.mark_failed(row_id, failure, self.clock.now())
            else:
                assert event_id is not None  # not failed: sent, with the event ID the homeserver gave it
                await uow.outbox.mark_sent(row_id, event_id, self.clock.now())
            await uow.commit()
