"""Repositories and the unit of work.

A repository gets an AsyncSession and only flushes; the caller owns the transaction, usually through
`UnitOfWork`:

    async with UnitOfWork(db.sessions) as uow:
        if not await uow.events.seen(event.event_id):
            ...  # the command's effect, and its reply through uow.outbox
            await uow.events.record(event.event_id, event.room_id, clock.now())
            await uow.commit()
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from types import TracebackType
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, AsyncSessionTransaction, async_sessionmaker

from storage.models import Base, BotState, OutboxMessage, Person, ProcessedEvent


class DuplicateEvent(Exception):
    """This event was already recorded: its effect must not happen twice."""


def _upsert(session: AsyncSession, model: type[Base]) -> Any:
    """INSERT … ON CONFLICT for the session's backend: atomic, so two writers can't both insert."""
    dialect = session.get_bind().dialect.name
    return {"postgresql": postgresql.insert, "sqlite": sqlite.insert}[dialect](model)


class ProcessedEvents:
    """The exactly-once ledger of handled Matrix events."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def seen(self, event_id: str) -> bool:
        found = await self._session.scalar(select(ProcessedEvent.event_id).filter_by(event_id=event_id))
        return found is not None

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
    """Named values the bot keeps between runs (sync token, device ID, access token…)."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, key: str) -> str | None:
        return await self._session.scalar(select(BotState.value).filter_by(key=key))

    async def set(self, key: str, value: str, at: datetime) -> None:
        statement = _upsert(self._session, BotState).values(key=key, value=value, updated_at=at)
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
        self, *, txn_id: str, room_id: str, event_type: str, content: dict[str, Any], at: datetime
    ) -> int:
        message = OutboxMessage(
            txn_id=txn_id, room_id=room_id, event_type=event_type, content=content, created_at=at
        )
        self._session.add(message)
        await self._session.flush()
        return message.id

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

    async def _update(self, message_id: int, **values: Any) -> None:
        result = await self._session.execute(
            update(OutboxMessage).where(OutboxMessage.id == message_id).values(**values)
        )
        if result.rowcount != 1:
            raise LookupError(f"no outbox message with id {message_id}")


class People:
    """People the bot knows and their preferences; someone unknown is created on first write."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, matrix_id: str) -> Person | None:
        return await self._session.get(Person, matrix_id)

    async def set_timezone(self, matrix_id: str, timezone: str | None, at: datetime) -> Person:
        return await self._set(matrix_id, at, timezone=timezone)

    async def set_display_name(self, matrix_id: str, name: str | None, at: datetime) -> Person:
        return await self._set(matrix_id, at, display_name=name)

    async def _set(self, matrix_id: str, at: datetime, **changes: Any) -> Person:
        statement = _upsert(self._session, Person).values(
            matrix_id=matrix_id, created_at=at, updated_at=at, **changes
        )
        statement = statement.on_conflict_do_update(
            index_elements=[Person.matrix_id], set_={**changes, "updated_at": at}
        ).returning(Person)
        # populate_existing: refresh a Person this session already holds with the row as written.
        result = await self._session.scalars(statement, execution_options={"populate_existing": True})
        return result.one()


class UnitOfWork:
    """One session, one transaction: commit explicitly, anything else rolls back.

    async with UnitOfWork(db.sessions) as uow:
        await uow.people.set_timezone(sender, "Europe/Zurich", now)
        await uow.commit()
    """

    session: AsyncSession
    events: ProcessedEvents
    state: BotStateRepository
    outbox: Outbox
    people: People

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def __aenter__(self) -> UnitOfWork:
        self.session = self._sessions()
        await self.session.begin()
        self.events = ProcessedEvents(self.session)
        self.state = BotStateRepository(self.session)
        self.outbox = Outbox(self.session)
        self.people = People(self.session)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.session.close()  # rolls back whatever was not committed

    async def commit(self) -> None:
        await self.session.commit()

    @asynccontextmanager
    async def savepoint(self) -> AsyncIterator[AsyncSessionTransaction]:
        """Work that may fail on its own: an exception escaping the block undoes only this block's work
        (and is re-raised); the enclosing transaction goes on."""
        async with self.session.begin_nested() as nested:
            yield nested
