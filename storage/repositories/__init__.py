"""Repositories and the unit of work.

A repository gets an AsyncSession and only flushes; the caller owns the transaction, usually through
`UnitOfWork`:

    async with UnitOfWork(db.sessions) as uow:
        if not await uow.events.seen(event.event_id):
            ...  # the command's effect, and its reply through uow.outbox
            await uow.events.record(event.event_id, event.room_id, clock.now())
            await uow.commit()

`bot` holds the bot's own bookkeeping (event ledger, state, outbox), `people` who people are (preferences,
room membership), `groups` how the ISCG is organised (subjects, roles), `meetings` the meetings (agenda,
moved or cancelled occurrences, answers, reminders sent), `calendar` personal calendar feed tokens,
`mail` the iMIP mail outbox, `minutes` meeting sessions and their logged lines, `actions` the action items,
`reports` the read-only queries of the reports to the advisory groups.
"""

from iscg_bot.storage.repositories.actions import Actions
from iscg_bot.storage.repositories.bot import BotStateRepository, DuplicateEvent, Outbox, ProcessedEvents
from iscg_bot.storage.repositories.calendar import CalendarTokens
from iscg_bot.storage.repositories.groups import AlreadyExists, Roles, Subjects
from iscg_bot.storage.repositories.mail import MailOutbox
from iscg_bot.storage.repositories.meetings import Meetings, Reminders, Rsvps
from iscg_bot.storage.repositories.minutes import Minutes
from iscg_bot.storage.repositories.people import People, RoomMembers
from iscg_bot.storage.repositories.reports import Reports
from iscg_bot.storage.repositories.unit_of_work import UnitOfWork

__all__ = [
    "Actions",
    "AlreadyExists",
    "BotStateRepository",
    "CalendarTokens",
    "DuplicateEvent",
    "MailOutbox",
    "Meetings",
    "Minutes",
    "Outbox",
    "People",
    "ProcessedEvents",
    "Reminders",
    "Reports",
    "Roles",
    "RoomMembers",
    "Rsvps",
    "Subjects",
    "UnitOfWork",
]
