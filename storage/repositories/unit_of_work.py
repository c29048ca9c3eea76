"""The unit of work: one session, one transaction, every repository on it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from types import TracebackType

from sqlalchemy.ext.asyncio import AsyncSession, AsyncSessionTransaction, async_sessionmaker

from iscg_bot.storage.repositories.actions import Actions
from iscg_bot.storage.repositories.bot import BotStateRepository, Outbox, ProcessedEvents
from iscg_bot.storage.repositories.calendar import CalendarTokens
from iscg_bot.storage.repositories.groups import Roles, Subjects
from iscg_bot.storage.repositories.mail import MailOutbox
from iscg_bot.storage.repositories.meetings import Meetings, Reminders, Rsvps
from iscg_bot.storage.repositories.minutes import Minutes
from iscg_bot.storage.repositories.people import People, RoomMembers
from iscg_bot.storage.repositories.reports import Reports


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
    members: RoomMembers
    subjects: Subjects
    roles: Roles
    meetings: Meetings
    rsvps: Rsvps
    reminders: Reminders
    calendar_tokens: CalendarTokens
    mail: MailOutbox
    minutes: Minutes
    actions: Actions
    reports: Reports

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def __aenter__(self) -> UnitOfWork:
        self.session = self._sessions()
        await self.session.begin()
        self.events = ProcessedEvents(self.session)
        self.state = BotStateRepository(self.session)
        self.outbox = Outbox(self.session)
        self.people = People(self.session)
        self.members = RoomMembers(self.session)
        self.subjects = Subjects(self.session)
        self.roles = Roles(self.session)
        self.meetings = Meetings(self.session)
        self.rsvps = Rsvps(self.session)
        self.reminders = Reminders(self.session)
        self.calendar_tokens = CalendarTokens(self.session)
        self.mail = MailOutbox(self.session)
        self.minutes = Minutes(self.session)
        self.actions = Actions(self.session)
        self.reports = Reports(self.session)
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
