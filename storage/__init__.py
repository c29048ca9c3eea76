"""Persistence: SQLAlchemy models, repositories, the unit of work and Alembic migrations.

Imports neither `iscg_bot` nor `commands`.
"""

from storage.db import Database, NotMigratedError
from storage.models import (
    Base,
    BotState,
    OutboxMessage,
    Person,
    ProcessedEvent,
    RoleAssignment,
    RoomMember,
    Subject,
)
from storage.repositories import (
    AlreadyExists,
    BotStateRepository,
    DuplicateEvent,
    Outbox,
    People,
    ProcessedEvents,
    Roles,
    RoomMembers,
    Subjects,
    UnitOfWork,
)
from storage.types import UTCDateTime

__all__ = [
    "AlreadyExists",
    "Base",
    "BotState",
    "BotStateRepository",
    "Database",
    "DuplicateEvent",
    "NotMigratedError",
    "Outbox",
    "OutboxMessage",
    "People",
    "Person",
    "ProcessedEvent",
    "ProcessedEvents",
    "RoleAssignment",
    "Roles",
    "RoomMember",
    "RoomMembers",
    "Subject",
    "Subjects",
    "UTCDateTime",
    "UnitOfWork",
]
