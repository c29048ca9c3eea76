"""The unit of work: one session, one transaction, every repository on it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from types import TracebackType

from sqlalchemy import Delete, Insert, Update, event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, AsyncSessionTransaction, async_sessionmaker
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction

from iscg_bot.storage.db import SQLITE_BUSY_TIMEOUT_MS
from iscg_bot.storage.repositories.actions import Actions
from iscg_bot.storage.repositories.bot import BotStateRepository, Outbox, ProcessedEvents
from iscg_bot.storage.repositories.calendar import CalendarTokens
from iscg_bot.storage.repositories.data_versions import DataVersions
from iscg_bot.storage.repositories.groups import Roles, Subjects
from iscg_bot.storage.repositories.leases import Leases
from iscg_bot.storage.repositories.mail import MailOutbox
from iscg_bot.storage.repositories.meetings import Meetings, Reminders, Rsvps
from iscg_bot.storage.repositories.minutes import Minutes
from iscg_bot.storage.repositories.people import People, RoomMembers
from iscg_bot.storage.repositories.reports import Reports
from iscg_bot.storage.sqlite_writer import WriterTurn

# session.info key: the names of the tables the session wrote, or None once it ran a statement it cannot name
# them for. Tracked for every session: the dispatcher tells the commit's listeners what changed.
WRITTEN = "iscg.written_tables"


@event.listens_for(Session, "before_flush")
def _note_flushed(session: Session, _flush: UOWTransaction, _instances: object) -> None:
    written = session.info.setdefault(WRITTEN, set())
    if written is not None:
        written.update(type(obj).__tablename__ for obj in (*session.new, *session.dirty, *session.deleted))


@event.listens_for(Session, "do_orm_execute")
def _note_executed(state: ORMExecuteState) -> None:
    statement = state.statement
    name = getattr(statement.table, "name", None) if isinstance(statement, Insert | Update | Delete) else None
    if name is not None:
        written = state.session.info.setdefault(WRITTEN, set())
        if written is not None:
            written.add(name)
    elif not state.is_select:
        state.session.info[WRITTEN] = None  # text, a join, other DML: which tables is not known


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
    leases: Leases
    data_versions: DataVersions

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def __aenter__(self) -> UnitOfWork:
        self.session = self._sessions()
        self._turn: WriterTurn | None = None
        engine = self.session.bind
        if isinstance(engine, AsyncEngine) and engine.dialect.name == "sqlite":
            self._turn = WriterTurn(engine.sync_engine, SQLITE_BUSY_TIMEOUT_MS / 1000)
            await self._turn.take()  # one transaction of this process at a time (see sqlite_writer)
        try:
            await self.session.begin()
        except BaseException:
            await self._close()
            raise
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
        self.leases = Leases(self.session)
        self.data_versions = DataVersions(self.session)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._close()

    async def _close(self) -> None:
        try:
            await self.session.close()  # rolls back whatever was not committed
        finally:
            if self._turn is not None:
                self._turn.give_back()

    async def commit(self) -> None:
        """Commit, raising the version of every data table written (for the processes that cache them)."""
        await self.data_versions.raise_for(self.written_tables)
        await self.session.commit()

    @property
    def written_tables(self) -> frozenset[str] | None:
        """The tables this unit of work wrote so far (also in savepoints rolled back), None if not known."""
        written = self.session.info.get(WRITTEN, set())
        return frozenset(written) if written is not None else None

    @asynccontextmanager
    async def savepoint(self) -> AsyncIterator[AsyncSessionTransaction]:
        """Work that may fail on its own: an exception escaping the block undoes only this block's work
        (and is re-raised); the enclosing transaction goes on."""
        async with self.session.begin_nested() as nested:
            yield nested
