"""Persistence: SQLAlchemy models, repositories, the unit of work and Alembic migrations.

Imports neither `iscg_bot` nor `commands`.
"""

from storage.db import Database, NotMigratedError
from storage.models import Base, BotState, OutboxMessage, Person, ProcessedEvent
from storage.repositories import (
    BotStateRepository,
    DuplicateEvent,
    Outbox,
    People,
    ProcessedEvents,
    UnitOfWork,
)
from storage.types import UTCDateTime

__all__ = [
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
    "UTCDateTime",
    "UnitOfWork",
]
