"""Persistence: SQLAlchemy models, repositories, the unit of work and Alembic migrations.

Imports neither `iscg_bot` nor `commands`.
"""

from storage.db import Database, NotMigratedError
from storage.models import (
    AgendaItem,
    Base,
    BotState,
    CalendarToken,
    Meeting,
    MeetingOverride,
    OutboxMessage,
    Person,
    ProcessedEvent,
    ReminderSent,
    RoleAssignment,
    RoomMember,
    Rsvp,
    Subject,
)
from storage.repositories import (
    AlreadyExists,
    BotStateRepository,
    CalendarTokens,
    DuplicateEvent,
    Meetings,
    Outbox,
    People,
    ProcessedEvents,
    Reminders,
    Roles,
    RoomMembers,
    Rsvps,
    Subjects,
    UnitOfWork,
)
from storage.types import LocalDateTime, UTCDateTime

__all__ = [
    "AgendaItem",
    "AlreadyExists",
    "Base",
    "BotState",
    "BotStateRepository",
    "CalendarToken",
    "CalendarTokens",
    "Database",
    "DuplicateEvent",
    "LocalDateTime",
    "Meeting",
    "MeetingOverride",
    "Meetings",
    "NotMigratedError",
    "Outbox",
    "OutboxMessage",
    "People",
    "Person",
    "ProcessedEvent",
    "ProcessedEvents",
    "ReminderSent",
    "Reminders",
    "RoleAssignment",
    "Roles",
    "RoomMember",
    "RoomMembers",
    "Rsvp",
    "Rsvps",
    "Subject",
    "Subjects",
    "UTCDateTime",
    "UnitOfWork",
]
