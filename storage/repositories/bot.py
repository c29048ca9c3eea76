"""The bot's own bookkeeping: the exactly-once ledger, named state values, the outbox."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, Table, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from iscg_bot.storage.models import BotState, OutboxFile, OutboxMessage, ProcessedEvent
from iscg_bot.storage.repositories._sql import chunked, upsert


class DuplicateEvent(Exception):
    """This event was already recorded: its effect must not happen twice."""


class ProcessedEvents:
    """The exactly-once ledger of handled Matrix events."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def seen(self, event_id: str) -> bool:
        found = await self._session.scalar(select(ProcessedEvent.event_id).filter_by(event_id=event_id))
        return found is not None

    async def seen_among(self, event_ids: Sequence[str]) -> set[str]:
        """Which of `event_ids` were handled already (asked in chunks: a bound parameter each)."""
        found: set[str] = set()
        for chunk in chunked(event_ids):
            query = select(ProcessedEvent.event_id).where(ProcessedEvent.event_id.in_(chunk))
            found.update(await self._session.scalars(query))
        return found

    async def record(self, event_id: str, room_id: str, at: datetime) -> None:
        """Record the event as handled; raise DuplicateEvent if it already was.

        After DuplicateEvent the caller must roll back: on PostgreSQL the failed INSERT has aborted the
        transaction, and the effect that came with the event must not be committed anyway.
        """
        statement = insert(ProcessedEvent).values(event_id=event_id, room_id=room_id, handled_at=at)
        try:
            await self._session.execute(statement)
        except IntegrityError as error:
            raise DuplicateEvent(event_id) from error


class BotStateRepository:
    """Named values the bot keeps between runs (sync token, device ID, access token…) and group-wide
    settings (e.g. which room is the ISCG room)."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, key: str) -> str | None:
        return await self._session.scalar(select(BotState.value).filter_by(key=key))

    async def set(self, key: str, value: str, at: datetime) -> None:
        statement = upsert(self._session, BotState).values(key=key, value=value, updated_at=at)
        statement = statement.on_conflict_do_update(
            index_elements=[BotState.key], set_={"value": value, "updated_at": at}
        )
        await self._session.execute(statement)


class Outbox:
    """Messages to send. Written in the command's transaction, sent by the outbox sender after commit."""

    _pending = (OutboxMessage.sent_at.is_(None), OutboxMessage.failed_at.is_(None))

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(
        self,
        *,
        txn_id: str,
        room_id: str,
        event_type: str,
        content: dict[str, Any],
        at: datetime,
        purpose: str | None = None,
        attachment_id: int | None = None,
    ) -> int:
        """Queue a message; `purpose` (e.g. "announcement:M12") lets it be found again once sent;
        `attachment_id` (see `add_file`) is a file uploaded before the message goes."""
        message = OutboxMessage(
            txn_id=txn_id,
            room_id=room_id,
            event_type=event_type,
            content=content,
            created_at=at,
            purpose=purpose,
            attachment_id=attachment_id,
        )
        self._session.add(message)
        await self._session.flush()
        return message.id

    async def add_file(self, *, filename: str, mimetype: str, data: bytes, at: datetime) -> int:
        row = OutboxFile(filename=filename, mimetype=mimetype, data=data, created_at=at)
        self._session.add(row)
        await self._session.flush()
        return row.id

    async def file(self, file_id: int) -> OutboxFile | None:
        return await self._session.get(OutboxFile, file_id)

    async def mark_uploaded(self, file_id: int, fields: dict[str, Any]) -> None:
        await self._session.execute(update(OutboxFile).filter_by(id=file_id).values(uploaded=fields))

    async def by_remote_event(self, event_id: str) -> OutboxMessage | None:
        """The message we sent that became `event_id` on the homeserver; None if it is not ours (or
        not known to be sent yet)."""
        query = select(OutboxMessage).filter_by(remote_event_id=event_id).order_by(OutboxMessage.id).limit(1)
        return await self._session.scalar(query)

    async def pending(self, limit: int = 100) -> list[OutboxMessage]:
        """Messages neither sent nor given up on, oldest first."""
        query = select(OutboxMessage).where(*self._pending).order_by(OutboxMessage.id).limit(limit)
        return list(await self._session.scalars(query))

    async def count_pending(self) -> int:
        query = select(func.count()).select_from(OutboxMessage).where(*self._pending)
        return await self._session.scalar(query) or 0

    async def mark_sent(self, message_id: int, remote_event_id: str, at: datetime) -> None:
        await self._update(message_id, sent_at=at, remote_event_id=remote_event_id)

    async def mark_failed(self, message_id: int, reason: str, at: datetime) -> None:
        """Give up on a message (e.g. the room is gone); it is no longer pending."""
        await self._update(message_id, failed_at=at, failure=reason)

    async def note_attempt(self, message_id: int) -> None:
        await self._update(message_id, attempts=OutboxMessage.attempts + 1)

    async def _update(self, message_id: int, **values: object) -> None:
        # An UPDATE's result is a CursorResult (it has rowcount); AsyncSession.execute is typed for SELECTs.
        # On the table, not the mapped class: the ORM's bulk-update path cost a third of a millisecond more
        # for each message sent, and no loaded object needs refreshing here.
        table = cast(Table, OutboxMessage.__table__)
        result = cast(
            CursorResult[Any],
            await self._session.execute(update(table).where(table.c.id == message_id).values(**values)),
        )
        if result.rowcount != 1:
            raise LookupError(f"no outbox message with id {message_id}")
